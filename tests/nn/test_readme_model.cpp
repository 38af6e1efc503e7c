// The README's model ("A model in under thirty lines"), run as written (keep the two in step), with its
// claims checked.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

#include "tapegrad/nn/nn.hpp"

namespace {

double readme_program() {
  namespace nn = tg::nn;
  tg::manual_seed(0);                                          // same seed, same run, bit for bit
  nn::ToyDataset moons = nn::make_moons(512, 0.1, /*seed=*/1);
  nn::TensorDataset data = nn::toy_tensors(moons);             // x: [512, 2] float32, y: [512] int64
  nn::DataLoader loader(data, {.batch_size = 64, .shuffle = true, .seed = 2});

  nn::MLP net({.sizes = {2, 32, 32, 2}, .activation = "tanh"});
  nn::Adam opt(net.parameters(), {.lr = 0.01});
  for (int epoch = 0; epoch < 50; ++epoch) {
    loader.set_epoch(epoch);
    for (const nn::Batch& b : loader) {
      tg::ScopedTape tape;                                     // one step, freed in O(1) at scope end
      tg::Tensor loss = nn::functional::cross_entropy(net.forward(b.x), b.y);
      opt.zero_grad();
      loss.backward();                                         // gradients come from the tape
      opt.step();
    }
  }
  tg::NoGradGuard no_grad;
  tg::Tensor pred = tg::argmax(net.forward(data.features()), 1);
  double acc = tg::eq(pred, data.targets()).to(tg::kFloat64).mean().item();
  std::printf("train accuracy %.3f\n", acc);                  // 1.000
  const auto path = std::filesystem::temp_directory_path() / "tapegrad_readme_moons.safetensors";
  nn::save(net, path);                                         // readable by PyTorch / safetensors
  return acc;
}

}  // namespace

TEST_CASE("the README model learns the moons and repeats bit for bit") {
  const double first = readme_program();
  CHECK(first >= 0.995);
  CHECK(readme_program() == first);
}
