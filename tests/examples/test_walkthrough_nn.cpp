// The walkthrough's network rebuilt from tg::nn: with frozen biases it must give the scalar tape's exact
// numbers, and with trained biases the reference variants of /work/shared/reference/worked_example.md.
#include <doctest/doctest.h>

#include <cmath>

#include "worked_nn.hpp"

namespace {
constexpr double kStep = 1e-9;   // single-step values
constexpr double kLong = 1e-12;  // values after 10,000 updates
}  // namespace

TEST_CASE("tg::nn walkthrough: frozen biases give the article's numbers") {
  const worked_nn::Run one = worked_nn::train(1, worked_nn::Bias::frozen);
  const std::array<double, 8> want_g = {0.00043856773447434685, 0.0008771354689486937, 0.0004977127352608601,
                                        0.0009954254705217202,  0.082167040564230784,  0.08266762784753326,
                                        -0.022602540477475067,  -0.02274024221597822};
  for (std::size_t k = 0; k < 8; ++k) {
    CAPTURE(k);
    CHECK(std::abs(one.first_grads[k] - want_g[k]) < kStep);
  }
  CHECK(std::abs(one.error_before - 0.29837110876000272) < kStep);
  CHECK(std::abs(one.error_after_1 - 0.29102777369359933) < kStep);
  const worked_nn::Run run = worked_nn::train(10000, worked_nn::Bias::frozen);
  CHECK(std::abs(run.error_after_n - 3.510187782978859e-05) < kLong);
  CHECK(std::abs(run.out_o1 - 0.01591362044355068) < kLong);
  CHECK(std::abs(run.out_o2 - 0.9840642735146238) < kLong);
}

TEST_CASE("tg::nn walkthrough: trained biases give the reference variants") {
  SUBCASE("a bias per neuron") {
    CHECK(std::abs(worked_nn::train(1, worked_nn::Bias::per_neuron).error_after_1 - 0.28047144679143016) < kStep);
    const worked_nn::Run run = worked_nn::train(10000, worked_nn::Bias::per_neuron);
    CHECK(std::abs(run.error_after_n - 2.4475622359322466e-06) < kLong);
    CHECK(std::abs(run.out_o1 - 0.011587527390870083) < kLong);
    CHECK(std::abs(run.out_o2 - 0.9884589350256716) < kLong);
  }
  SUBCASE("one shared bias per layer") {
    CHECK(std::abs(worked_nn::train(1, worked_nn::Bias::shared).error_after_1 - 0.2857508866992965) < kStep);
    const worked_nn::Run run = worked_nn::train(10000, worked_nn::Bias::shared);
    CHECK(std::abs(run.error_after_n - 4.355321066163751e-06) < kLong);
    CHECK(std::abs(run.out_o1 - 0.012102159123466441) < kLong);
    CHECK(std::abs(run.out_o2 - 0.9879283897200597) < kLong);
  }
}
