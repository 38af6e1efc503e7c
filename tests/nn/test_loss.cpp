// Losses: values worked by hand or from the published formulas, the three reductions, gradients against
// central differences, numerical stability, and input validation.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "support/tensor_check.hpp"
#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;
namespace F = tg::nn::functional;
using tgtest::f64;

namespace {

tg::Tensor idx(std::vector<std::int64_t> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return tg::tensor(v, {n});
}

// ln(e^1 + e^2 + e^3), the log-partition of the logits [1, 2, 3].
const double kLse123 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));

}  // namespace

TEST_CASE("regression losses") {
  const tg::Tensor in = tg::tensor({1.0, 2.0, 3.0}, f64);
  const tg::Tensor tgt = tg::tensor({0.0, 2.0, 5.0}, f64);
  SUBCASE("MSE with each reduction") {
    CHECK(F::mse_loss(in, tgt).item() == doctest::Approx(5.0 / 3.0).epsilon(1e-15));
    CHECK(F::mse_loss(in, tgt, {.reduction = nn::kSum}).item() == 5.0);
    CHECK(F::mse_loss(in, tgt, {.reduction = nn::kNone}).to_vector<double>() == std::vector<double>{1.0, 0.0, 4.0});
    CHECK(nn::MSELoss()(in, tgt).item() == doctest::Approx(5.0 / 3.0).epsilon(1e-15));
  }
  SUBCASE("half squared error sums by default") {
    CHECK(F::half_squared_error(in, tgt).item() == 2.5);
    CHECK(nn::HalfSquaredErrorLoss()(in, tgt).item() == 2.5);
    CHECK(F::half_squared_error(in, tgt, {.reduction = nn::kMean}).item() == doctest::Approx(2.5 / 3.0).epsilon(1e-15));
  }
  SUBCASE("L1") {
    CHECK(F::l1_loss(in, tgt).item() == 1.0);
    CHECK(nn::L1Loss({.reduction = nn::kSum})(in, tgt).item() == 3.0);
  }
  SUBCASE("SmoothL1: quadratic below beta, linear above; beta 0 is L1") {
    const tg::Tensor a = tg::tensor({0.5, -2.0, 0.0}, f64);
    const tg::Tensor zero = tg::zeros({3}, f64);
    CHECK(F::smooth_l1_loss(a, zero).item() == doctest::Approx((0.125 + 1.5) / 3.0).epsilon(1e-15));
    CHECK(F::smooth_l1_loss(a, zero, {.beta = 4.0, .reduction = nn::kSum}).item() ==
          doctest::Approx(0.5 * 0.25 / 4.0 + 0.5 * 4.0 / 4.0).epsilon(1e-15));
    CHECK(F::smooth_l1_loss(a, zero, {.beta = 0.0, .reduction = nn::kSum}).item() == 2.5);
    CHECK_THROWS_AS(nn::SmoothL1Loss({.beta = -1.0}), tg::ValueError);
  }
  SUBCASE("Huber") {
    const tg::Tensor d = tg::tensor({1.0, -3.0}, f64);
    CHECK(F::huber_loss(d, tg::zeros({2}, f64), {.delta = 2.0}).item() == doctest::Approx((0.5 + 4.0) / 2.0).epsilon(1e-15));
    CHECK_THROWS_AS(nn::HuberLoss({.delta = 0.0}), tg::ValueError);
  }
  SUBCASE("gradients") {
    const tg::Tensor a = tg::randn({2, 3}, f64);
    const tg::Tensor b = tg::randn({2, 3}, f64);
    CHECK_TENSOR_GRAD([](const auto& x) { return F::mse_loss(x[0], x[1]); }, {a, b});
    CHECK_TENSOR_GRAD([](const auto& x) { return F::half_squared_error(x[0], x[1]); }, {a, b});
    CHECK_TENSOR_GRAD([](const auto& x) { return F::l1_loss(x[0], x[1], {.reduction = nn::kNone}); }, {a, b});
    CHECK_TENSOR_GRAD([](const auto& x) { return F::smooth_l1_loss(x[0], x[1], {.beta = 0.7}); }, {a, b});
    CHECK_TENSOR_GRAD([](const auto& x) { return F::huber_loss(x[0], x[1], {.delta = 0.7}); }, {a, b});
  }
  SUBCASE("shape and dtype errors") {
    CHECK_THROWS_WITH_AS(F::mse_loss(tg::zeros({2, 3}), tg::zeros({3})),
                         "mse_loss: input and target shapes must match, got [2, 3] and [3]", tg::ShapeError);
    CHECK_THROWS_AS(F::mse_loss(tg::zeros({3}), tg::zeros({3}, f64)), tg::DtypeError);
  }
}

