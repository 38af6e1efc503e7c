// Fused expression recording (TapeOptions::fuse_expressions): one statement per assignment, gradients
// equal to per-operator recording and to closed forms, and the same errors and modes as before.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "support/finite_diff.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

tg::TapeOptions fused() { return tg::TapeOptions{.fuse_expressions = true}; }

}  // namespace

TEST_CASE("a fused assignment is one statement with the closed-form gradient") {
  const double a = 0.7, b = -1.3, c = 0.4, d = 1.6, s0 = 0.25;
  tg::ScopedTape scope(fused());
  std::vector<tg::Var> x = tg::leaves(std::vector<double>{a, b, c, d, s0});
  const std::size_t before = scope.tape().size();
  tg::Var s = x[4];
  s += (x[0] * x[1] + x[2]) / x[3];
  CHECK(scope.tape().size() == before + 1);  // per operator it would be 4 statements
  const std::uint32_t i = s.slot();
  CHECK(scope.tape().op(i) == tg::Op::Expr);
  CHECK(scope.tape().arg_end(i) - scope.tape().arg_begin(i) == 5);
  CHECK(s.value() == doctest::Approx(s0 + (a * b + c) / d).epsilon(1e-15));
  s.backward();
  const std::vector<double> g = tg::grads(x);
  CHECK(g[0] == doctest::Approx(b / d).epsilon(1e-15));
  CHECK(g[1] == doctest::Approx(a / d).epsilon(1e-15));
  CHECK(g[2] == doctest::Approx(1.0 / d).epsilon(1e-15));
  CHECK(g[3] == doctest::Approx(-(a * b + c) / (d * d)).epsilon(1e-15));
  CHECK(g[4] == doctest::Approx(1.0).epsilon(1e-15));
}

TEST_CASE("fused and per-operator recording give the same gradients") {
  // A loss with every fused operator: + - * / with Vars and numbers, unary minus, exp, log, tanh, sqrt,
  // sin, cos, sigmoid, square, pow with a constant exponent, reused leaves (x * x) and a chain of
  // compound assignments.
  auto f = [](const std::vector<tg::Var>& x) {
    tg::Var s = tg::tanh(0.5 * x[0] - x[1] / 3.0 + 0.1) * x[2];
    s += tg::sqrt(1.5 + x[0] * x[3]) * tg::sin(x[1] - x[2]) + tg::cos(2.0 * x[3]) / tg::sigmoid(x[0] + x[1]);
    s -= tg::square(x[2] - x[3]) * tg::pow(2.0 + x[1] * x[0], 1.5) + tg::pow(x[3] + 1.0, -2.0);
    s += tg::exp(-x[0] * x[0]) - tg::log(2.0 + x[1] * x[1]) / (1.0 + x[2] * x[2]);
    s -= 2.0 / (3.0 + x[3]) - (x[0] - 1.0) * (x[3] + x[1]);
    s *= 1.0 + 0.1 * x[3];
    s /= 2.0 - tg::tanh(x[2]);
    for (int k = 0; k < 5; ++k) s += -x[k % 4] * s / (4.0 + s * s);
    return s;
  };
  const std::vector<double> in{0.3, -0.8, 1.1, 0.45};
  std::vector<double> g_ops, g_fused;
  double v_ops = 0.0, v_fused = 0.0;
  std::size_t n_ops = 0, n_fused = 0;
  for (bool fuse : {false, true}) {
    tg::ScopedTape scope(tg::TapeOptions{.fuse_expressions = fuse});
    const std::vector<tg::Var> x = tg::leaves(in);
    const tg::Var y = f(x);
    y.backward();
    (fuse ? g_fused : g_ops) = tg::grads(x);
    (fuse ? v_fused : v_ops) = y.value();
    (fuse ? n_fused : n_ops) = scope.tape().size();
  }
  CHECK(v_fused == v_ops);  // values are computed by the same operations either way
  CHECK(n_fused < n_ops / 3);
  const std::vector<double> numeric = tgtest::central_diff(
      [&](const std::vector<double>& p) {
        tg::NoGradGuard off;
        std::vector<tg::Var> x;
        for (double v : p) x.push_back(tg::Var::constant(v));
        return f(x).value();
      },
      in);
  for (std::size_t i = 0; i < in.size(); ++i) {
    INFO("input " << i);
    CHECK(g_fused[i] == doctest::Approx(g_ops[i]).epsilon(1e-13));
    CHECK(g_fused[i] == doctest::Approx(numeric[i]).epsilon(1e-7));
  }
}

