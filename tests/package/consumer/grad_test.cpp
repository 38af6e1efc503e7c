// A user's own doctest file built against the installed tapegrad/doctest.hpp: a right gradient passes
// CHECK_GRAD, and a wrong custom backward is reported (that case is marked should_fail, so the run still
// succeeds; run_consumer.cmake checks that the report named the faulty op).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <vector>

#include <tapegrad/doctest.hpp>
#include <tapegrad/tapegrad.hpp>

TEST_CASE("installed CHECK_GRAD passes a right gradient") {
  const auto f = [](std::span<const tg::Var> x) { return x[0] * tg::sin(x[1]); };
  CHECK_GRAD(f, {0.5, 2.0});
}

TEST_CASE("installed CHECK_GRAD reports a wrong custom backward" * doctest::should_fail()) {
  // x³ whose backward forgot the factor 3.
  const tg::CustomOp bad = tg::custom_op(
      "bad_cube", [](std::span<const double> x) { return x[0] * x[0] * x[0]; },
      [](std::span<const double> x, double) { return std::vector<double>{x[0] * x[0]}; }, 1);
  const auto f = [&](std::span<const tg::Var> x) { return bad(x[0]); };
  CHECK_GRAD(f, {0.7});
}