TEST_CASE("binary cross-entropy") {
  SUBCASE("on probabilities") {
    const tg::Tensor p = tg::tensor({0.8, 0.3}, f64);
    const tg::Tensor t = tg::tensor({1.0, 0.0}, f64);
    CHECK(F::binary_cross_entropy(p, t).item() == doctest::Approx(-(std::log(0.8) + std::log(0.7)) / 2.0).epsilon(1e-15));
    const tg::Tensor w = tg::tensor({2.0, 0.5}, f64);
    CHECK(nn::BCELoss({.weight = w, .reduction = nn::kSum})(p, t).item() ==
          doctest::Approx(-(2.0 * std::log(0.8) + 0.5 * std::log(0.7))).epsilon(1e-15));
    CHECK_TENSOR_GRAD([](const auto& x) { return F::binary_cross_entropy(tg::sigmoid(x[0]), x[1]); },
                      {tg::randn({4}, f64), tg::rand({4}, f64)});
  }
  SUBCASE("logs are floored at -100 and the gradient stays finite at 0 and 1") {
    tg::Tensor p = tg::tensor({0.0, 1.0}, f64).requires_grad_(true);
    tg::ScopedTape scope;
    const tg::Tensor loss = F::binary_cross_entropy(p, tg::tensor({1.0, 1.0}, f64), {.reduction = nn::kNone});
    CHECK(loss.at({0}) == doctest::Approx(100.0).epsilon(1e-15));
    CHECK(loss.at({1}) == 0.0);
    loss.sum().backward();
    for (const double g : p.grad().to_vector<double>()) CHECK(std::isfinite(g));
    CHECK_THROWS_AS(F::binary_cross_entropy(tg::tensor({1.5}, f64), tg::tensor({1.0}, f64)), tg::ValueError);
  }
  SUBCASE("on logits, matching the formula") {
    const tg::Tensor x = tg::tensor({0.5, -1.0, 2.0}, f64);
    const tg::Tensor t = tg::tensor({1.0, 0.0, 0.3}, f64);
    double expect = 0.0;
    for (int i = 0; i < 3; ++i) {
      const double s = 1.0 / (1.0 + std::exp(-x.at({i})));
      expect += -(t.at({i}) * std::log(s) + (1.0 - t.at({i})) * std::log(1.0 - s));
    }
    CHECK(F::binary_cross_entropy_with_logits(x, t).item() == doctest::Approx(expect / 3.0).epsilon(1e-14));
    const tg::Tensor pw = tg::tensor({3.0}, f64);
    double expect_pw = 0.0;
    for (int i = 0; i < 3; ++i) {
      const double s = 1.0 / (1.0 + std::exp(-x.at({i})));
      expect_pw += -(3.0 * t.at({i}) * std::log(s) + (1.0 - t.at({i})) * std::log(1.0 - s));
    }
    CHECK(nn::BCEWithLogitsLoss({.pos_weight = pw, .reduction = nn::kSum})(x, t).item() ==
          doctest::Approx(expect_pw).epsilon(1e-14));
    CHECK_TENSOR_GRAD([&](const auto& a) { return F::binary_cross_entropy_with_logits(a[0], a[1], {.pos_weight = pw}); },
                      {tg::randn({2, 3}, f64), tg::rand({2, 3}, f64)});
  }
  SUBCASE("on logits at ±1e4: finite loss, gradient σ(x) - t") {
    tg::Tensor x = tg::tensor({1e4, -1e4, 1e4, -1e4}, f64).requires_grad_(true);
    const tg::Tensor t = tg::tensor({1.0, 0.0, 0.0, 1.0}, f64);
    tg::ScopedTape scope;
    const tg::Tensor loss = F::binary_cross_entropy_with_logits(x, t, {.reduction = nn::kNone});
    CHECK(loss.to_vector<double>() == std::vector<double>{0.0, 0.0, 1e4, 1e4});
    loss.sum().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0.0, 0.0, 1.0, -1.0});
    tg::Tensor x32 = tg::tensor({1e4, -1e4}).requires_grad_(true);
    const tg::Tensor l32 = F::binary_cross_entropy_with_logits(x32, tg::tensor({0.0, 1.0}));
    CHECK(l32.item() == 1e4);
    l32.backward();
    CHECK(x32.grad().to_vector<float>() == std::vector<float>{0.5f, -0.5f});
  }
}

