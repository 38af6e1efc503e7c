// Gradients of the elementwise tensor ops against float64 central differences.
#include <doctest/doctest.h>

#include "support/tensor_check.hpp"

using tgtest::f64;
using Args = std::vector<tg::Tensor>;

namespace {

tg::Tensor rnd(const tg::Shape& s, std::uint64_t seed = 1) {
  tg::Generator g(seed);
  return tg::randn(s, f64, &g);
}

// Values away from 0 (for log, sqrt, division) in [0.5, 2).
tg::Tensor pos(const tg::Shape& s, std::uint64_t seed = 2) {
  tg::Generator g(seed);
  return tg::uniform(s, 0.5, 2.0, f64, &g);
}

}  // namespace

TEST_CASE("tensor grad: binary ops with broadcasting") {
  const auto add = [](const Args& x) { return x[0] + x[1]; };
  const auto sub = [](const Args& x) { return x[0] - x[1]; };
  const auto mul = [](const Args& x) { return x[0] * x[1]; };
  const auto div = [](const Args& x) { return x[0] / x[1]; };
  const auto pw = [](const Args& x) { return tg::pow(x[0], x[1]); };
  const std::vector<std::pair<const char*, std::function<tg::Tensor(const Args&)>>> ops = {
      {"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}, {"pow", pw}};
  auto each = [&](const Args& in, tgtest::TensorCheckOptions opts = {}) {
    for (const auto& [name, f] : ops) {
      CAPTURE(name);
      CHECK_TENSOR_GRAD(f, in, opts);
    }
  };
  SUBCASE("same shape") { each({pos({2, 3}, 1), pos({2, 3}, 2)}); }
  SUBCASE("[2,3] with [3]") { each({pos({2, 3}, 3), pos({3}, 4)}); }
  SUBCASE("[3] with [2,3]") { each({pos({3}, 3), pos({2, 3}, 4)}); }
  SUBCASE("[2,1] with [1,3]") { each({pos({2, 1}, 5), pos({1, 3}, 6)}); }
  SUBCASE("0-d with [2,3]") { each({pos({}, 7), pos({2, 3}, 8)}); }
  SUBCASE("non-contiguous inputs") { each({pos({3, 2}, 9), pos({3, 2}, 10)}, {.noncontiguous = true}); }
  SUBCASE("non-contiguous 1-d with broadcasting") { each({pos({2, 3}, 9), pos({3}, 10)}, {.noncontiguous = true}); }
  SUBCASE("a 0-size dimension") { each({pos({0, 3}, 11), pos({3}, 12)}); }
}

TEST_CASE("tensor grad: the checker itself catches a wrong gradient") {
  // x.detach() * x has derivative 2x, but autograd sees only one factor: the check must fail.
  const auto r = tgtest::check_tensor_grad([](const Args& x) { return x[0].detach() * x[0]; }, {pos({3})});
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("central difference") != std::string::npos);
}

TEST_CASE("tensor grad: reused input and scalar operands") {
  SUBCASE("x * x") { CHECK_TENSOR_GRAD([](const Args& x) { return x[0] * x[0]; }, {rnd({2, 3})}); }
  SUBCASE("x * x + x / x") {
    CHECK_TENSOR_GRAD([](const Args& x) { return x[0] * x[0] + x[0] / (x[0] + 3.0); }, {pos({4})});
  }
  SUBCASE("scalar operands") {
    CHECK_TENSOR_GRAD([](const Args& x) { return 2.0 - x[0] * 3.0 + x[0] / 4.0 + 1.5 / x[0] - (x[0] - 1.0); },
                      {pos({2, 2})});
  }
  SUBCASE("pow with constant exponent and base") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::pow(x[0], 3.0) + tg::pow(x[0], 0.5) + tg::pow(2.0, x[0]); },
                      {pos({3})});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::pow(x[0], 0.0); }, {pos({3})});
  }
}

