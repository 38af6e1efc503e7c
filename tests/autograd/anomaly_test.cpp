// Anomaly mode: the first NaN/Inf of a forward or backward pass throws, naming the op, its labels, its
// inputs and the path to the output; without the guard nothing is checked.
#include <doctest/doctest.h>

#include <cmath>
#include <tapegrad/tapegrad.hpp>

TEST_CASE("anomaly mode: forward") {
  tg::ScopedTape scope;
  SUBCASE("log(0) is caught at the log, with its input named") {
    tg::AnomalyGuard guard;
    tg::Var x(0.0);
    x.label("x");
    const tg::Var y = x * 2.0;  // finite: no error
    try {
      (void)tg::log(y);
      FAIL("no AnomalyError");
    } catch (const tg::AnomalyError& e) {
      CHECK(e.op() == "log");
      CHECK_FALSE(e.in_backward());
      CHECK(e.slot() == y.slot() + 1);
      const std::string m = e.what();
      CHECK(m.find("-inf") != std::string::npos);
      CHECK(m.find("mul#") != std::string::npos);
      MESSAGE(m);
    }
  }
  SUBCASE("a binary op: 1/0, naming both labelled inputs") {
    tg::AnomalyGuard guard;
    tg::Var a(1.0);
    tg::Var b(0.0);
    a.label("num");
    b.label("den");
    try {
      (void)(a / b);
      FAIL("no AnomalyError");
    } catch (const tg::AnomalyError& e) {
      CHECK(e.op() == "div");
      const std::string m = e.what();
      CHECK(m.find("'num'") != std::string::npos);
      CHECK(m.find("'den'") != std::string::npos);
    }
  }
  SUBCASE("an n-ary sum overflowing to inf") {
    tg::AnomalyGuard guard;
    const tg::Var xs[2] = {tg::Var(1e308), tg::Var(1e308)};
    CHECK_THROWS_WITH_AS(tg::sum(xs), doctest::Contains("'sum' produced inf"), tg::AnomalyError);
  }
  SUBCASE("a custom op producing NaN") {
    const tg::CustomOp bad = tg::custom_op(
        "nan_op", [](std::span<const double>) { return std::nan(""); },
        [](std::span<const double>, double) { return std::vector<double>{0.0}; });
    tg::AnomalyGuard guard;
    tg::Var x(1.0);
    CHECK_THROWS_WITH_AS(bad(x), doctest::Contains("'nan_op' produced nan"), tg::AnomalyError);
  }
  SUBCASE("off by default, and the guard restores the previous state") {
    tg::Var x(0.0);
    CHECK_FALSE(tg::anomaly_enabled());
    CHECK(std::isinf(tg::log(x).value()));
    {
      tg::AnomalyGuard on;
      CHECK(tg::anomaly_enabled());
      {
        tg::AnomalyGuard off(false);
        CHECK(std::isinf(tg::log(x).value()));
      }
      CHECK_THROWS_AS(tg::Var(tg::log(x)), tg::AnomalyError);
    }
    CHECK_FALSE(tg::anomaly_enabled());
  }
}

TEST_CASE("anomaly mode: backward") {
  SUBCASE("sqrt at 0 has an infinite derivative: caught at the sqrt, with the path to the output") {
    tg::ScopedTape scope;
    tg::AnomalyGuard guard;
    tg::Var x(0.0);
    x.label("x");
    tg::Var r = tg::sqrt(x);  // value 0 is fine; d/dx = inf
    r.label("r");
    tg::Var loss = r * 3.0 + 1.0;
    loss.label("loss");
    try {
      loss.backward();
      FAIL("no AnomalyError");
    } catch (const tg::AnomalyError& e) {
      CHECK(e.op() == "sqrt");
      CHECK(e.in_backward());
      CHECK(e.slot() == r.slot());
      const std::string m = e.what();
      CHECK(m.find("'x'") != std::string::npos);
      CHECK(m.find("path to the output: sqrt#") != std::string::npos);
      CHECK(m.find("'r' -> mul#") != std::string::npos);
      CHECK(m.find("'loss'") != std::string::npos);
      MESSAGE(m);
    }
  }
  SUBCASE("0 x inf makes a NaN in the backward of the op with the infinite derivative") {
    tg::ScopedTape scope;
    tg::AnomalyGuard guard;
    tg::Var x(0.0);
    tg::Var y = tg::sqrt(x) * 0.0 + x;
    try {
      y.backward();
      FAIL("no AnomalyError");
    } catch (const tg::AnomalyError& e) {
      CHECK(e.op() == "sqrt");
      CHECK(std::string(e.what()).find("nan") != std::string::npos);
    }
  }
  SUBCASE("a custom op's backward producing inf is named") {
    const tg::CustomOp op = tg::custom_op(
        "steep", [](std::span<const double> x) { return x[0]; },
        [](std::span<const double>, double) { return std::vector<double>{INFINITY}; });
    tg::ScopedTape scope;
    tg::AnomalyGuard guard;
    tg::Var x(1.0);
    tg::Var y = op(x) + 1.0;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("the backward of 'steep'"), tg::AnomalyError);
  }
  SUBCASE("a long chain elides the middle of the path") {
    tg::ScopedTape scope(tg::TapeOptions{.keep_values = true});
    tg::AnomalyGuard guard;
    tg::Var x(0.0);
    tg::Var v = tg::sqrt(x);
    for (int i = 0; i < 50; ++i) v = v * 1.0;
    try {
      v.backward();
      FAIL("no AnomalyError");
    } catch (const tg::AnomalyError& e) {
      const std::string m = e.what();
      CHECK(m.find("more ops)") != std::string::npos);
      CHECK(m.find("leaf#1 = 0") != std::string::npos);  // values shown when the tape keeps them
    }
  }
  SUBCASE("without the guard, backward runs unchecked and returns inf") {
    tg::ScopedTape scope;
    tg::Var x(0.0);
    tg::Var y = tg::sqrt(x) * 3.0;
    y.backward();
    CHECK(std::isinf(x.grad()));
  }
  SUBCASE("a finite backward in anomaly mode gives the same gradients") {
    tg::ScopedTape scope;
    tg::Var x(0.8);
    tg::Var y = tg::sin(x) * tg::exp(x) + x * x;
    const double plain = tg::grad(y, {x}, tg::BackwardOptions{.retain_graph = true})[0];
    tg::AnomalyGuard guard;
    CHECK(tg::grad(y, {x})[0] == plain);
  }
}
