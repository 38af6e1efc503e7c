// gradcheck, check_gradient, custom ops and the CHECK_GRAD helpers: right gradients pass, wrong ones are
// caught and the faulty op or element is named.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <tapegrad/doctest.hpp>
#include <tapegrad/tapegrad.hpp>

#include "support/finite_diff.hpp"

namespace {

// x³ with a correct backward.
tg::CustomOp make_cube() {
  return tg::custom_op(
      "cube", [](std::span<const double> x) { return x[0] * x[0] * x[0]; },
      [](std::span<const double> x, double) { return std::vector<double>{3.0 * x[0] * x[0]}; }, 1);
}

// x³ whose backward forgot the factor 3: the classic slip.
tg::CustomOp make_bad_cube() {
  return tg::custom_op(
      "bad_cube", [](std::span<const double> x) { return x[0] * x[0] * x[0]; },
      [](std::span<const double> x, double) { return std::vector<double>{x[0] * x[0]}; }, 1);
}

// a·e^b, with d/db wrong (it returns e^b instead of a·e^b); d/da is right.
tg::CustomOp make_bad_scale_exp() {
  return tg::custom_op(
      "scale_exp", [](std::span<const double> x) { return x[0] * std::exp(x[1]); },
      [](std::span<const double> x, double) {
        return std::vector<double>{std::exp(x[1]), std::exp(x[1])};
      });
}

}  // namespace

TEST_CASE("gradcheck: correct gradients pass") {
  SUBCASE("built-in ops") {
    const auto f = [](std::span<const tg::Var> x) { return x[0] * tg::sin(x[1]) + tg::exp(x[0] / x[1]); };
    const tg::GradcheckResult r = tg::gradcheck(f, {0.7, 1.9});
    CHECK(r.ok);
    REQUIRE(r.inputs.size() == 2);
    for (const auto& e : r.inputs) CHECK(e.max_abs_error < 1e-8);
    CHECK_FALSE(r.fault);
  }
  SUBCASE("a correct custom op, also with a constant input") {
    const tg::CustomOp cube = make_cube();
    const auto f = [&](std::span<const tg::Var> x) { return cube(x[0] * x[1]) + cube(tg::Var::constant(2.0)); };
    CHECK(tg::gradcheck(f, {0.8, -1.1}).ok);
  }
  SUBCASE("the custom op's recorded gradient matches central differences") {
    const tg::CustomOp cube = make_cube();
    tg::ScopedTape scope;
    tg::Var a(1.3);
    tg::Var y = cube(tg::sin(a)) * 2.0;
    y.backward();
    const auto plain = [](const std::vector<double>& x) { return 2.0 * std::pow(std::sin(x[0]), 3); };
    CHECK(a.grad() == doctest::Approx(tgtest::central_diff(plain, {1.3})[0]).epsilon(1e-7));
  }
  SUBCASE("the doctest helpers") {
    const auto f = [](std::span<const tg::Var> x) { return tg::tanh(x[0]) * x[1]; };
    CHECK_GRAD(f, {0.3, -2.0});
    const std::vector<double> at = {1.5, 0.25};
    REQUIRE_GRAD(f, at);
    const auto hand = [](std::span<const double> x) {
      const double t = std::tanh(x[0]);
      return std::vector<double>{(1 - t * t) * x[1], t};
    };
    CHECK_HAND_GRAD(f, hand, {0.3, -2.0});
  }
}

