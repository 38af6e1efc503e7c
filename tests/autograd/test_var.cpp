// Var: every scalar op's value and derivative against closed forms and float64 central differences.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <span>
#include <vector>

#include "support/finite_diff.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

using UnaryVar = std::function<tg::Var(const tg::Var&)>;
using UnaryDbl = std::function<double(double)>;

// Checks f's value against the plain-double version and its derivative against both the closed form
// and central differences of the plain-double version, at x.
void check_unary(const UnaryVar& f, const UnaryDbl& fd, const UnaryDbl& dfd, double x) {
  tg::ScopedTape scope;
  tg::Var v(x);
  tg::Var y = f(v);
  CHECK(y.value() == doctest::Approx(fd(x)).epsilon(1e-14));
  y.backward();
  const double numeric = tgtest::central_diff([&](const std::vector<double>& p) { return fd(p[0]); }, {x})[0];
  CHECK(v.grad() == doctest::Approx(dfd(x)).epsilon(1e-12));
  CHECK(v.grad() == doctest::Approx(numeric).epsilon(1e-6));
}

double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

TEST_CASE("Var arithmetic gives values and gradients of closed forms") {
  tg::ScopedTape scope;
  tg::Var a(3.0);
  tg::Var b(-2.0);
  SUBCASE("var op var") {
    tg::Var y = (a + b) * (a - b) / (a * b);
    // y = (a²-b²)/(ab) = a/b - b/a
    y.backward();
    CHECK(y.value() == doctest::Approx(3.0 / -2.0 - -2.0 / 3.0));
    CHECK(a.grad() == doctest::Approx(1.0 / b.value() + b.value() / (a.value() * a.value())));
    CHECK(b.grad() == doctest::Approx(-a.value() / (b.value() * b.value()) - 1.0 / a.value()));
  }
  SUBCASE("var op double and double op var") {
    tg::Var y = 2.0 * a + a * 4.0 - 1.0 / a + a / 5.0 - (7.0 - a) + (a - 1.0) + (1.0 + a);
    y.backward();
    CHECK(a.grad() == doctest::Approx(2.0 + 4.0 + 1.0 / 9.0 + 0.2 + 1.0 + 1.0 + 1.0));
  }
  SUBCASE("unary minus and compound assignment") {
    tg::Var y = -a;
    y += b;
    y -= 2.0;
    y *= a;
    y /= b;
    y += 1.0;
    y -= a;
    y *= 3.0;
    y /= 2.0;
    // y = 1.5 * ((((-a + b - 2) * a) / b) + 1 - a)
    y.backward();
    const double av = 3.0;
    const double bv = -2.0;
    CHECK(y.value() == doctest::Approx(1.5 * (((-av + bv - 2) * av) / bv + 1 - av)));
    CHECK(a.grad() == doctest::Approx(1.5 * ((-2 * av + bv - 2) / bv - 1)));
    CHECK(b.grad() == doctest::Approx(1.5 * ((av * bv - (-av + bv - 2) * av) / (bv * bv))));
  }
}

TEST_CASE("a reused input collects every contribution") {
  tg::ScopedTape scope;
  tg::Var x(1.7);
  SUBCASE("x*x") {
    tg::Var y = x * x;
    y.backward();
    CHECK(x.grad() == doctest::Approx(3.4));
  }
  SUBCASE("x/x has derivative 0") {
    tg::Var y = x / x;
    y.backward();
    CHECK(y.value() == 1.0);
    CHECK(x.grad() == doctest::Approx(0.0).epsilon(1e-15));
  }
  SUBCASE("x appears in several branches") {
    tg::Var y = tg::exp(x) * tg::sin(x) + x;
    y.backward();
    CHECK(x.grad() == doctest::Approx(std::exp(1.7) * (std::sin(1.7) + std::cos(1.7)) + 1.0));
  }
}

