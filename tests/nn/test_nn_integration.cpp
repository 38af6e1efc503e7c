// Modules together with the optimizers and tensor files of tg::nn: the worked example trained by
// tg::nn::SGD, and a state dict saved to a safetensors file and loaded into a fresh model.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;

TEST_CASE("the worked example trained by nn::SGD") {
  constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};
  nn::Sequential net(nn::Linear(2, 2, true, tg::kFloat64), nn::Sigmoid(), nn::Linear(2, 2, true, tg::kFloat64),
                     nn::Sigmoid());
  net.at<nn::Linear>(0)->weight.detach().copy_(tg::tensor({{0.15, 0.20}, {0.25, 0.30}}, f64));
  net.at<nn::Linear>(2)->weight.detach().copy_(tg::tensor({{0.40, 0.45}, {0.50, 0.55}}, f64));
  net.at<nn::Linear>(0)->bias.detach().fill_(0.35);
  net.at<nn::Linear>(2)->bias.detach().fill_(0.60);
  net.at<nn::Linear>(0)->bias.requires_grad_(false);
  net.at<nn::Linear>(2)->bias.requires_grad_(false);
  nn::SGD opt(net.parameters(), {.lr = 0.5});
  const tg::Tensor x = tg::tensor({{0.05, 0.10}}, f64);
  const tg::Tensor t = tg::tensor({{0.01, 0.99}}, f64);
  for (int step = 0; step < 10000; ++step) {
    tg::ScopedTape tape;
    opt.zero_grad();
    nn::functional::half_squared_error(net(x), t).backward();
    opt.step();
  }
  tg::NoGradGuard ng;
  CHECK(std::abs(nn::functional::half_squared_error(net(x), t).item() - 3.510187782978859e-05) < 1e-12);
  CHECK(net.at<nn::Linear>(0)->bias.at({1}) == 0.35);
}

TEST_CASE("a state dict saved to a file loads into a fresh model") {
  tg::manual_seed(4);
  nn::Sequential a(nn::Linear(3, 4), nn::ReLU(), nn::BatchNorm1d(4), nn::Linear(4, 2));
  a(tg::randn({8, 3}));  // moves the running statistics away from their initial values
  const auto path = std::filesystem::temp_directory_path() / "tapegrad_nnmod_state_dict.safetensors";
  nn::save_tensors(path, a.state_dict());
  nn::Sequential b(nn::Linear(3, 4), nn::ReLU(), nn::BatchNorm1d(4), nn::Linear(4, 2));
  b.load_state_dict(nn::load_tensors(path).tensors);
  std::filesystem::remove(path);
  a.eval();
  b.eval();
  const tg::Tensor x = tg::randn({5, 3});
  CHECK(tg::equal(a(x), b(x)));
  CHECK(b.at<nn::BatchNorm1d>(2)->num_batches_tracked.item() == 1.0);
}
