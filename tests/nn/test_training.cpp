// Training with tg::nn end to end: the worked 2-2-2 example (/work/shared/reference/worked_example.md) built
// from Linear layers in its three bias variants, XOR learned by an MLP, and seeded runs that repeat bit
// for bit. Plain gradient descent under NoGradGuard stands in for an optimizer.
#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;
namespace F = tg::nn::functional;

namespace {

constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};

// p -= lr * p.grad() for every parameter that requires a gradient.
void sgd_step(nn::Module& m, double lr) {
  tg::NoGradGuard ng;
  for (tg::Tensor& p : m.parameters()) {
    if (p.requires_grad() && p.grad().defined()) p.sub_(p.grad(), lr);
  }
}

// The worked example's network: two Linear(2, 2) layers with sigmoids, weights w1..w8.
nn::Sequential worked_net() {
  nn::Sequential net(nn::Linear(2, 2, true, tg::kFloat64), nn::Sigmoid(), nn::Linear(2, 2, true, tg::kFloat64),
                     nn::Sigmoid());
  // Linear's weight is [out_features, in_features]: row j holds the weights into neuron j.
  net.at<nn::Linear>(0)->weight.detach().copy_(tg::tensor({{0.15, 0.20}, {0.25, 0.30}}, f64));
  net.at<nn::Linear>(2)->weight.detach().copy_(tg::tensor({{0.40, 0.45}, {0.50, 0.55}}, f64));
  net.at<nn::Linear>(0)->bias.detach().fill_(0.35);
  net.at<nn::Linear>(2)->bias.detach().fill_(0.60);
  return net;
}

// A Linear layer whose neurons share one scalar bias, broadcast over the outputs: a user-defined module.
struct SharedBiasLinear : nn::Module {
  tg::Tensor weight;
  tg::Tensor bias;
  SharedBiasLinear(const tg::Tensor& w, double b) {
    weight = register_parameter("weight", w.clone());
    bias = register_parameter("bias", tg::scalar_tensor(b, f64));
  }
  tg::Tensor forward(const tg::Tensor& x) { return tg::matmul(x, weight.t()) + bias; }
};

struct SharedBiasNet : nn::Module {
  std::shared_ptr<SharedBiasLinear> hidden;
  std::shared_ptr<SharedBiasLinear> output;
  SharedBiasNet() {
    hidden = register_module("hidden", std::make_shared<SharedBiasLinear>(
                                           tg::tensor({{0.15, 0.20}, {0.25, 0.30}}, f64), 0.35));
    output = register_module("output", std::make_shared<SharedBiasLinear>(
                                           tg::tensor({{0.40, 0.45}, {0.50, 0.55}}, f64), 0.60));
  }
  tg::Tensor forward(const tg::Tensor& x) { return tg::sigmoid(output->forward(tg::sigmoid(hidden->forward(x)))); }
};

// Trains net on the example's single case for `steps` updates and returns E after each of the first
// update and the last.
template <class Net>
std::pair<double, double> train_worked(Net& net, int steps) {
  const tg::Tensor x = tg::tensor({{0.05, 0.10}}, f64);
  const tg::Tensor t = tg::tensor({{0.01, 0.99}}, f64);
  nn::HalfSquaredErrorLoss loss;
  double after_one = 0.0;
  for (int step = 0; step < steps; ++step) {
    tg::ScopedTape tape;
    net.zero_grad();
    loss(net.forward(x), t).backward();
    sgd_step(net, 0.5);
    if (step == 0) {
      tg::NoGradGuard ng;
      after_one = loss(net.forward(x), t).item();
    }
  }
  tg::NoGradGuard ng;
  return {after_one, loss(net.forward(x), t).item()};
}

}  // namespace