TEST_CASE("elementary functions against closed forms and central differences") {
  const std::vector<double> points = {-2.3, -0.7, 0.4, 1.9};
  struct Case {
    const char* name;
    UnaryVar f;
    UnaryDbl fd;
    UnaryDbl dfd;
    bool positive_only;
  };
  const std::vector<Case> cases = {
      {"exp", [](auto& x) { return tg::exp(x); }, [](double x) { return std::exp(x); },
       [](double x) { return std::exp(x); }, false},
      {"log", [](auto& x) { return tg::log(x); }, [](double x) { return std::log(x); },
       [](double x) { return 1 / x; }, true},
      {"sqrt", [](auto& x) { return tg::sqrt(x); }, [](double x) { return std::sqrt(x); },
       [](double x) { return 0.5 / std::sqrt(x); }, true},
      {"sin", [](auto& x) { return tg::sin(x); }, [](double x) { return std::sin(x); },
       [](double x) { return std::cos(x); }, false},
      {"cos", [](auto& x) { return tg::cos(x); }, [](double x) { return std::cos(x); },
       [](double x) { return -std::sin(x); }, false},
      {"tan", [](auto& x) { return tg::tan(x); }, [](double x) { return std::tan(x); },
       [](double x) { return 1 / (std::cos(x) * std::cos(x)); }, false},
      {"tanh", [](auto& x) { return tg::tanh(x); }, [](double x) { return std::tanh(x); },
       [](double x) { return 1 / (std::cosh(x) * std::cosh(x)); }, false},
      {"sigmoid", [](auto& x) { return tg::sigmoid(x); }, sigmoid_d,
       [](double x) { return sigmoid_d(x) * (1 - sigmoid_d(x)); }, false},
      {"relu", [](auto& x) { return tg::relu(x); }, [](double x) { return x > 0 ? x : 0.0; },
       [](double x) { return x > 0 ? 1.0 : 0.0; }, false},
      {"leaky_relu", [](auto& x) { return tg::leaky_relu(x, 0.1); },
       [](double x) { return x > 0 ? x : 0.1 * x; }, [](double x) { return x > 0 ? 1.0 : 0.1; }, false},
      {"elu", [](auto& x) { return tg::elu(x, 1.5); },
       [](double x) { return x > 0 ? x : 1.5 * (std::exp(x) - 1); },
       [](double x) { return x > 0 ? 1.0 : 1.5 * std::exp(x); }, false},
      {"softplus", [](auto& x) { return tg::softplus(x); }, [](double x) { return std::log(1 + std::exp(x)); },
       sigmoid_d, false},
      {"abs", [](auto& x) { return tg::abs(x); }, [](double x) { return std::abs(x); },
       [](double x) { return x > 0 ? 1.0 : -1.0; }, false},
      {"pow 2.5", [](auto& x) { return tg::pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); },
       [](double x) { return 2.5 * std::pow(x, 1.5); }, true},
      {"pow -3", [](auto& x) { return tg::pow(x, -3.0); }, [](double x) { return std::pow(x, -3.0); },
       [](double x) { return -3.0 * std::pow(x, -4.0); }, false},
      {"square", [](auto& x) { return tg::square(x); }, [](double x) { return x * x; },
       [](double x) { return 2 * x; }, false},
      {"log1p", [](auto& x) { return tg::log1p(x); }, [](double x) { return std::log1p(x); },
       [](double x) { return 1 / (1 + x); }, true},
      {"expm1", [](auto& x) { return tg::expm1(x); }, [](double x) { return std::expm1(x); },
       [](double x) { return std::exp(x); }, false},
      {"atan", [](auto& x) { return tg::atan(x); }, [](double x) { return std::atan(x); },
       [](double x) { return 1 / (1 + x * x); }, false},
      {"sinh", [](auto& x) { return tg::sinh(x); }, [](double x) { return std::sinh(x); },
       [](double x) { return std::cosh(x); }, false},
      {"cosh", [](auto& x) { return tg::cosh(x); }, [](double x) { return std::cosh(x); },
       [](double x) { return std::sinh(x); }, false},
      {"clamp", [](auto& x) { return tg::clamp(x, -1.0, 1.0); },
       [](double x) { return std::clamp(x, -1.0, 1.0); },
       [](double x) { return std::abs(x) <= 1 ? 1.0 : 0.0; }, false},
      {"min with constant", [](auto& x) { return tg::min(x, 0.0); }, [](double x) { return std::min(x, 0.0); },
       [](double x) { return x < 0 ? 1.0 : 0.0; }, false},
      {"max with constant", [](auto& x) { return tg::max(1.0, x); }, [](double x) { return std::max(1.0, x); },
       [](double x) { return x > 1 ? 1.0 : 0.0; }, false},
  };
  for (const auto& c : cases) {
    for (double x : points) {
      if (c.positive_only) x = std::abs(x);
      CAPTURE(c.name);
      CAPTURE(x);
      check_unary(c.f, c.fd, c.dfd, x);
    }
  }
}

