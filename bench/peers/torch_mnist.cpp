// LibTorch peer of the Fashion-MNIST benchmark (tapegrad's is bench/mnist.cpp; the workload, the GEMM
// floor and the reporting are shared in support/mnist_workload.hpp): an MLP 784-256-256-10 with ReLU,
// cross-entropy and SGD (lr 0.01, momentum 0.9) trained for one epoch at batch 64 and at batch 256: seconds
// per epoch (median of several one-epoch runs from the same initial weights and the same shuffled order),
// test accuracy after the epoch, peak RSS, and the epoch's GEMM floor. Without --threads/--batch it runs
// itself once per (batch, threads) pair, threads 1 and 2, so that each pair has fresh thread pools and its
// own peak RSS, with OMP_WAIT_POLICY=PASSIVE unless set (see support/child.hpp); bench names are
// mnist_mlp_b<batch>_t<threads>. --quick trains on 6,000 images and tests on 2,000 (for profiling).
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "peers/torch_support.hpp"
#include "support/mnist_workload.hpp"
#include "tapegrad/nn/idx.hpp"
#include "tapegrad/nn/io_error.hpp"
#include "tapegrad/nn/loader.hpp"

namespace {

namespace tp = tgbench::torchpeer;
namespace wl = tgbench::mnist;

/// One split as tensors: normalised float pixels [n, 784] and int64 labels [n], the first `limit` images.
struct Split {
  torch::Tensor x;
  torch::Tensor y;
};

Split to_tensors(tg::nn::ImageDataset&& d, std::int64_t limit) {
  const std::int64_t n = std::min(limit, d.images.count);
  Split s;
  s.x = torch::from_blob(d.images.pixels.data(), {n, wl::kPixels}, torch::kUInt8)
            .to(torch::kFloat32)
            .div_(255.0)
            .sub_(wl::kMean)
            .div_(wl::kStd);
  s.y = torch::from_blob(d.labels.data(), {n}, torch::kUInt8).to(torch::kInt64);
  return s;
}

torch::nn::Sequential make_mlp() {
  const auto& l = wl::kLayers;
  return torch::nn::Sequential(torch::nn::Linear(l[0][0], l[0][1]), torch::nn::ReLU(),
                               torch::nn::Linear(l[1][0], l[1][1]), torch::nn::ReLU(),
                               torch::nn::Linear(l[2][0], l[2][1]));
}

/// What one epoch gave.
struct EpochResult {
  double seconds = 0.0;
  double cpu_seconds = 0.0;
  double mean_loss = 0.0;
  double accuracy = 0.0;  // percent, on the test split
};

/// Trains `model` for one epoch over the train split in `order`, then evaluates on the test split.
EpochResult train_epoch(torch::nn::Sequential& model, const Split& train, const Split& test,
                        const torch::Tensor& order, std::int64_t batch) {
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(wl::kLr).momentum(wl::kMomentum));
  const std::int64_t n = train.x.size(0);
  EpochResult r;
  double loss_sum = 0.0;
  std::int64_t batches = 0;
  const double c0 = tp::process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t first = 0; first < n; first += batch) {
    const torch::Tensor idx = order.slice(0, first, std::min(first + batch, n));
    const torch::Tensor xb = train.x.index_select(0, idx);
    const torch::Tensor yb = train.y.index_select(0, idx);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    loss_sum += loss.item<double>();
    ++batches;
  }
  const auto t1 = std::chrono::steady_clock::now();
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.cpu_seconds = tp::process_cpu_seconds() - c0;
  r.mean_loss = loss_sum / static_cast<double>(batches);
  torch::NoGradGuard no_grad;
  const torch::Tensor predicted = model->forward(test.x).argmax(1);
  r.accuracy = 100.0 * predicted.eq(test.y).sum().item<double>() / static_cast<double>(test.y.size(0));
  return r;
}

int run_one(int threads, std::int64_t batch, int epochs, bool quick, bool json, bool child) {
  const std::string threading = tp::set_threads(threads);
  const std::filesystem::path dir = tg::nn::fashion_mnist_dir();
  const Split train = to_tensors(tg::nn::load_fashion_mnist(dir, true), quick ? wl::kQuickTrain : 60000);
  const Split test = to_tensors(tg::nn::load_fashion_mnist(dir, false), quick ? wl::kQuickTest : 10000);
  const std::int64_t n = train.x.size(0);
  const std::vector<std::int64_t> perm = tg::nn::BatchSampler::permutation(n, wl::kShuffleSeed, 0);
  const torch::Tensor order = torch::tensor(perm, torch::kInt64);
  wl::Samples s;
  s.rss_before_training = tp::peak_rss_mib();

  torch::manual_seed(0);
  torch::nn::Sequential model = make_mlp();
  std::vector<torch::Tensor> init;
  for (const auto& p : model->parameters()) init.push_back(p.detach().clone());

  wl::GemmFloor floor(n, batch);
  s.flop = floor.flop();
  for (int e = 0; e < epochs; ++e) {
    {
      torch::NoGradGuard no_grad;
      const auto params = model->parameters();
      for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(init[i]);
    }
    const EpochResult r = train_epoch(model, train, test, order, batch);
    s.seconds.push_back(r.seconds);
    s.cpu_seconds.push_back(r.cpu_seconds);
    s.accuracy.push_back(r.accuracy);
    s.train_loss = r.mean_loss;
    const auto [wall, cpu] = floor.run();
    s.floor_seconds.push_back(wall);
    s.floor_cpu_seconds.push_back(cpu);
  }

  tgbench::Report report(json);
  wl::report_samples(report, wl::bench_name(static_cast<int>(batch), threads), "libtorch", s);
  return wl::finish_report(report, std::string("LibTorch ") + TORCH_VERSION + ", " + threading, epochs, quick,
                           child);
}

}  // namespace

int main(int argc, char** argv) { return wl::bench_main(argc, argv, "bench_torch_mnist", run_one); }