TEST_CASE("gradcheck: a wrong custom backward is caught and pinpointed") {
  const tg::CustomOp cube = make_cube();
  const tg::CustomOp bad = make_bad_cube();

  SUBCASE("the faulty op is named with its label, slot and worst element") {
    std::uint32_t bad_slot = 0;
    const auto f = [&](std::span<const tg::Var> x) {
      tg::Var c = cube(x[0]);  // correct, recorded before the faulty one
      tg::Var b = bad(x[1] * 2.0);
      b.label("b");
      if (b.requires_grad()) bad_slot = b.slot();  // the numeric evaluations run with recording off
      return tg::sin(c) + b;
    };
    const tg::GradcheckResult r = tg::gradcheck(f, {0.6, 0.9});
    CHECK_FALSE(r.ok);
    REQUIRE(r.inputs.size() == 2);
    CHECK(r.inputs[0].ok);
    CHECK_FALSE(r.inputs[1].ok);
    // d/dx1 (2 x1)³ = 24 x1²; the wrong backward gives a third of it.
    CHECK(r.inputs[1].numeric == doctest::Approx(24 * 0.81).epsilon(1e-8));
    CHECK(r.inputs[1].analytic == doctest::Approx(8 * 0.81).epsilon(1e-12));
    REQUIRE(r.fault);
    CHECK(r.fault->op == "bad_cube");
    CHECK(r.fault->label == "b");
    CHECK(r.fault->slot == bad_slot);
    CHECK(r.fault->worst_input == 0);
    CHECK(r.fault->analytic == doctest::Approx(1.8 * 1.8).epsilon(1e-12));
    CHECK(r.fault->numeric == doctest::Approx(3 * 1.8 * 1.8).epsilon(1e-8));
    CHECK(r.ops_checked == 2);  // cube (passed), then bad_cube
    const std::string report = r.report();
    CHECK(report.find("'bad_cube' (label 'b')") != std::string::npos);
    MESSAGE(report);
  }

  SUBCASE("with two faulty ops, the first recorded one is reported") {
    const tg::CustomOp scale_exp = make_bad_scale_exp();
    const auto f = [&](std::span<const tg::Var> x) { return bad(scale_exp(x[0], x[1])); };
    const tg::GradcheckResult r = tg::gradcheck(f, {0.5, 0.2});
    CHECK_FALSE(r.ok);
    REQUIRE(r.fault);
    CHECK(r.fault->op == "scale_exp");
    CHECK(r.fault->worst_input == 1);  // only d/db is wrong
    CHECK(r.fault->numeric == doctest::Approx(0.5 * std::exp(0.2)).epsilon(1e-8));
  }

  SUBCASE("localisation can be switched off") {
    const auto f = [&](std::span<const tg::Var> x) { return bad(x[0]); };
    tg::GradcheckOptions o;
    o.localize = false;
    const tg::GradcheckResult r = tg::gradcheck(f, {1.5}, o);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.fault);
  }

  SUBCASE("check_local_op on its own") {
    tg::ScopedTape scope;
    tg::Var x(2.0);
    const tg::Var y = bad(x);
    tg::LocalOp op;
    REQUIRE(scope.tape().attached(y.slot()) != nullptr);
    REQUIRE(scope.tape().attached(y.slot())->local_op(op));
    const tg::OpCheck c = tg::check_local_op(op);
    CHECK_FALSE(c.ok);
    CHECK(c.abs_error == doctest::Approx(8.0).epsilon(1e-6));  // 12 against 4
  }
}

TEST_CASE("custom_op: misuse is reported") {
  const auto fwd = [](std::span<const double> x) { return x[0]; };
  const auto two = [](std::span<const double>, double) { return std::vector<double>{1.0, 1.0}; };
  SUBCASE("a backward returning the wrong number of partials") {
    const tg::CustomOp op = tg::custom_op("ident", fwd, two);
    tg::ScopedTape scope;
    tg::Var x(1.0);
    CHECK_THROWS_WITH_AS(op(x), doctest::Contains("returned 2 partial derivatives for 1 inputs"), tg::ValueError);
  }
  SUBCASE("a wrong number of inputs") {
    const tg::CustomOp op = tg::custom_op("ident", fwd, two, 1);
    tg::ScopedTape scope;
    tg::Var x(1.0);
    CHECK_THROWS_WITH_AS(op(x, x), doctest::Contains("expects 1 inputs, got 2"), tg::ValueError);
  }
  SUBCASE("no name or no function") {
    CHECK_THROWS_AS(tg::custom_op("", fwd, two), tg::ValueError);
    CHECK_THROWS_AS(tg::custom_op("f", nullptr, two), tg::ValueError);
  }
}

TEST_CASE("check_gradient: hand-derived gradients") {
  const auto f = [](std::span<const tg::Var> x) { return tg::square(x[0]) * x[1] + tg::sin(x[2]); };
  const std::vector<double> at = {1.2, -0.7, 0.4};
  SUBCASE("a correct hand gradient passes") {
    const auto hand = [](std::span<const double> x) {
      return std::vector<double>{2 * x[0] * x[1], x[0] * x[0], std::cos(x[2])};
    };
    const tg::GradientComparison c = tg::check_gradient(f, hand, at);
    CHECK(c.ok);
    CHECK(c.wrong.empty());
    CHECK(c.verdict.find("PASS") != std::string::npos);
    REQUIRE(c.rows.size() == 3);
    for (const auto& row : c.rows) CHECK(row.hand == doctest::Approx(row.autograd).epsilon(1e-12));
  }
  SUBCASE("a wrong hand gradient fails, naming the wrong element") {
    const auto hand = [](std::span<const double> x) {
      return std::vector<double>{2 * x[0] * x[1], x[0] * x[0], -std::cos(x[2])};  // sign slip in d/dx2
    };
    tg::GradcheckOptions o;
    o.names = {"a", "b", "c"};
    const tg::GradientComparison c = tg::check_gradient(f, hand, at, o);
    CHECK_FALSE(c.ok);
    REQUIRE(c.wrong.size() == 1);
    CHECK(c.wrong[0] == "c");
    CHECK(c.rows[2].numeric == doctest::Approx(std::cos(0.4)).epsilon(1e-8));
    CHECK(c.rows[2].autograd_ok);
    CHECK_FALSE(c.rows[2].hand_ok);
    CHECK(c.verdict.find("worst at c") != std::string::npos);
    MESSAGE(c.report());
  }
  SUBCASE("a hand gradient of the wrong length fails") {
    const auto hand = [](std::span<const double>) { return std::vector<double>{0.0}; };
    const tg::GradientComparison c = tg::check_gradient(f, hand, at);
    CHECK_FALSE(c.ok);
    CHECK(c.verdict.find("1 elements for 3 inputs") != std::string::npos);
  }
}