TEST_CASE("the worked example built from tg::nn") {
  SUBCASE("frozen biases: the article's network") {
    nn::Sequential net = worked_net();
    net.at<nn::Linear>(0)->bias.requires_grad_(false);
    net.at<nn::Linear>(2)->bias.requires_grad_(false);
    {
      tg::ScopedTape tape;
      const tg::Tensor e = nn::HalfSquaredErrorLoss()(net(tg::tensor({{0.05, 0.10}}, f64)), tg::tensor({{0.01, 0.99}}, f64));
      CHECK(e.item() == doctest::Approx(0.29837110876000272).epsilon(1e-15));
      e.backward();
      CHECK(net.at<nn::Linear>(2)->weight.grad().at({0, 0}) == doctest::Approx(0.082167040564230784).epsilon(1e-13));
      CHECK(net.at<nn::Linear>(0)->weight.grad().at({0, 0}) == doctest::Approx(0.00043856773447434685).epsilon(1e-13));
      CHECK_FALSE(net.at<nn::Linear>(0)->bias.grad().defined());
    }
    const auto [e1, e_last] = train_worked(net, 10000);
    CHECK(std::abs(e1 - 0.29102777369359933) < 1e-12);
    CHECK(std::abs(e_last - 3.510187782978859e-05) < 1e-12);
    CHECK(net.at<nn::Linear>(0)->weight.at({0, 0}) == doctest::Approx(0.3785099883501318).epsilon(1e-9));
    CHECK(net.at<nn::Linear>(2)->weight.at({0, 0}) == doctest::Approx(-3.8929771988657245).epsilon(1e-9));
    CHECK(net.at<nn::Linear>(0)->bias.at({0}) == 0.35);
  }
  SUBCASE("a bias per neuron, trained") {
    nn::Sequential net = worked_net();
    const auto [e1, e_last] = train_worked(net, 10000);
    CHECK(std::abs(e1 - 0.28047144679143016) < 1e-12);
    CHECK(std::abs(e_last - 2.4475622359322466e-06) < 1e-12);
  }
  SUBCASE("one shared bias per layer, trained (a user-defined module)") {
    SharedBiasNet net;
    CHECK(net.named_parameters().keys() ==
          std::vector<std::string>{"hidden.weight", "hidden.bias", "output.weight", "output.bias"});
    const auto [e1, e_last] = train_worked(net, 10000);
    CHECK(std::abs(e1 - 0.2857508866992965) < 1e-12);
    CHECK(std::abs(e_last - 4.355321066163751e-06) < 1e-12);
  }
}

namespace {

// Trains an MLP on XOR with full-batch gradient descent and returns (final loss, model).
std::pair<double, std::shared_ptr<nn::MLP>> train_xor(std::uint64_t seed, double dropout, int steps) {
  tg::manual_seed(seed);
  auto mlp = std::make_shared<nn::MLP>(nn::MLPOptions{.sizes = {2, 8, 1}, .activation = "tanh", .dropout = dropout});
  const tg::Tensor x = tg::tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}});
  const tg::Tensor y = tg::tensor({0.0, 1.0, 1.0, 0.0}).reshape({4, 1});
  double last = 0.0;
  for (int step = 0; step < steps; ++step) {
    tg::ScopedTape tape;
    mlp->zero_grad();
    const tg::Tensor loss = F::binary_cross_entropy_with_logits(mlp->forward(x), y);
    loss.backward();
    sgd_step(*mlp, 0.5);
    last = loss.item();
  }
  return {last, mlp};
}

}  // namespace

TEST_CASE("an MLP learns XOR") {
  const auto [loss, mlp] = train_xor(1, 0.0, 2000);
  CHECK(loss < 0.01);
  mlp->eval();
  const tg::Tensor p = tg::sigmoid(mlp->forward(tg::tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}})));
  CHECK(p.at({0, 0}) < 0.05);
  CHECK(p.at({1, 0}) > 0.95);
  CHECK(p.at({2, 0}) > 0.95);
  CHECK(p.at({3, 0}) < 0.05);
}

TEST_CASE("one global seed repeats a training run bit for bit") {
  const auto [loss_a, a] = train_xor(7, 0.25, 200);
  const auto [loss_b, b] = train_xor(7, 0.25, 200);
  const auto [loss_c, c] = train_xor(8, 0.25, 200);
  CHECK(loss_a == loss_b);
  CHECK(loss_a != loss_c);
  const auto sa = a->state_dict();
  const auto sb = b->state_dict();
  for (std::size_t i = 0; i < sa.size(); ++i) CHECK(tg::equal(sa[i].second, sb[i].second));
}