TEST_CASE("binary pow, min and max") {
  tg::ScopedTape scope;
  SUBCASE("x^y") {
    tg::Var x(1.3);
    tg::Var y(2.2);
    tg::Var z = tg::pow(x, y);
    z.backward();
    CHECK(z.value() == doctest::Approx(std::pow(1.3, 2.2)));
    CHECK(x.grad() == doctest::Approx(2.2 * std::pow(1.3, 1.2)));
    CHECK(y.grad() == doctest::Approx(std::pow(1.3, 2.2) * std::log(1.3)));
  }
  SUBCASE("a^y with constant base") {
    tg::Var y(0.7);
    tg::Var z = tg::pow(2.0, y);
    z.backward();
    CHECK(y.grad() == doctest::Approx(std::pow(2.0, 0.7) * std::log(2.0)));
  }
  SUBCASE("0^y has derivative 0 in y, as in PyTorch") {
    tg::Var x(0.0);
    tg::Var y(2.0);
    tg::Var z = tg::pow(x, y);
    z.backward();
    CHECK(y.grad() == 0.0);
    CHECK(x.grad() == 0.0);
  }
  SUBCASE("min and max route the gradient to the chosen operand") {
    tg::Var a(1.0);
    tg::Var b(2.0);
    tg::Var z = tg::max(a, b) * 3.0 + tg::min(a, b) * 5.0;
    z.backward();
    CHECK(a.grad() == 5.0);
    CHECK(b.grad() == 3.0);
  }
  SUBCASE("a tie splits the gradient equally") {
    tg::Var a(2.0);
    tg::Var b(2.0);
    tg::Var z = tg::max(a, b);
    z.backward();
    CHECK(a.grad() == 0.5);
    CHECK(b.grad() == 0.5);
  }
}

TEST_CASE("documented choices at non-differentiable points") {
  tg::ScopedTape scope;
  tg::Var x(0.0);
  CHECK(tg::grad(tg::relu(x), {x})[0] == 0.0);
  CHECK(tg::grad(tg::abs(x), {x})[0] == 0.0);
  CHECK(tg::grad(tg::leaky_relu(x, 0.2), {x})[0] == 0.2);
  CHECK(tg::grad(tg::elu(x, 0.5), {x})[0] == 0.5);
  tg::Var at_bound(1.0);
  CHECK(tg::grad(tg::clamp(at_bound, -1.0, 1.0), {at_bound})[0] == 1.0);
  CHECK(std::isinf(tg::grad(tg::sqrt(x), {x})[0]));
  tg::Var lg = tg::log(x);
  CHECK(lg.value() == -std::numeric_limits<double>::infinity());
}

