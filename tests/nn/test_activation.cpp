// Activations: values against the published formulas evaluated with <cmath>, gradients against central
// differences, options, printing and make_activation.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>

#include "nn/module_check.hpp"
#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;
namespace F = tg::nn::functional;
using tgtest::f64;

namespace {

// Checks module(x) against f elementwise and the module's gradient against central differences.
void check_activation(nn::UnaryModule& m, const std::function<double(double)>& f) {
  // Points away from the kinks at 0 (and at ±1 for hardtanh), where central differences are meaningless.
  const tg::Tensor x = tg::tensor({-3.1, -1.7, -0.6, -0.2, 0.15, 0.45, 1.3, 2.9}, f64);
  const std::vector<double> y = m(x).to_vector<double>();
  const std::vector<double> xv = x.to_vector<double>();
  for (std::size_t i = 0; i < xv.size(); ++i) {
    INFO("x = " << xv[i]);
    CHECK(y[i] == doctest::Approx(f(xv[i])).epsilon(1e-14));
  }
  CHECK_MODULE_GRAD(m, [&](const std::vector<tg::Tensor>& in) { return m(in[0]); }, {tg::randn({3, 4}, f64) * 2.0});
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

}  // namespace

TEST_CASE("activation modules match their formulas") {
  SUBCASE("Sigmoid") {
    nn::Sigmoid m;
    check_activation(m, sigmoid);
  }
  SUBCASE("Tanh") {
    nn::Tanh m;
    check_activation(m, [](double x) { return std::tanh(x); });
  }
  SUBCASE("ReLU") {
    nn::ReLU m;
    check_activation(m, [](double x) { return x > 0 ? x : 0.0; });
  }
  SUBCASE("LeakyReLU") {
    nn::LeakyReLU m(0.2);
    check_activation(m, [](double x) { return x > 0 ? x : 0.2 * x; });
  }
  SUBCASE("ELU") {
    nn::ELU m(1.5);
    check_activation(m, [](double x) { return x > 0 ? x : 1.5 * (std::exp(x) - 1.0); });
  }
  SUBCASE("SELU") {
    nn::SELU m;
    check_activation(m, [](double x) { return kSeluScale * (x > 0 ? x : kSeluAlpha * (std::exp(x) - 1.0)); });
  }
  SUBCASE("GELU, exact and tanh approximation") {
    nn::GELU exact;
    check_activation(exact, [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); });
    nn::GELU approx(F::GeluApproximation::Tanh);
    check_activation(approx, [](double x) {
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    });
  }
  SUBCASE("SiLU / Swish") {
    nn::Swish m;
    check_activation(m, [](double x) { return x * sigmoid(x); });
  }
  SUBCASE("Mish") {
    nn::Mish m;
    check_activation(m, [](double x) { return x * std::tanh(std::log1p(std::exp(x))); });
  }
  SUBCASE("Softplus with beta, and linear past the threshold") {
    nn::Softplus m({.beta = 2.0});
    check_activation(m, [](double x) { return std::log1p(std::exp(2.0 * x)) / 2.0; });
    CHECK(m(tg::tensor({30.0}, f64)).item() == 30.0);
    CHECK(nn::Softplus()(tg::tensor({-800.0, 800.0}, f64)).to_vector<double>() == std::vector<double>{0.0, 800.0});
    CHECK_THROWS_AS(nn::Softplus({.beta = 0.0}), tg::ValueError);
  }
  SUBCASE("Softsign") {
    nn::Softsign m;
    check_activation(m, [](double x) { return x / (1.0 + std::abs(x)); });
  }
  SUBCASE("Hardtanh, with zero gradient at the limits as PyTorch") {
    nn::Hardtanh m({.min_val = -0.5, .max_val = 1.0});
    check_activation(m, [](double x) { return std::min(1.0, std::max(-0.5, x)); });
    tg::Tensor x = tg::tensor({-0.5, 0.3, 1.0, 2.0}, f64).requires_grad_(true);
    tg::ScopedTape scope;
    m(x).sum().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0.0, 1.0, 0.0, 0.0});
    CHECK_THROWS_AS(nn::Hardtanh({.min_val = 1.0, .max_val = 0.0}), tg::ValueError);
  }
}