TEST_CASE("fused expressions: constants, single operators, NoGradGuard and wide expressions") {
  tg::ScopedTape scope(fused());
  tg::Var x(2.0);
  SUBCASE("constant leaves are left out of the statement") {
    const tg::Var k = tg::Var::constant(3.0);
    const tg::Var y = x * k + k * k;
    CHECK(y.value() == 15.0);
    CHECK(scope.tape().arg_end(y.slot()) - scope.tape().arg_begin(y.slot()) == 1);
    y.backward();
    CHECK(x.grad() == 3.0);
    const tg::Var z = k * k + 1.0;  // nothing recorded: a constant
    CHECK_FALSE(z.requires_grad());
    CHECK(z.value() == 10.0);
  }
  SUBCASE("one operator on Vars keeps its name") {
    const tg::Var y = x * x;
    CHECK(scope.tape().op(y.slot()) == tg::Op::Mul);
    const tg::Var z = tg::exp(x);
    CHECK(scope.tape().op(z.slot()) == tg::Op::Exp);
  }
  SUBCASE("NoGradGuard gives constants") {
    tg::NoGradGuard off;
    const tg::Var y = x * x + 1.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value() == 5.0);
  }
  SUBCASE("an expression of 40 leaves is split into statements of at most 16 arguments") {
    std::vector<tg::Var> xs = tg::leaves(std::vector<double>(40, 0.5));
    const tg::Var y = (((xs[0] * xs[1] + xs[2] * xs[3] + xs[4] * xs[5] + xs[6] * xs[7]) +
                        (xs[8] * xs[9] + xs[10] * xs[11] + xs[12] * xs[13] + xs[14] * xs[15])) +
                       ((xs[16] * xs[17] + xs[18] * xs[19] + xs[20] * xs[21] + xs[22] * xs[23]) +
                        (xs[24] * xs[25] + xs[26] * xs[27] + xs[28] * xs[29] + xs[30] * xs[31]))) *
                      (xs[32] + xs[33] + xs[34] + xs[35] + xs[36] + xs[37] + xs[38] + xs[39]);
    CHECK(y.value() == doctest::Approx(16 * 0.25 * 8 * 0.5));
    for (std::uint32_t i = xs.back().slot() + 1; i <= y.slot(); ++i) {
      CHECK(scope.tape().arg_end(i) - scope.tape().arg_begin(i) <= 16);
    }
    y.backward();
    const std::vector<double> g = tg::grads(xs);
    for (std::size_t i = 0; i < 32; ++i) CHECK(g[i] == doctest::Approx(0.5 * 4.0));  // partner · (Σ of 8)
    for (std::size_t i = 32; i < 40; ++i) CHECK(g[i] == doctest::Approx(16 * 0.25));
  }
}

TEST_CASE("a fused expression holds values, so it can be kept and returned before it becomes a Var") {
  tg::ScopedTape scope({.fuse_expressions = true});  // as the README writes it
  tg::Var a(1.5);
  tg::Var b(-0.5);
  auto make = [](const tg::Var& p, const tg::Var& q) {
    const tg::Var t = p * q;  // a local that is gone when the expression is used
    return (t + 1.0) * tg::tanh(q - t);
  };
  auto kept = a * b + b;  // kept with auto, used after the statement that built it
  const tg::Var y = make(a, b) + kept;
  const double t = 1.5 * -0.5;
  CHECK(y.value() == doctest::Approx((t + 1.0) * std::tanh(-0.5 - t) + t - 0.5).epsilon(1e-15));
  y.backward();
  const double th = std::tanh(-0.5 - t);
  const double dth = 1.0 - th * th;
  // y = (ab + 1) tanh(b - ab) + ab + b
  CHECK(a.grad() == doctest::Approx(b.value() * th + (t + 1.0) * dth * -b.value() + b.value()).epsilon(1e-14));
  CHECK(b.grad() == doctest::Approx(a.value() * th + (t + 1.0) * dth * (1.0 - a.value()) + a.value() + 1.0)
                        .epsilon(1e-14));
}