TEST_CASE("sigmoid, tanh and softplus stay finite and accurate in the tails") {
  tg::ScopedTape scope;
  for (double v : {-800.0, -40.0, 40.0, 800.0}) {
    CAPTURE(v);
    tg::Var x(v);
    tg::Var s = tg::sigmoid(x);
    tg::Var sp = tg::softplus(x);
    tg::Var th = tg::tanh(x);
    const double ds = tg::grad(s, {x}, {.retain_graph = true})[0];
    const double dsp = tg::grad(sp, {x}, {.retain_graph = true})[0];
    const double dth = tg::grad(th, {x}, {.retain_graph = true})[0];
    CHECK(std::isfinite(s.value()));
    CHECK(std::isfinite(sp.value()));
    CHECK(std::isfinite(ds));
    CHECK(std::isfinite(dsp));
    CHECK(std::isfinite(dth));
    // σ'(x) = e^-|x| / (1 + e^-|x|)², which for |x| = 40 is 4.248354255291589e-18.
    if (std::abs(v) == 40.0) {
      CHECK(ds == doctest::Approx(4.248354255291589e-18).epsilon(1e-12));
      CHECK(dth == doctest::Approx(4.0 * std::exp(-80.0)).epsilon(1e-12));
    }
    CHECK(sp.value() == doctest::Approx(v > 0 ? v : 0.0).epsilon(1e-15));
  }
  tg::Var x(40.0);
  CHECK(tg::sigmoid(x).value() == 1.0);
  CHECK(tg::sigmoid(-x).value() == doctest::Approx(4.248354255291589e-18).epsilon(1e-12));
}

TEST_CASE("micrograd's README expression gives micrograd's numbers") {
  tg::ScopedTape scope;
  tg::Var a(-4.0);
  tg::Var b(2.0);
  tg::Var c = a + b;
  tg::Var d = a * b + tg::pow(b, 3.0);
  c += c + 1.0;
  c += 1.0 + c + (-a);
  d += d * 2.0 + tg::relu(b + a);
  d += 3.0 * d + tg::relu(b - a);
  tg::Var e = c - d;
  tg::Var f = tg::pow(e, 2.0);
  tg::Var g = f / 2.0;
  g += 10.0 / f;
  g.backward();
  CHECK(g.value() == doctest::Approx(24.7041).epsilon(1e-5));
  CHECK(a.grad() == doctest::Approx(138.8338).epsilon(1e-6));
  CHECK(b.grad() == doctest::Approx(645.5773).epsilon(1e-6));
}

TEST_CASE("n-ary sum and dot") {
  tg::ScopedTape scope;
  std::vector<tg::Var> xs;
  std::vector<tg::Var> ys;
  for (int i = 0; i < 5; ++i) {
    xs.emplace_back(0.5 * i - 1.0);
    ys.emplace_back(1.0 + i);
  }
  tg::Var s = tg::sum(xs) + tg::dot(xs, ys);
  s.backward();
  for (int i = 0; i < 5; ++i) {
    CHECK(xs[i].grad() == doctest::Approx(1.0 + ys[i].value()));
    CHECK(ys[i].grad() == doctest::Approx(xs[i].value()));
  }
  std::vector<double> w = {1, 2};
  CHECK_THROWS_WITH_AS(tg::dot(xs, w), "dot: both sequences must have the same length, got 5 and 2",
                       tg::ShapeError);
}

TEST_CASE("bulk leaves and grads agree with Var(v) and grad() one by one") {
  // f = Σ x_i² y_i over leaves made in bulk, against the closed form df/dx_i = 2 x_i y_i, df/dy_i = x_i².
  tg::ScopedTape scope;
  const std::vector<double> xv = {0.5, -1.25, 2.0, 0.0, 3.5};
  const std::vector<double> yv = {1.5, 0.25, -2.0, 4.0, -0.5};
  std::vector<tg::Var> xs = tg::leaves(xv);
  std::vector<tg::Var> ys(yv.size());
  tg::leaves(yv, ys);
  const tg::Var lone(7.0);  // recorded after the bulk leaves: slots stay distinct
  tg::Var f = lone * 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    CHECK(xs[i].value() == xv[i]);
    CHECK(xs[i].requires_grad());
    f = f + xs[i] * xs[i] * ys[i];
  }
  f.backward();
  const std::vector<double> gx = tg::grads(xs);
  std::vector<double> gy(ys.size());
  tg::grads(ys, gy);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    CHECK(gx[i] == doctest::Approx(2.0 * xv[i] * yv[i]).epsilon(1e-15));
    CHECK(gy[i] == doctest::Approx(xv[i] * xv[i]).epsilon(1e-15));
    CHECK(gx[i] == xs[i].grad());
    CHECK(gy[i] == ys[i].grad());
  }
  // Constants read 0, a size mismatch and a stale Var are refused.
  const std::vector<tg::Var> mixed = {tg::Var::constant(1.0), xs[2]};
  CHECK(tg::grads(mixed) == std::vector<double>{0.0, gx[2]});
  std::vector<double> two(2);
  CHECK_THROWS_WITH_AS(tg::grads(xs, two), "grads: xs and out must have the same length, got 5 and 2",
                       tg::ShapeError);
  CHECK_THROWS_WITH_AS(tg::leaves(xv, std::span<tg::Var>(ys.data(), 2)),
                       "leaves: values and out must have the same length, got 5 and 2", tg::ShapeError);
  scope.tape().reset();
  CHECK_THROWS_WITH_AS(tg::grads(xs), doctest::Contains("grads: this Var belongs to a tape that was reset"),
                       tg::TapeError);
  {
    tg::NoGradGuard guard;
    for (const tg::Var& v : tg::leaves(xv)) CHECK_FALSE(v.requires_grad());
  }
}