TEST_CASE("cross-entropy and NLL") {
  const tg::Tensor logits = tg::tensor({1.0, 2.0, 3.0}, f64);
  SUBCASE("logits [1, 2, 3], target 2: log(e + e² + e³) - 3") {
    CHECK(F::cross_entropy(logits, tg::scalar_tensor(2.0, {.dtype = tg::kInt64})).item() ==
          doctest::Approx(0.40760596444).epsilon(1e-11));
    CHECK(nn::CrossEntropyLoss()(logits, tg::scalar_tensor(2.0, {.dtype = tg::kInt64})).item() ==
          doctest::Approx(kLse123 - 3.0).epsilon(1e-15));
  }
  const tg::Tensor batch = tg::tensor({{1.0, 2.0, 3.0}, {1.0, 2.0, 3.0}}, f64);
  const tg::Tensor target = idx({2, 0});
  const double l0 = kLse123 - 3.0;
  const double l1 = kLse123 - 1.0;
  SUBCASE("reductions") {
    CHECK(F::cross_entropy(batch, target).item() == doctest::Approx((l0 + l1) / 2.0).epsilon(1e-15));
    CHECK(F::cross_entropy(batch, target, {.reduction = nn::kSum}).item() == doctest::Approx(l0 + l1).epsilon(1e-15));
    const tg::Tensor none = F::cross_entropy(batch, target, {.reduction = nn::kNone});
    CHECK(none.shape() == tg::Shape{2});
    CHECK(none.at({1}) == doctest::Approx(l1).epsilon(1e-15));
  }
  SUBCASE("label smoothing as PyTorch: (1-ε)·nll + ε/C·Σ_c -log p_c") {
    const double eps = 0.1;
    const double smooth = 3.0 * kLse123 - (1.0 + 2.0 + 3.0);  // Σ_c -log p_c
    CHECK(F::cross_entropy(logits, tg::scalar_tensor(2.0, {.dtype = tg::kInt64}), {.label_smoothing = eps}).item() ==
          doctest::Approx((1 - eps) * l0 + eps / 3.0 * smooth).epsilon(1e-14));
    CHECK(F::cross_entropy(logits, tg::scalar_tensor(2.0, {.dtype = tg::kInt64}), {.label_smoothing = 0.1}).item() ==
          doctest::Approx(0.5076059644).epsilon(1e-9));
    // With class probabilities the target is mixed with the uniform distribution instead.
    const tg::Tensor onehot = tg::tensor({0.0, 0.0, 1.0}, f64);
    CHECK(F::cross_entropy(logits, onehot, {.label_smoothing = eps}).item() ==
          doctest::Approx((1 - eps) * l0 + eps / 3.0 * smooth).epsilon(1e-14));
    CHECK_THROWS_AS(nn::CrossEntropyLoss({.label_smoothing = 1.5}), tg::ValueError);
  }
  SUBCASE("class weights: the mean divides by the targets' total weight") {
    const tg::Tensor w = tg::tensor({1.0, 2.0, 3.0}, f64);
    CHECK(F::cross_entropy(batch, target, {.weight = w}).item() == doctest::Approx((3.0 * l0 + 1.0 * l1) / 4.0).epsilon(1e-15));
    // Smoothing with weights: the smoothing term is Σ_c w_c·(-log p_c), divided by the same total weight.
    const double ws = (1.0 * (kLse123 - 1.0) + 2.0 * (kLse123 - 2.0) + 3.0 * (kLse123 - 3.0));
    CHECK(F::cross_entropy(batch, target, {.weight = w, .label_smoothing = 0.2}).item() ==
          doctest::Approx(0.8 * (3.0 * l0 + l1) / 4.0 + 0.2 / 3.0 * (2.0 * ws) / 4.0).epsilon(1e-14));
  }
  SUBCASE("ignore_index drops targets from the sum and the count") {
    CHECK(F::cross_entropy(batch, idx({2, -100})).item() == doctest::Approx(l0).epsilon(1e-15));
    CHECK(F::cross_entropy(batch, idx({2, 1}), {.ignore_index = 1}).item() == doctest::Approx(l0).epsilon(1e-15));
    const tg::Tensor none = F::cross_entropy(batch, idx({2, -100}), {.reduction = nn::kNone});
    CHECK(none.at({1}) == 0.0);
    CHECK(std::isnan(F::cross_entropy(batch, idx({-100, -100})).item()));
  }
  SUBCASE("class-probability targets") {
    const tg::Tensor soft = tg::tensor({{0.2, 0.3, 0.5}, {1.0, 0.0, 0.0}}, f64);
    const double s0 = 0.2 * (kLse123 - 1.0) + 0.3 * (kLse123 - 2.0) + 0.5 * (kLse123 - 3.0);
    CHECK(F::cross_entropy(batch, soft).item() == doctest::Approx((s0 + l1) / 2.0).epsilon(1e-15));
    CHECK_TENSOR_GRAD([](const auto& x) { return F::cross_entropy(x[0], tg::softmax(x[1], 1), {.label_smoothing = 0.1}); },
                      {tg::randn({3, 4}, f64), tg::randn({3, 4}, f64)});
  }
  SUBCASE("the gradient is (softmax - onehot) / N, and matches central differences") {
    tg::Tensor x = batch.clone().requires_grad_(true);
    tg::ScopedTape scope;
    F::cross_entropy(x, target).backward();
    const double p2 = std::exp(3.0 - kLse123);
    CHECK(x.grad().at({0, 2}) == doctest::Approx((p2 - 1.0) / 2.0).epsilon(1e-14));
    CHECK(x.grad().at({1, 2}) == doctest::Approx(p2 / 2.0).epsilon(1e-14));
    const tg::Tensor t = idx({0, 3, 1, 3});
    const tg::Tensor w = tg::tensor({0.5, 1.0, 2.0, 1.5}, f64);
    CHECK_TENSOR_GRAD([&](const auto& a) { return F::cross_entropy(a[0], t); }, {tg::randn({4, 4}, f64)});
    CHECK_TENSOR_GRAD([&](const auto& a) { return F::cross_entropy(a[0], t, {.weight = w, .label_smoothing = 0.3}); },
                      {tg::randn({4, 4}, f64)});
    CHECK_TENSOR_GRAD([&](const auto& a) { return F::nll_loss(tg::log_softmax(a[0], 1), idx({1, -100, 2, 0})); },
                      {tg::randn({4, 4}, f64)});
  }
  SUBCASE("[N, C, d] inputs take class dim 1") {
    const tg::Tensor x = tg::randn({2, 3, 4}, f64);
    const tg::Tensor t = tg::tensor(std::vector<std::int64_t>{0, 1, 2, 1, 2, 2, 0, 1}, {2, 4});
    const tg::Tensor loss = F::cross_entropy(x, t, {.reduction = nn::kNone});
    CHECK(loss.shape() == tg::Shape{2, 4});
    const tg::Tensor col = x.select(2, 3)[1];  // logits of sample 1, position 3
    CHECK(loss.at({1, 3}) == doctest::Approx(-tg::log_softmax(col, 0).at({1})).epsilon(1e-14));
    CHECK_TENSOR_GRAD([&](const auto& a) { return F::cross_entropy(a[0], t, {.label_smoothing = 0.1}); }, {x});
  }
  SUBCASE("NLL on log-probabilities equals cross-entropy on logits") {
    const tg::Tensor x = tg::randn({5, 4}, f64);
    const tg::Tensor t = idx({3, 0, 1, 1, 2});
    CHECK(nn::NLLLoss()(tg::log_softmax(x, 1), t).item() == doctest::Approx(F::cross_entropy(x, t).item()).epsilon(1e-14));
    CHECK(F::nll_loss(tg::tensor({-1.0, -2.0}, f64), tg::scalar_tensor(1.0, {.dtype = tg::kInt64})).item() == 2.0);
  }
  SUBCASE("errors") {
    CHECK_THROWS_WITH_AS(F::cross_entropy(batch, idx({2, 3})), "cross_entropy: target 3 is out of range for 3 classes",
                         tg::IndexError);
    CHECK_THROWS_WITH_AS(F::cross_entropy(batch, idx({2, 0, 1})),
                         "cross_entropy: class-index target must have shape [2] for input [2, 3], got [3]",
                         tg::ShapeError);
    CHECK_THROWS_AS(F::cross_entropy(batch, tg::tensor({1.0, 2.0})), tg::ShapeError);
    CHECK_THROWS_AS(F::nll_loss(batch, tg::tensor({1.0, 2.0}, f64)), tg::DtypeError);
    CHECK_THROWS_AS(F::cross_entropy(batch, target, {.weight = tg::ones({2}, f64)}), tg::ShapeError);
    CHECK_THROWS_AS(F::cross_entropy(tg::scalar_tensor(1.0), target), tg::ShapeError);
  }
}

TEST_CASE("loss modules print their options") {
  auto printed = [](const nn::Module& m) {
    std::ostringstream os;
    os << m;
    return os.str();
  };
  CHECK(printed(nn::MSELoss()) == "MSELoss(reduction=mean)");
  CHECK(printed(nn::HalfSquaredErrorLoss()) == "HalfSquaredErrorLoss(reduction=sum)");
  CHECK(printed(nn::CrossEntropyLoss({.label_smoothing = 0.1})) ==
        "CrossEntropyLoss(reduction=mean, ignore_index=-100, label_smoothing=0.1)");
}