TEST_CASE("gradcheck: a wrong partial in a built-in statement is pinpointed") {
  // A sin recorded with the derivative of -cos... as a buggy op implementation would record it.
  const auto buggy_sin = [](const tg::Var& x) {
    return tg::Var::record(tg::Op::Sin, std::sin(x.value()), x, std::sin(x.value()));
  };
  std::uint32_t sin_slot = 0;
  const auto f = [&](std::span<const tg::Var> x) {
    const tg::Var p = x[0] * x[1];  // two Vars: re-runnable and right
    const tg::Var s = buggy_sin(p);
    if (s.requires_grad()) sin_slot = s.slot();
    return tg::log(s) + tg::sqrt(x[1]);
  };
  const tg::GradcheckResult r = tg::gradcheck(f, {0.9, 0.8});
  CHECK_FALSE(r.ok);
  REQUIRE(r.fault);
  CHECK(r.fault->op == "sin");
  CHECK(r.fault->slot == sin_slot);
  CHECK(r.fault->analytic == doctest::Approx(std::sin(0.72)).epsilon(1e-12));
  CHECK(r.fault->numeric == doctest::Approx(std::cos(0.72)).epsilon(1e-8));
  CHECK(r.ops_checked == 2);  // the mul passed, the sin failed
}

TEST_CASE("gradcheck: steep but correct built-ins are not blamed") {
  // log at 1e-4: the standard step's truncation error (about 1e-3 relative) exceeds rtol, so a single-step
  // check would blame the log; smaller steps agree with it, and the wrong op after it is found instead.
  const tg::CustomOp bad = make_bad_cube();
  const auto f = [&](std::span<const tg::Var> x) { return bad(tg::log(x[0]) * x[1]); };
  const tg::GradcheckResult r = tg::gradcheck(f, {1e-4, 0.1});
  CHECK_FALSE(r.ok);
  REQUIRE(r.fault);
  CHECK(r.fault->op == "bad_cube");
  CHECK(r.ops_checked == 3);  // log, mul, bad_cube
}

TEST_CASE("gradcheck: a steep function passes where one standard step would not") {
  const auto f = [](std::span<const tg::Var> x) { return tg::log(x[0]) + tg::sqrt(x[0]); };
  const tg::GradcheckResult r = tg::gradcheck(f, {1e-4});
  CHECK(r.ok);
  CHECK(r.inputs[0].numeric == doctest::Approx(1e4 + 0.5 / std::sqrt(1e-4)).epsilon(1e-4));
}

TEST_CASE("gradcheck: statements that cannot be re-run alone are listed in the report") {
  // x * 3 folds its constant in, leaky_relu has a slope that is not on the tape and relu(0) sits on its
  // kink: none can be checked alone, and each must be named rather than silently passed over.
  const tg::CustomOp bad = make_bad_cube();
  std::uint32_t mul_slot = 0;
  std::uint32_t leaky_slot = 0;
  std::uint32_t relu_slot = 0;
  const auto f = [&](std::span<const tg::Var> x) {
    tg::Var m = x[0] * 3.0;
    m.label("m");
    const tg::Var l = tg::leaky_relu(x[1], 0.2);
    const tg::Var k = tg::relu(x[1] - x[1]);
    if (m.requires_grad()) {
      mul_slot = m.slot();
      leaky_slot = l.slot();
      relu_slot = k.slot();
    }
    return bad(m + l) + k;
  };
  const tg::GradcheckResult r = tg::gradcheck(f, {0.4, 0.7});
  CHECK_FALSE(r.ok);
  REQUIRE(r.fault);
  CHECK(r.fault->op == "bad_cube");
  CHECK(r.ops_checked == 3);  // sub, add, bad_cube
  REQUIRE(r.not_checked.size() == 3);
  CHECK(r.not_checked[0] == "mul#" + std::to_string(mul_slot) +
                                " 'm': a constant operand was folded in (as the 3 in x * 3) and is not on the tape");
  CHECK(r.not_checked[1] == "leaky_relu#" + std::to_string(leaky_slot) +
                                ": a 'leaky_relu' statement with 1 recorded argument(s) has parameters or constants "
                                "that are not on the tape");
  CHECK(r.not_checked[2] == "relu#" + std::to_string(relu_slot) +
                                ": its input is at a kink, where the derivative it uses is a convention that "
                                "differences cannot confirm");
  const std::string report = r.report();
  for (const std::string& line : r.not_checked) {
    CHECK(report.find("  not re-run alone: " + line + "\n") != std::string::npos);
  }
}