TEST_CASE("bulk leaves keep their values on a tape that keeps values and respect the memory limit") {
  tg::ScopedTape scope(tg::TapeOptions{.keep_values = true});
  const std::vector<double> xv = {1.0, 2.0, 3.0};
  const std::vector<tg::Var> xs = tg::leaves(xv);
  for (std::size_t i = 0; i < xs.size(); ++i) CHECK(scope.tape().value(xs[i].slot()) == xv[i]);
  tg::set_tape_memory_limit(1 << 20);
  const std::vector<double> big(1 << 20, 1.0);
  CHECK_THROWS_WITH_AS(tg::leaves(big), doctest::Contains("memory limit exceeded"), tg::TapeError);
  tg::set_tape_memory_limit(0);
}

namespace {

// A random straight-line program over a growing list of values: each step applies one op to values
// picked at random (often the newest, so chains such as s = s + t form, and sometimes the same value
// twice, as x * x). Evaluated once with Vars and once with doubles, for central differences.
struct RandomProgram {
  struct Step {
    int op;
    std::size_t a, b, c;
    double leaf;  // the value of a leaf made mid-program (op 8)
  };
  std::size_t n_inputs = 0;
  std::vector<Step> steps;

  template <class T>
  T run(const std::vector<T>& inputs, const std::function<T(double)>& make_leaf) const {
    using std::sin;
    using std::tanh;
    std::vector<T> v(inputs);
    for (const Step& s : steps) {
      const T& x = v[s.a];
      const T& y = v[s.b];
      switch (s.op) {
        case 0: v.push_back(x + y); break;
        case 1: v.push_back(x - y); break;
        case 2: v.push_back(x * y); break;
        case 3: v.push_back(x / (2.0 + y * y)); break;
        case 4: v.push_back(sin(x)); break;
        case 5: v.push_back(tanh(x)); break;
        case 6: v.push_back(x * x); break;
        case 7: v.push_back(x + y + v[s.c]); break;
        default: v.push_back(make_leaf(s.leaf) * x); break;
      }
    }
    T out = v.back();
    for (std::size_t k = v.size() - 8; k + 1 < v.size(); ++k) out = out + v[k];
    return out;
  }
};

RandomProgram random_program(std::uint64_t seed, std::size_t n_inputs, std::size_t n_steps) {
  tg::Generator gen(seed);
  RandomProgram p;
  p.n_inputs = n_inputs;
  for (std::size_t i = 0; i < n_steps; ++i) {
    const std::size_t size = n_inputs + i;
    auto pick = [&] {
      // Half the time one of the three newest values, so chains through consecutive slots are common.
      if (gen.uniform() < 0.5) return size - 1 - static_cast<std::size_t>(gen.uniform() * std::min<double>(3, size));
      return static_cast<std::size_t>(gen.uniform() * static_cast<double>(size));
    };
    RandomProgram::Step s{static_cast<int>(gen.uniform() * 9), pick(), pick(), pick(), gen.uniform(-1.0, 1.0)};
    if (gen.uniform() < 0.15) s.b = s.a;  // the same value twice
    p.steps.push_back(s);
  }
  return p;
}

}  // namespace