TEST_CASE("fused recording keeps the errors and modes of per-operator recording") {
  SUBCASE("an operand of another tape is refused at the operator, naming it") {
    tg::ScopedTape outer(fused());
    tg::Var x(1.0);
    x.label("x");
    tg::ScopedTape inner(fused());
    tg::Var y(2.0);
    CHECK_THROWS_WITH_AS(tg::Var(y * 2.0 + x * y), doctest::Contains("mul: an operand ('x') was recorded on another tape"),
                         tg::TapeError);
  }
  SUBCASE("an expression built on another tape is refused where it is used, naming the expression") {
    tg::ScopedTape outer(fused());
    tg::Var a(1.0);
    tg::Var b(2.0);
    auto e = a * b + 1.0;
    tg::ScopedTape inner(fused());
    tg::Var c(3.0);
    CHECK_THROWS_WITH_AS(tg::Var(e * c), doctest::Contains("mul: an operand is an expression built on another tape"),
                         tg::TapeError);
    CHECK_THROWS_WITH_AS(tg::Var(2.0 * e), doctest::Contains("an expression built on another tape"), tg::TapeError);
  }
  SUBCASE("a reset tape's Var is refused") {
    tg::ScopedTape scope(fused());
    tg::Var x(1.0);
    scope.tape().reset();
    tg::Var y(1.0);
    CHECK_THROWS_WITH_AS(tg::Var(y + x * y), doctest::Contains("reset or destroyed"), tg::TapeError);
  }
  SUBCASE("keep_values and anomaly mode record every operator") {
    tg::ScopedTape scope(tg::TapeOptions{.keep_values = true, .fuse_expressions = true});
    CHECK_FALSE(scope.tape().fuses());
    tg::Var x(1.0);
    const std::size_t before = scope.tape().size();
    const tg::Var y = x * x + x;
    CHECK(y.value() == 2.0);
    CHECK(scope.tape().size() == before + 2);
    scope.tape().set_keep_values(false);
    CHECK(scope.tape().fuses());
    tg::Var z(0.0);
    tg::AnomalyGuard on;
    CHECK_THROWS_WITH_AS(tg::Var(tg::log(z) * x + 1.0), doctest::Contains("the forward of 'log' produced -inf"), tg::AnomalyError);
  }
  SUBCASE("the option can be turned on for the thread's default tape") {
    tg::Tape& t = tg::Tape::active();
    t.reset();
    t.set_fuse_expressions(true);
    tg::Var x(3.0);
    const tg::Var y = x * x * x + 2.0 * x;
    CHECK(t.op(y.slot()) == tg::Op::Expr);
    y.backward();
    CHECK(x.grad() == doctest::Approx(29.0));
    t.set_fuse_expressions(false);
    t.reset();
  }
}

TEST_CASE("fused statements print as expr in explanations") {
  tg::ScopedTape scope(fused());
  tg::Var w(0.5);
  w.label("w");
  tg::Var x(2.0);
  x.label("x");
  const tg::Var y = (w * x + 1.0).label("y");
  const std::string text = tg::explain(y, w).str();
  INFO(text);
  CHECK(text.find("expr") != std::string::npos);
}

TEST_CASE("Var expressions work wherever a Var is expected") {
  // On both kinds of tape: what user code does with the result of Var arithmetic.
  for (bool fuse : {false, true}) {
    INFO(std::string(fuse ? "fusing tape" : "default tape"));
    tg::ScopedTape scope(tg::TapeOptions{.fuse_expressions = fuse});
    tg::Var a(2.0);
    tg::Var b(3.0);
    std::vector<tg::Var> v;
    v.push_back(a * b);                                  // 6
    v.emplace_back(a + b);                               // 5
    const std::vector<tg::Var> w = {a - b, a / b, b};    // -1, 2/3, 3
    const tg::Var s = std::accumulate(v.begin(), v.end(), tg::Var::constant(0.0));  // 11
    const bool pick = a < b * 0.5;                       // comparisons read values, record nothing
    const tg::Var c = pick ? tg::Var(a * a) : b * b;     // 9
    const std::function<tg::Var(const tg::Var&)> sq = [](const tg::Var& x) { return x * x + 1.0; };
    const tg::Var d = sq(a) + tg::relu(a - b) + tg::max(a * b, b);  // 5 + 0 + 6
    std::ostringstream printed;
    printed << a * b;
    CHECK(printed.str() == "Var(6)");
    CHECK((a * b).value() == 6.0);
    CHECK_FALSE(pick);
    const tg::Var y = s + w[0] * w[1] + c + d;           // 11 - 2/3 + 9 + 11
    CHECK(y.value() == doctest::Approx(31.0 - 2.0 / 3.0).epsilon(1e-15));
    // y = (ab + a + b) + (a - b) a / b + b² + (a² + 1 + ab), by hand:
    const std::vector<double> g = tg::grad(y, {a, b});
    const double av = 2.0, bv = 3.0;
    CHECK(g[0] == doctest::Approx((bv + 1.0) + (2.0 * av - bv) / bv + 2.0 * av + bv).epsilon(1e-14));
    CHECK(g[1] == doctest::Approx((av + 1.0) - av * av / (bv * bv) + 2.0 * bv + av).epsilon(1e-14));
  }
}
