// Initialisation: PyTorch's gains and fans, the bounds and spreads of each scheme (checked on large
// samples), generator determinism, and errors.
#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;
namespace init = tg::nn::init;
using init::Nonlinearity;

namespace {

double sample_std(const tg::Tensor& t) { return tg::std(t.to(tg::kFloat64)).item(); }
double max_abs(const tg::Tensor& t) { return t.abs().max().item(); }

}  // namespace

TEST_CASE("calculate_gain as PyTorch") {
  CHECK(init::calculate_gain(Nonlinearity::Linear) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::Sigmoid) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::Tanh) == doctest::Approx(5.0 / 3.0));
  CHECK(init::calculate_gain(Nonlinearity::ReLU) == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(Nonlinearity::LeakyReLU) == doctest::Approx(std::sqrt(2.0 / (1.0 + 0.01 * 0.01))));
  CHECK(init::calculate_gain(Nonlinearity::LeakyReLU, 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
  CHECK(init::calculate_gain(Nonlinearity::LeakyReLU, 0.0) == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(Nonlinearity::SELU) == 0.75);
}

TEST_CASE("fan in and fan out") {
  CHECK(init::fan_in_and_fan_out(tg::empty({4, 3})) == std::pair<std::int64_t, std::int64_t>{3, 4});
  CHECK(init::fan_in_and_fan_out(tg::empty({4, 3, 5})) == std::pair<std::int64_t, std::int64_t>{15, 20});
  CHECK_THROWS_AS(init::fan_in_and_fan_out(tg::empty({4})), tg::ValueError);
}

TEST_CASE("simple fills") {
  tg::Tensor t = tg::empty({200, 100}, {.requires_grad = true});
  SUBCASE("uniform_ stays in [lo, hi) and repeats with the generator") {
    tg::Generator g1(5);
    init::uniform_(t, -2.0, 3.0, &g1);
    CHECK(t.min().item() >= -2.0);
    CHECK(t.max().item() < 3.0);
    CHECK(t.mean().item() == doctest::Approx(0.5).epsilon(0.02));
    tg::Tensor u = tg::empty({200, 100});
    tg::Generator g2(5);
    init::uniform_(u, -2.0, 3.0, &g2);
    CHECK(tg::equal(t, u));
    CHECK(t.requires_grad());
    CHECK(t.is_leaf());
  }
  SUBCASE("normal_") {
    init::normal_(t, 1.0, 0.5);
    CHECK(t.mean().item() == doctest::Approx(1.0).epsilon(0.01));
    CHECK(sample_std(t) == doctest::Approx(0.5).epsilon(0.02));
  }
  SUBCASE("constant_, zeros_, ones_") {
    init::constant_(t, 0.25);
    CHECK(t.min().item() == 0.25);
    CHECK(t.max().item() == 0.25);
    init::zeros_(t);
    CHECK(max_abs(t) == 0.0);
    init::ones_(t);
    CHECK(t.sum().item() == 20000.0);
  }
  SUBCASE("errors") {
    tg::Tensor i = tg::zeros({2, 2}, {.dtype = tg::kInt64});
    CHECK_THROWS_AS(init::normal_(i), tg::DtypeError);
    CHECK_THROWS_AS(init::normal_(t, 0.0, -1.0), tg::ValueError);
    CHECK_THROWS_AS(init::uniform_(t, 1.0, 0.0), tg::ValueError);
    tg::Tensor v = tg::zeros({3});
    CHECK_THROWS_AS(init::xavier_uniform_(v), tg::ValueError);
  }
}

TEST_CASE("Xavier and Kaiming") {
  tg::Tensor w = tg::empty({300, 200}, {.dtype = tg::kFloat64});
  const double fan_in = 200.0;
  const double fan_out = 300.0;
  SUBCASE("xavier_uniform_: U(-a, a), a = gain·sqrt(6 / (in + out))") {
    const double a = 5.0 / 3.0 * std::sqrt(6.0 / (fan_in + fan_out));
    init::xavier_uniform_(w, init::calculate_gain(Nonlinearity::Tanh));
    CHECK(max_abs(w) <= a);
    CHECK(max_abs(w) > 0.999 * a);
    CHECK(sample_std(w) == doctest::Approx(a / std::sqrt(3.0)).epsilon(0.01));
  }
  SUBCASE("xavier_normal_: σ = gain·sqrt(2 / (in + out))") {
    init::xavier_normal_(w, 2.0);
    CHECK(sample_std(w) == doctest::Approx(2.0 * std::sqrt(2.0 / (fan_in + fan_out))).epsilon(0.01));
  }
  SUBCASE("kaiming_uniform_ with a = sqrt(5) is U(-1/sqrt(fan_in), 1/sqrt(fan_in))") {
    init::kaiming_uniform_(w, std::sqrt(5.0));
    CHECK(max_abs(w) <= 1.0 / std::sqrt(fan_in));
    CHECK(max_abs(w) > 0.999 / std::sqrt(fan_in));
  }
  SUBCASE("kaiming_uniform_ for ReLU on fan_out: bound sqrt(2)·sqrt(3 / fan_out)") {
    init::kaiming_uniform_(w, 0.0, init::FanMode::FanOut, Nonlinearity::ReLU);
    const double b = std::sqrt(2.0) * std::sqrt(3.0 / fan_out);
    CHECK(max_abs(w) <= b);
    CHECK(max_abs(w) > 0.999 * b);
  }
  SUBCASE("kaiming_normal_: σ = gain / sqrt(fan)") {
    init::kaiming_normal_(w, 0.0, init::FanMode::FanIn, Nonlinearity::ReLU);
    CHECK(sample_std(w) == doctest::Approx(std::sqrt(2.0 / fan_in)).epsilon(0.01));
  }
  SUBCASE("zero-element tensors are left alone") {
    tg::Tensor e = tg::empty({0, 3});
    CHECK_NOTHROW(init::kaiming_uniform_(e));
  }
}

TEST_CASE("tg::manual_seed makes initialisation repeat") {
  tg::manual_seed(11);
  nn::MLP a({.sizes = {4, 8, 3}});
  tg::manual_seed(11);
  nn::MLP b({.sizes = {4, 8, 3}});
  nn::MLP c({.sizes = {4, 8, 3}});
  const auto sa = a.state_dict();
  const auto sb = b.state_dict();
  const auto sc = c.state_dict();
  for (std::size_t i = 0; i < sa.size(); ++i) {
    CHECK(tg::equal(sa[i].second, sb[i].second));
    CHECK_FALSE(tg::equal(sa[i].second, sc[i].second));
  }
}