TEST_CASE("random programs: the sweep's gradients match central differences") {
  // The sweep keeps the adjoint it just wrote in a register when the next statement down reads it; these
  // programs mix chains, reused arguments (x * x), n-ary statements and leaves made mid-program, so every
  // case of that shortcut meets a slot it must not carry.
  // On a fusing tape the same programs record multi-argument statements (x + y + z, x / (2 + y²)).
  for (std::uint64_t seed = 1; seed <= 80; ++seed) {
    const bool fuse = seed > 40;
    const RandomProgram p = random_program(seed <= 40 ? seed : seed - 40, 6, 120);
    tg::Generator gen(seed + 1000);
    std::vector<double> x(p.n_inputs);
    for (double& v : x) v = gen.uniform(-1.0, 1.0);
    tg::ScopedTape scope(tg::TapeOptions{.fuse_expressions = fuse});
    const std::vector<tg::Var> xs = tg::leaves(x);
    const tg::Var f = p.run<tg::Var>(xs, [](double v) { return tg::Var(v); });
    f.backward();
    const std::vector<double> g = tg::grads(xs);
    const std::vector<double> numeric = tgtest::central_diff(
        [&](const std::vector<double>& in) { return p.run<double>(in, [](double v) { return v; }); }, x);
    CHECK(f.value() == doctest::Approx(p.run<double>(x, [](double v) { return v; })).epsilon(1e-14));
    for (std::size_t i = 0; i < x.size(); ++i) {
      INFO("seed " << seed << " input " << i << (fuse ? " (fused)" : ""));
      CHECK(g[i] == doctest::Approx(numeric[i]).epsilon(1e-4).scale(1.0));  // chains amplify the O(h²) error
    }
  }
}

TEST_CASE("gradients accumulate across backward calls until zeroed") {
  tg::ScopedTape scope;
  tg::Var x(2.0);
  tg::Var y = x * x;
  y.backward({.retain_graph = true});
  CHECK(x.grad() == 4.0);
  y.backward();
  CHECK(x.grad() == 8.0);
  tg::Var z = 3.0 * x;  // recorded after the first graph was released: a new graph
  z.backward();
  CHECK(x.grad() == 11.0);
  x.zero_grad();
  CHECK(x.grad() == 0.0);
}

TEST_CASE("tg::grad returns gradients without touching grad()") {
  tg::ScopedTape scope;
  tg::Var x(0.5);
  tg::Var y(-1.5);
  tg::Var c = tg::Var::constant(4.0);
  tg::Var f = x * y + tg::sin(x) * c;
  auto g = tg::grad(f, {x, y, c});
  CHECK(g[0] == doctest::Approx(-1.5 + std::cos(0.5) * 4.0));
  CHECK(g[1] == doctest::Approx(0.5));
  CHECK(g[2] == 0.0);
  CHECK(x.grad() == 0.0);
}

TEST_CASE("NoGradGuard records nothing") {
  tg::ScopedTape scope;
  tg::Var x(1.0);
  const auto before = scope.tape().size();
  {
    tg::NoGradGuard guard;
    CHECK_FALSE(tg::grad_enabled());
    tg::Var y = x * 2.0 + tg::exp(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value() == doctest::Approx(2.0 + std::exp(1.0)));
    tg::Var leaf(3.0);
    CHECK_FALSE(leaf.requires_grad());
  }
  CHECK(tg::grad_enabled());
  CHECK(scope.tape().size() == before);
}