TEST_CASE("tensor grad: unary math") {
  using F = tg::Tensor (*)(const tg::Tensor&);
  const std::vector<std::pair<const char*, F>> smooth = {
      {"neg", tg::neg}, {"exp", tg::exp},       {"sin", tg::sin},  {"cos", tg::cos},   {"tanh", tg::tanh},
      {"sigmoid", tg::sigmoid}, {"selu", tg::selu}, {"gelu", tg::gelu}, {"silu", tg::silu}, {"erf", tg::erf},
      {"square", tg::square}, {"abs", tg::abs}, {"relu", tg::relu}};
  SUBCASE("smooth and piecewise ops, contiguous and not") {
    for (const auto& [name, fn] : smooth) {
      CAPTURE(name);
      const F g = fn;
      CHECK_TENSOR_GRAD([g](const Args& x) { return g(x[0]); }, {rnd({2, 3}, 11)});
      CHECK_TENSOR_GRAD([g](const Args& x) { return g(x[0]); }, {rnd({3, 2}, 12)}, {.noncontiguous = true});
      CHECK_TENSOR_GRAD([g](const Args& x) { return g(x[0]); }, {rnd({2, 0}, 12)});
    }
  }
  SUBCASE("log and sqrt on positive inputs") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::log(x[0]) + tg::sqrt(x[0]); }, {pos({2, 3})});
  }
  SUBCASE("parametrised activations") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::leaky_relu(x[0], 0.2); }, {rnd({2, 3}, 13)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::elu(x[0], 0.7); }, {rnd({2, 3}, 14)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::softplus(x[0]) + tg::softplus(x[0], 3.0); }, {rnd({2, 3}, 15)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::clamp(x[0], -0.5, 0.5); }, {rnd({2, 3}, 16)});
  }
  SUBCASE("maximum, minimum and where") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::maximum(x[0], x[1]) + tg::minimum(x[0], x[1]); },
                      {rnd({2, 3}, 17), rnd({3}, 18)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::where(x[0] > 0.0, x[0] * x[1], x[1]); },
                      {rnd({2, 3}, 19), rnd({2, 1}, 20)});
  }
}

TEST_CASE("tensor values at documented points") {
  SUBCASE("relu'(0) = 0, abs'(0) = 0, ties split") {
    tg::Tensor x = tg::zeros({1}, f64).requires_grad_();
    tg::relu(x).sum().backward();
    CHECK(x.grad().item() == 0.0);
    x.zero_grad();
    tg::abs(x).sum().backward();
    CHECK(x.grad().item() == 0.0);
    tg::Tensor y = tg::zeros({1}, f64).requires_grad_();
    x.zero_grad();
    tg::maximum(x, y).sum().backward();
    CHECK(x.grad().item() == 0.5);
    CHECK(y.grad().item() == 0.5);
  }
  SUBCASE("sigmoid and softplus are finite in the tails") {
    const tg::Tensor x = tg::tensor({-800.0, 800.0}, f64);
    CHECK(tg::sigmoid(x).to_vector<double>() == std::vector<double>{0.0, 1.0});
    CHECK(tg::softplus(x).at({1}) == 800.0);
    CHECK(tg::softplus(x).at({0}) == 0.0);
  }
  SUBCASE("clamp passes the gradient on the closed interval") {
    tg::Tensor x = tg::tensor({-1.0, 0.0, 1.0, 2.0}, {.dtype = tg::kFloat64, .requires_grad = true});
    tg::clamp(x, 0.0, 1.0).sum().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 1, 1, 0});
    CHECK_THROWS_AS(tg::clamp(x, 1.0, 0.0), tg::ValueError);
  }
  SUBCASE("comparisons give bool masks") {
    const tg::Tensor a = tg::tensor({1.0, 2.0, 3.0});
    CHECK((a > 1.5).dtype() == tg::kBool);
    CHECK((a > 1.5).to_vector<bool>() == std::vector<bool>{false, true, true});
    CHECK((a == tg::tensor({1.0, 0.0, 3.0})).to_vector<bool>() == std::vector<bool>{true, false, true});
    CHECK(tg::logical_not(a <= 2.0).to_vector<bool>() == std::vector<bool>{false, false, true});
  }
}