TEST_CASE("PReLU learns its slope") {
  SUBCASE("one shared slope, initialised to 0.25") {
    nn::PReLU m({.dtype = tg::kFloat64});
    CHECK(m.weight.at({0}) == 0.25);
    check_activation(m, [](double x) { return x > 0 ? x : 0.25 * x; });
  }
  SUBCASE("a slope per channel") {
    nn::PReLU m({.num_parameters = 3, .dtype = tg::kFloat64});
    m.weight.detach().copy_(tg::tensor({0.1, 0.2, 0.3}, f64));
    const tg::Tensor x = tg::full({2, 3, 2}, -1.0, f64);
    const tg::Tensor y = m(x);
    CHECK(y.at({1, 2, 1}) == doctest::Approx(-0.3));
    CHECK(y.at({0, 0, 0}) == doctest::Approx(-0.1));
    CHECK_MODULE_GRAD(m, [&](const std::vector<tg::Tensor>& in) { return m(in[0]); }, {tg::randn({4, 3}, f64)});
    CHECK_MODULE_GRAD(m, [&](const std::vector<tg::Tensor>& in) { return m(in[0]); }, {tg::randn({2, 3, 2}, f64)});
    CHECK_THROWS_AS(m(tg::randn({2, 4}, f64)), tg::ShapeError);
  }
  SUBCASE("options") { CHECK_THROWS_AS(nn::PReLU({.num_parameters = 0}), tg::ValueError); }
}

TEST_CASE("Softmax and LogSoftmax modules") {
  const tg::Tensor x = tg::tensor({{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0}}, f64);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const tg::Tensor s = nn::Softmax(1)(x);
  CHECK(s.at({0, 2}) == doctest::Approx(std::exp(3.0) / z).epsilon(1e-15));
  CHECK(s.at({1, 0}) == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
  CHECK(nn::LogSoftmax()(x).at({0, 0}) == doctest::Approx(1.0 - std::log(z)).epsilon(1e-15));
  CHECK(nn::Softmax(0)(x).at({0, 0}) == doctest::Approx(std::exp(1.0) / (std::exp(1.0) + 1.0)).epsilon(1e-15));
  nn::LogSoftmax ls(1);
  CHECK_MODULE_GRAD(ls, [&](const std::vector<tg::Tensor>& in) { return ls(in[0]); }, {tg::randn({2, 4}, f64)});
  // Softmax rows sum to 1, so only the check's unequal output weights give the gradient something to see.
  nn::Softmax sm(1);
  CHECK_MODULE_GRAD(sm, [&](const std::vector<tg::Tensor>& in) { return sm(in[0]); }, {tg::randn({2, 4}, f64) * 2.0});
  nn::Softmax sm0(0);
  CHECK_MODULE_GRAD(sm0, [&](const std::vector<tg::Tensor>& in) { return sm0(in[0]); }, {tg::randn({3, 2, 2}, f64)});
}

TEST_CASE("functional forms and printing") {
  const tg::Tensor x = tg::randn({5}, f64);
  CHECK(tg::equal(F::relu(x), nn::ReLU()(x)));
  CHECK(tg::equal(F::softsign(x), nn::Softsign()(x)));
  CHECK(tg::equal(F::hardtanh(x), nn::Hardtanh()(x)));
  auto printed = [](const nn::Module& m) {
    std::ostringstream os;
    os << m;
    return os.str();
  };
  CHECK(printed(nn::LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)");
  CHECK(printed(nn::GELU(F::GeluApproximation::Tanh)) == "GELU(approximate=tanh)");
  CHECK(printed(nn::Softmax(1)) == "Softmax(dim=1)");
  CHECK(printed(nn::PReLU()) == "PReLU(num_parameters=1)");
  CHECK(printed(nn::Sigmoid()) == "Sigmoid");
}

TEST_CASE("make_activation") {
  CHECK(dynamic_cast<nn::Tanh*>(nn::make_activation("tanh").get()) != nullptr);
  CHECK(dynamic_cast<nn::SiLU*>(nn::make_activation("swish").get()) != nullptr);
  CHECK(dynamic_cast<nn::Identity*>(nn::make_activation("").get()) != nullptr);
  CHECK(nn::make_activation("prelu", tg::kFloat64)->parameters()[0].dtype() == tg::kFloat64);
  for (const char* name : {"sigmoid", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "softplus",
                           "softsign", "hardtanh", "identity"}) {
    CHECK(nn::make_activation(name)->forward(tg::zeros({2})).shape() == tg::Shape{2});
  }
  CHECK_THROWS_AS(nn::make_activation("Relu"), tg::ValueError);
}
