// Whole-model save/load and exact training resume through tg::nn, on real module trees.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tapegrad/nn/nn.hpp"

namespace {

std::filesystem::path scratch(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / "tapegrad_test_save_module";
  std::filesystem::create_directories(dir);
  return dir / name;
}

tg::Tensor inputs() {
  tg::Generator gen(7);
  return tg::randn({16, 4}, {}, &gen);
}

// One Adam step of an MLP on a fixed regression batch; returns the loss.
double train_step(tg::nn::MLP& net, tg::nn::Adam& opt, const tg::Tensor& x, const tg::Tensor& y) {
  tg::ScopedTape tape;
  tg::Tensor loss = tg::nn::functional::mse_loss(net.forward(x), y);
  opt.zero_grad();
  loss.backward();
  opt.step();
  return loss.item();
}

}  // namespace

TEST_CASE("a saved and reloaded model gives bit-identical outputs") {
  tg::manual_seed(1);
  tg::nn::MLP net({.sizes = {4, 8, 3}, .activation = "tanh"});
  const auto path = scratch("mlp.safetensors");
  tg::nn::save(net, path, {{"note", "test"}});

  tg::manual_seed(2);  // a different initialisation, overwritten by the load
  tg::nn::MLP other({.sizes = {4, 8, 3}, .activation = "tanh"});
  tg::NoGradGuard no_grad;
  const tg::Tensor x = inputs();
  CHECK(net.forward(x).to_vector<float>() != other.forward(x).to_vector<float>());
  const auto meta = tg::nn::load(other, path);
  CHECK(meta.at("note") == "test");
  CHECK(net.forward(x).to_vector<float>() == other.forward(x).to_vector<float>());
}

TEST_CASE("loading into a different architecture names every problem") {
  tg::nn::MLP net({.sizes = {4, 8, 3}});
  const auto path = scratch("mlp_arch.safetensors");
  tg::nn::save(net, path);
  tg::nn::MLP wider({.sizes = {4, 9, 3}});
  CHECK_THROWS_WITH(tg::nn::load(wider, path), doctest::Contains("0.weight"));
  tg::nn::MLP deeper({.sizes = {4, 8, 8, 3}});
  CHECK_THROWS_WITH(tg::nn::load(deeper, path), doctest::Contains("4.weight"));
}

TEST_CASE("a truncated model file gives an error, never a crash") {
  tg::nn::MLP net({.sizes = {4, 8, 3}});
  const auto path = scratch("mlp_trunc.safetensors");
  tg::nn::save(net, path);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  CHECK_THROWS_AS(tg::nn::load(net, path), tg::Error);
}

TEST_CASE("training resumed from a checkpoint matches uninterrupted training exactly") {
  const tg::Tensor x = inputs();
  tg::Generator gen(11);
  const tg::Tensor y = tg::randn({16, 3}, {}, &gen);

  tg::manual_seed(3);
  tg::nn::MLP straight({.sizes = {4, 8, 3}, .activation = "tanh"});
  tg::nn::Adam opt_straight(straight.parameters(), {.lr = 0.01});
  for (int s = 0; s < 10; ++s) train_step(straight, opt_straight, x, y);

  tg::manual_seed(3);
  tg::nn::MLP first({.sizes = {4, 8, 3}, .activation = "tanh"});
  tg::nn::Adam opt_first(first.parameters(), {.lr = 0.01});
  for (int s = 0; s < 4; ++s) train_step(first, opt_first, x, y);
  const auto path = scratch("resume.safetensors");
  tg::nn::save_checkpoint(path, first.state_dict(), opt_first);

  tg::manual_seed(99);
  tg::nn::MLP resumed({.sizes = {4, 8, 3}, .activation = "tanh"});
  tg::nn::Adam opt_resumed(resumed.parameters(), {.lr = 0.5});
  tg::nn::load_checkpoint(path, resumed.state_dict(), opt_resumed);
  for (int s = 4; s < 10; ++s) train_step(resumed, opt_resumed, x, y);

  const auto a = straight.state_dict();
  const auto b = resumed.state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(a[i].second.to_vector<float>() == b[i].second.to_vector<float>());
  }
}
