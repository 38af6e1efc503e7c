// One Fashion-MNIST epoch with tg::nn, workload for workload the same as LibTorch's bench_torch_mnist
// (support/mnist_workload.hpp holds what both share): an MLP 784-256-256-10 with ReLU, cross-entropy and
// SGD (lr 0.01, momentum 0.9), float32, one epoch over the 60,000 training images at batch 64 and at batch
// 256, then the accuracy on the 10,000 test images. Reports seconds per epoch (median of several one-epoch
// runs from the same initial weights in the same shuffled order), test accuracy, peak RSS, the epoch's
// GEMM floor (its matrix products as bare cblas_sgemm calls, timed in alternation with the epochs) and
// where the epoch's time goes (gathering batches, forward, backward, optimiser step).
//
// Without --threads/--batch it runs itself once per (batch, threads) pair, threads 1 and 2, as a child
// process, so that each pair has its own peak RSS, as the LibTorch peer does. The thread count sizes
// OpenBLAS's pool (tapegrad has no pool of its own). --quick trains on 6,000 images and tests on 2,000
// (for profiling, e.g. valgrind --tool=callgrind bench_mnist --quick --batch 64 --threads 1).
// Without the data (Debian package dataset-fashion-mnist) it says so on stderr and exits 0.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "support/child.hpp"
#include "support/harness.hpp"
#include "support/mnist_workload.hpp"
#include "tapegrad/nn/data_tensor.hpp"
#include "tapegrad/nn/idx.hpp"
#include "tapegrad/nn/io_error.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/nn/optim.hpp"

namespace {

namespace ch = tgbench::child;
namespace wl = tgbench::mnist;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// A split as a dataset of normalised float32 pixels [n, 784] and int64 labels [n], its first `limit` rows.
tg::nn::TensorDataset load_split(const std::filesystem::path& dir, bool train, std::int64_t limit) {
  const tg::nn::TensorDataset full = tg::nn::fashion_mnist_tensors(dir, train);
  tg::Tensor x = full.features();  // pixels / 255, normalised in place as in the LibTorch peer
  x.sub_(wl::kMean).div_(wl::kStd);
  const std::int64_t n = std::min(limit, full.size());
  return {tg::narrow(x, 0, 0, n), tg::narrow(full.targets(), 0, 0, n)};
}

/// What one epoch gave, with the wall time of each phase of its steps.
struct EpochResult {
  double seconds = 0.0;
  double cpu_seconds = 0.0;
  double mean_loss = 0.0;
  double accuracy = 0.0;  // percent, on the test split
  double batch_s = 0.0, forward_s = 0.0, backward_s = 0.0, step_s = 0.0;
};

/// Trains `model` for one epoch over the loader's batches, then evaluates on the test split.
EpochResult train_epoch(tg::nn::MLP& model, tg::nn::DataLoader& loader, const tg::nn::TensorDataset& test) {
  tg::nn::SGD sgd(model.parameters(), {.lr = wl::kLr, .momentum = wl::kMomentum});
  EpochResult r;
  double loss_sum = 0.0;
  const std::int64_t batches = loader.size();
  const double c0 = ch::process_cpu_seconds();
  const auto t0 = Clock::now();
  for (std::int64_t i = 0; i < batches; ++i) {
    const auto p0 = Clock::now();
    const tg::nn::Batch b = loader.batch(i);
    const auto p1 = Clock::now();
    tg::ScopedTape tape;
    const tg::Tensor loss = tg::nn::functional::cross_entropy(model.forward(b.x), b.y);
    const auto p2 = Clock::now();
    sgd.zero_grad();
    loss.backward();
    const auto p3 = Clock::now();
    sgd.step();
    loss_sum += loss.item();
    const auto p4 = Clock::now();
    r.batch_s += std::chrono::duration<double>(p1 - p0).count();
    r.forward_s += std::chrono::duration<double>(p2 - p1).count();
    r.backward_s += std::chrono::duration<double>(p3 - p2).count();
    r.step_s += std::chrono::duration<double>(p4 - p3).count();
  }
  r.seconds = since(t0);
  r.cpu_seconds = ch::process_cpu_seconds() - c0;
  r.mean_loss = loss_sum / static_cast<double>(batches);
  tg::NoGradGuard no_grad;
  const std::vector<std::int64_t> predicted = tg::argmax(model.forward(test.features()), 1).to_vector<std::int64_t>();
  const std::vector<std::int64_t> labels = test.targets().to_vector<std::int64_t>();
  std::int64_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
  r.accuracy = 100.0 * static_cast<double>(right) / static_cast<double>(labels.size());
  return r;
}

int run_one(int threads, std::int64_t batch, int epochs, bool quick, bool json, bool child) {
  const std::string threading = ch::set_blas_threads(threads);
  const std::filesystem::path dir = tg::nn::fashion_mnist_dir();
  const tg::nn::TensorDataset test = load_split(dir, false, quick ? wl::kQuickTest : 10000);
  tg::nn::DataLoader loader(load_split(dir, true, quick ? wl::kQuickTrain : 60000),
                            {.batch_size = batch, .shuffle = true, .seed = wl::kShuffleSeed});
  const std::int64_t n = loader.dataset().size();
  wl::Samples s;
  s.rss_before_training = ch::peak_rss_mib();

  tg::manual_seed(0);
  tg::nn::MLP model({.sizes = {784, 256, 256, 10}, .activation = "relu"});
  std::vector<tg::Tensor> init;
  for (const tg::Tensor& p : model.parameters()) init.push_back(p.detach().clone());

  wl::GemmFloor floor(n, batch);
  s.flop = floor.flop();
  std::vector<double> batch_s, forward_s, backward_s, step_s;
  for (int e = 0; e < epochs; ++e) {
    {
      tg::NoGradGuard no_grad;
      const std::vector<tg::Tensor> params = model.parameters();
      for (std::size_t i = 0; i < params.size(); ++i) {
        tg::Tensor p = params[i];
        p.copy_(init[i]);
      }
    }
    const EpochResult r = train_epoch(model, loader, test);
    s.seconds.push_back(r.seconds);
    s.cpu_seconds.push_back(r.cpu_seconds);
    s.accuracy.push_back(r.accuracy);
    s.train_loss = r.mean_loss;
    batch_s.push_back(r.batch_s);
    forward_s.push_back(r.forward_s);
    backward_s.push_back(r.backward_s);
    step_s.push_back(r.step_s);
    const auto [wall, cpu] = floor.run();
    s.floor_seconds.push_back(wall);
    s.floor_cpu_seconds.push_back(cpu);
  }

  tgbench::Report report(json);
  const std::string name = wl::bench_name(static_cast<int>(batch), threads);
  wl::report_samples(report, name, "tapegrad", s);
  report.add(name, "tapegrad_batch_time", tgbench::median(batch_s), "s");
  report.add(name, "tapegrad_forward_time", tgbench::median(forward_s), "s");
  report.add(name, "tapegrad_backward_time", tgbench::median(backward_s), "s");
  report.add(name, "tapegrad_step_time", tgbench::median(step_s), "s");
  return wl::finish_report(
      report, "tapegrad, " + threading, epochs, quick, child,
      {"tapegrad phases of the epoch's steps (wall, medians): batch = DataLoader gathering the rows, "
       "forward = model + cross_entropy (recorded on a ScopedTape), backward = zero_grad + backward, "
       "step = SGD step + reading the loss"});
}

}  // namespace

int main(int argc, char** argv) { return wl::bench_main(argc, argv, "bench_mnist", run_one); }
