// TensorDataset and DataLoader: coverage of every sample once per epoch, seeded determinism, drop_last,
// rows gathered correctly, buffer reuse that never overwrites a batch still held; toy and IDX data as
// tensors.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <vector>

#include "tapegrad/nn/data_tensor.hpp"
#include "tapegrad/nn/idx.hpp"

using namespace tg::nn;

namespace {

// Sample i has features [i, 100 + i] (float64) and target 10·i (int64).
TensorDataset numbered(std::int64_t n) {
  std::vector<double> x;
  std::vector<std::int64_t> y;
  for (std::int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<double>(i));
    x.push_back(100.0 + static_cast<double>(i));
    y.push_back(10 * i);
  }
  return TensorDataset(tg::tensor(x, tg::Shape{n, 2}), tg::tensor(y, tg::Shape{n}));
}

// The targets of every batch of the current epoch, checking that each row's features match its target.
std::vector<std::vector<std::int64_t>> epoch_targets(DataLoader& loader) {
  std::vector<std::vector<std::int64_t>> out;
  for (const Batch& b : loader) {
    const auto y = b.y.to_vector<std::int64_t>();
    const auto x = b.x.to_vector<double>();
    REQUIRE(x.size() == 2 * y.size());
    for (std::size_t r = 0; r < y.size(); ++r) {
      CHECK(x[2 * r] == static_cast<double>(y[r] / 10));
      CHECK(x[2 * r + 1] == 100.0 + static_cast<double>(y[r] / 10));
    }
    out.push_back(y);
  }
  return out;
}

std::vector<std::int64_t> sorted_all(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

TEST_CASE("DataLoader") {
  SUBCASE("each epoch covers every sample once, in batches of batch_size and a shorter last one") {
    DataLoader loader(numbered(10), {.batch_size = 4, .shuffle = true, .seed = 3});
    CHECK(loader.size() == 3);
    const auto batches = epoch_targets(loader);
    REQUIRE(batches.size() == 3);
    CHECK(batches[0].size() == 4);
    CHECK(batches[2].size() == 2);
    std::vector<std::int64_t> want(10);
    for (std::int64_t i = 0; i < 10; ++i) want[static_cast<std::size_t>(i)] = 10 * i;
    CHECK(sorted_all(batches) == want);
  }
  SUBCASE("without shuffling the order is 0..n-1") {
    DataLoader loader(numbered(5), {.batch_size = 2});
    CHECK(epoch_targets(loader) == std::vector<std::vector<std::int64_t>>{{0, 10}, {20, 30}, {40}});
  }
  SUBCASE("drop_last skips the short batch") {
    DataLoader loader(numbered(10), {.batch_size = 4, .shuffle = true, .drop_last = true, .seed = 3});
    CHECK(loader.size() == 2);
    const auto batches = epoch_targets(loader);
    CHECK(batches.size() == 2);
    CHECK(sorted_all(batches).size() == 8);
  }
  SUBCASE("the same seed and epoch give the same batches; epochs and seeds differ") {
    DataLoader a(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 11});
    DataLoader b(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 11});
    DataLoader c(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 12});
    a.set_epoch(2);
    b.set_epoch(2);
    c.set_epoch(2);
    const auto ea = epoch_targets(a);
    CHECK(ea == epoch_targets(b));
    CHECK(ea != epoch_targets(c));
    a.set_epoch(3);
    CHECK(ea != epoch_targets(a));
    a.set_epoch(2);
    CHECK(ea == epoch_targets(a));
  }
  SUBCASE("a batch still held is never overwritten; a released one's buffer is reused") {
    DataLoader loader(numbered(6), {.batch_size = 2});
    const Batch first = loader.batch(0);
    const Batch second = loader.batch(1);
    CHECK(first.y.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 10});
    CHECK(second.y.to_vector<std::int64_t>() == std::vector<std::int64_t>{20, 30});
    const void* mem = nullptr;
    {
      const Batch b = loader.batch(2);
      mem = b.x.data_ptr<double>();
    }
    const Batch again = loader.batch(0);
    CHECK(again.x.data_ptr<double>() == mem);
    CHECK(again.y.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 10});
  }
  SUBCASE("bad arguments") {
    CHECK_THROWS_AS(DataLoader(numbered(4), {.batch_size = 0}), tg::ValueError);
    CHECK_THROWS_AS(TensorDataset(tg::zeros({3, 2}), tg::zeros({4})), tg::ShapeError);
    CHECK_THROWS_AS(TensorDataset(tg::scalar_tensor(1.0), tg::zeros({1})), tg::ShapeError);
    DataLoader loader(numbered(4), {.batch_size = 2});
    CHECK_THROWS_AS(loader.batch(2), tg::IndexError);
  }
}

TEST_CASE("datasets as tensors") {
  SUBCASE("toy sets: [n, 2] points and int64 labels") {
    const ToyDataset moons = make_moons(20, 0.1, 5);
    const TensorDataset d = toy_tensors(moons, tg::kFloat64);
    CHECK(d.features().shape() == tg::Shape{20, 2});
    CHECK(d.features().to_vector<double>() == moons.x);
    CHECK(d.targets().dtype() == tg::kInt64);
    CHECK(d.targets().to_vector<std::int64_t>() == moons.y);
    CHECK(toy_tensors(moons).features().dtype() == tg::kFloat32);
  }
  SUBCASE("images scaled to [0, 1] as float32 [n, rows·cols], labels int64") {
    ImageDataset im;
    im.images = IdxImages{2, 2, 2, {0, 51, 102, 255, 255, 0, 0, 0}};
    im.labels = {3, 9};
    const TensorDataset d = image_dataset_tensors(im);
    CHECK(d.features().shape() == tg::Shape{2, 4});
    CHECK(d.features().dtype() == tg::kFloat32);
    const auto v = d.features().to_vector<float>();
    CHECK(v[1] == doctest::Approx(0.2));
    CHECK(v[3] == 1.0F);
    CHECK(d.targets().to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 9});
  }
}

TEST_CASE("Fashion-MNIST test split as tensors") {
  std::filesystem::path dir;
  try {
    dir = fashion_mnist_dir();
  } catch (const IoError& e) {
    MESSAGE("skipped: " << e.what());
    return;
  }
  const TensorDataset d = fashion_mnist_tensors(dir, false);
  CHECK(d.features().shape() == tg::Shape{10000, 784});
  CHECK(d.targets().shape() == tg::Shape{10000});
  CHECK(d.features().max().item() == 1.0);
  CHECK(d.features().min().item() == 0.0);
  // The test set opens with ankle boot, pullover, trouser, trouser (zalandoresearch/fashion-mnist).
  CHECK(d.targets().slice(0, 0, 4).to_vector<std::int64_t>() == std::vector<std::int64_t>{9, 2, 1, 1});
  DataLoader loader(d, {.batch_size = 256, .shuffle = true, .drop_last = true, .seed = 1});
  CHECK(loader.size() == 39);
  auto it = loader.begin();
  const Batch& b = *it;
  CHECK(b.x.shape() == tg::Shape{256, 784});
}
