// The flagship walkthrough against every exact-double reference value of the worked example.
#include <doctest/doctest.h>

#include "worked_example.hpp"

namespace {
constexpr double kStep = 1e-9;   // single-step values
constexpr double kLong = 1e-12;  // values after 10,000 updates
}  // namespace

TEST_CASE("forward pass matches the reference") {
  tg::ScopedTape tape;
  worked::Forward f = worked::forward(worked::initial_weights);
  CHECK(std::abs(f.net_h1.value() - 0.3775) < kStep);
  CHECK(std::abs(f.out_h1.value() - 0.59326999210718723) < kStep);
  CHECK(std::abs(f.out_h2.value() - 0.59688437825976703) < kStep);
  CHECK(std::abs(f.net_o1.value() - 1.10590596705977) < kStep);
  CHECK(std::abs(f.out_o1.value() - 0.75136506955231575) < kStep);
  CHECK(std::abs(f.out_o2.value() - 0.77292846532146253) < kStep);
  CHECK(std::abs(f.e_o1.value() - 0.27481108317615499) < kStep);
  CHECK(std::abs(f.e_o2.value() - 0.023560025583847746) < kStep);
  CHECK(std::abs(f.e_total.value() - 0.29837110876000272) < kStep);
}

TEST_CASE("one backward pass gives every dE/dw and updated weight of the reference") {
  std::array<double, 8> g{};
  const std::array<double, 8> next = worked::step(worked::initial_weights, &g);
  const std::array<double, 8> want_g = {0.00043856773447434685, 0.0008771354689486937, 0.0004977127352608601,
                                        0.0009954254705217202,  0.082167040564230784,  0.08266762784753326,
                                        -0.022602540477475067,  -0.02274024221597822};
  const std::array<double, 8> want_w = {0.14978071613276281, 0.19956143226552567, 0.24975114363236958,
                                        0.29950228726473915, 0.35891647971788465, 0.4086661860762334,
                                        0.5113012702387375,  0.56137012110798912};
  for (int k = 0; k < 8; ++k) {
    CAPTURE(k);
    CHECK(std::abs(g[k] - want_g[k]) < kStep);
    CHECK(std::abs(next[k] - want_w[k]) < kStep);
  }
  CHECK(std::abs(worked::evaluate(next)[0] - 0.29102777369359933) < kStep);
}

TEST_CASE("10,000 updates land on the reference values") {
  std::array<double, 8> w = worked::initial_weights;
  double seen_in_last_forward = 0.0;
  for (int s = 0; s < 10000; ++s) w = worked::step(w, nullptr, &seen_in_last_forward);
  const auto end = worked::evaluate(w);
  CHECK(std::abs(end[0] - 3.510187782978859e-05) < kLong);
  CHECK(std::abs(end[1] - 0.01591362044355068) < kLong);
  CHECK(std::abs(end[2] - 0.9840642735146238) < kLong);
  CHECK(std::abs(seen_in_last_forward - 3.510854812251261e-05) < kLong);
  const std::array<double, 8> want = {0.3785099883501318, 0.6570199767002626, 0.47730070568478583,
                                      0.7546014113695693, -3.8929771988657245, -3.8684166877036152,
                                      2.861810948620059,  2.9256889667716157};
  for (int k = 0; k < 8; ++k) {
    CAPTURE(k);
    CHECK(std::abs(w[k] - want[k]) < kLong);
  }
}