TEST_CASE("tape lifetime errors are clear, never undefined behaviour") {
  SUBCASE("a Var used after its tape was reset") {
    tg::Tape& t = tg::Tape::active();
    tg::Var x(1.0);
    tg::Var y = x * 2.0;
    t.reset();
    CHECK_THROWS_AS(y.backward(), tg::TapeError);
    CHECK_THROWS_AS((void)x.grad(), tg::TapeError);
    CHECK_THROWS_AS(tg::Var(x + 1.0), tg::TapeError);
    CHECK_THROWS_WITH(tg::Var(x * x), doctest::Contains("reset or destroyed"));
  }
  SUBCASE("a Var used after its scope ended") {
    tg::Var escaped;
    {
      tg::ScopedTape scope;
      escaped = tg::Var(2.0) * 3.0;
    }
    CHECK_THROWS_AS(escaped.backward(), tg::TapeError);
  }
  SUBCASE("a Var from an outer tape used inside a nested scope") {
    tg::ScopedTape outer;
    tg::Var x(1.0);
    x.label("x");
    tg::ScopedTape inner;
    CHECK_THROWS_WITH_AS(tg::Var(x * 2.0), doctest::Contains("another tape"), tg::TapeError);
  }
  SUBCASE("backward twice through a released graph") {
    tg::ScopedTape scope;
    tg::Var x(1.0);
    tg::Var h = tg::sin(x);
    h.label("h");
    tg::Var y = h * h;
    y.backward();
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("already released"), tg::TapeError);
    // A new output that reuses the released intermediate h cannot be differentiated either...
    tg::Var z = h + 1.0;
    CHECK_THROWS_WITH(z.backward(), doctest::Contains("(h)"));
    // ...but one that starts again from the leaf can.
    tg::Var w = x * 5.0;
    w.backward();
    CHECK(x.grad() == doctest::Approx(2 * std::sin(1.0) * std::cos(1.0) + 5.0));
  }
  SUBCASE("backward of a constant") {
    tg::Var c = tg::Var::constant(1.0);
    CHECK_THROWS_AS(c.backward(), tg::TapeError);
  }
}

TEST_CASE("scoped tapes nest and restore the outer tape") {
  tg::ScopedTape outer;
  tg::Var a(1.5);
  tg::Var fa = a * a;
  {
    tg::ScopedTape inner;
    CHECK(&tg::Tape::active() == &inner.tape());
    tg::Var b(2.0);
    tg::Var fb = tg::exp(b);
    fb.backward();
    CHECK(b.grad() == doctest::Approx(std::exp(2.0)));
  }
  CHECK(&tg::Tape::active() == &outer.tape());
  fa.backward();
  CHECK(a.grad() == 3.0);
}

TEST_CASE("reset makes the tape reusable without growing it") {
  tg::ScopedTape scope;
  tg::Tape& t = scope.tape();
  for (int step = 0; step < 3; ++step) {
    tg::Var x(1.0 + step);
    tg::Var y = x * x * x;
    y.backward();
    CHECK(x.grad() == doctest::Approx(3.0 * (1.0 + step) * (1.0 + step)));
    CHECK(t.size() == 3);
    t.reset();
    CHECK(t.size() == 0);
  }
}

TEST_CASE("a chain of a million ops differentiates without recursion") {
  tg::ScopedTape scope;
  tg::Var x(0.3);
  tg::Var y = x;
  constexpr int n = 1'000'000;
  for (int i = 0; i < n; ++i) y = y * 1.000001 + 1e-7;
  y.backward();
  CHECK(x.grad() == doctest::Approx(std::pow(1.000001, n)).epsilon(1e-9));
  CHECK(scope.tape().size() == 2 * n + 1);
}

TEST_CASE("the tape memory limit stops a runaway recording") {
  tg::ScopedTape scope;
  tg::set_tape_memory_limit(1 << 20);
  tg::Var x(1.0);
  tg::Var y = x;
  auto run = [&] {
    for (int i = 0; i < 1'000'000; ++i) y = y + x;
  };
  CHECK_THROWS_WITH_AS(run(), doctest::Contains("memory limit exceeded"), tg::TapeError);
  tg::set_tape_memory_limit(0);
}

TEST_CASE("labels are kept per Var") {
  tg::ScopedTape scope;
  tg::Var w(0.4);
  w.label("w5");
  CHECK(w.label() == "w5");
  CHECK(tg::Var(1.0).label().empty());
}
