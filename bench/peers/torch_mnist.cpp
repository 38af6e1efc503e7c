// LibTorch peer of the Fashion-MNIST benchmark: an MLP 784-256-256-10 with ReLU, cross-entropy and SGD
// (lr 0.01, momentum 0.9) trained for one epoch at batch 64 and at batch 256: seconds per epoch (median of
// several one-epoch runs from the same initial weights and the same shuffled order), test accuracy after
// the epoch, peak RSS, and the epoch's GEMM floor (the same matrix products timed as bare cblas_sgemm
// calls). Without --threads/--batch it runs itself once per (batch, threads) pair, threads 1 and 2, so
// that each pair has fresh thread pools and its own peak RSS, with OMP_WAIT_POLICY=PASSIVE unless set (see
// torch_support.hpp); bench names are mnist_mlp_b<batch>_t<threads>.
#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "peers/torch_support.hpp"
#include "tapegrad/nn/idx.hpp"
#include "tapegrad/nn/loader.hpp"

namespace {

namespace tp = tgbench::torchpeer;

constexpr std::int64_t kPixels = 784;
constexpr double kMean = 0.2860;
constexpr double kStd = 0.3530;
constexpr std::uint64_t kShuffleSeed = 1;
// (in, out) of the three Linear layers.
constexpr std::array<std::array<int, 2>, 3> kLayers = {{{784, 256}, {256, 256}, {256, 10}}};

/// One split as tensors: normalised float pixels [n, 784] and int64 labels [n].
struct Split {
  torch::Tensor x;
  torch::Tensor y;
};

Split to_tensors(tg::nn::ImageDataset&& d) {
  const std::int64_t n = d.images.count;
  Split s;
  s.x = torch::from_blob(d.images.pixels.data(), {n, kPixels}, torch::kUInt8)
            .to(torch::kFloat32)
            .div_(255.0)
            .sub_(kMean)
            .div_(kStd);
  s.y = torch::from_blob(d.labels.data(), {n}, torch::kUInt8).to(torch::kInt64);
  return s;
}

torch::nn::Sequential make_mlp() {
  return torch::nn::Sequential(torch::nn::Linear(kLayers[0][0], kLayers[0][1]), torch::nn::ReLU(),
                               torch::nn::Linear(kLayers[1][0], kLayers[1][1]), torch::nn::ReLU(),
                               torch::nn::Linear(kLayers[2][0], kLayers[2][1]));
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
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
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

/// The GEMM floor of one epoch: every sgemm the three Linear layers need (forward Y = X Wᵀ; backward
/// dW = dYᵀ X and, except for the first layer whose input needs no gradient, dX = dY W), called bare in
/// the order and at the shapes of an epoch. Run in alternation with the training epochs, so that a busy
/// phase of a shared machine slows both alike.
class GemmFloor {
 public:
  GemmFloor(std::int64_t n, std::int64_t batch) : n_(n), batch_(batch) {
    for (const auto& [in, out] : kLayers) {
      Buffers b;
      b.x.assign(static_cast<std::size_t>(batch * in), 0.5f);
      b.w.assign(static_cast<std::size_t>(out) * in, 0.25f);
      b.y.assign(static_cast<std::size_t>(batch * out), 0.5f);
      b.dw.assign(static_cast<std::size_t>(out) * in, 0.0f);
      bufs_.push_back(std::move(b));
    }
  }

  /// Matrix-product flop of one epoch.
  double flop() const {
    double f = 0.0;
    for (std::size_t l = 0; l < kLayers.size(); ++l) {
      f += (l == 0 ? 4.0 : 6.0) * static_cast<double>(n_) * kLayers[l][0] * kLayers[l][1];
    }
    return f;
  }

  /// Runs one epoch's sgemm calls; returns {wall, CPU} seconds.
  std::pair<double, double> run() {
    const double c0 = tp::process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t first = 0; first < n_; first += batch_) {
      const int b = static_cast<int>(std::min(batch_, n_ - first));
      for (std::size_t l = 0; l < kLayers.size(); ++l) {
        const int in = kLayers[l][0];
        const int out = kLayers[l][1];
        Buffers& m = bufs_[l];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, out, in, 1.0f, m.x.data(), in, m.w.data(), in,
                    0.0f, m.y.data(), out);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, b, 1.0f, m.y.data(), out, m.x.data(), in,
                    0.0f, m.dw.data(), in);
        if (l > 0) {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, in, out, 1.0f, m.y.data(), out, m.w.data(),
                      in, 0.0f, m.x.data(), in);
        }
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    return {std::chrono::duration<double>(t1 - t0).count(), tp::process_cpu_seconds() - c0};
  }

 private:
  struct Buffers {
    std::vector<float> x, w, y, dw;  // y holds Y, then stands in for dY
  };
  std::int64_t n_;
  std::int64_t batch_;
  std::vector<Buffers> bufs_;
};

int run_one(int threads, std::int64_t batch, int epochs, bool json, bool child) {
  const std::string threading = tp::set_threads(threads);
  const std::filesystem::path dir = tg::nn::fashion_mnist_dir();
  const Split train = to_tensors(tg::nn::load_fashion_mnist(dir, true));
  const Split test = to_tensors(tg::nn::load_fashion_mnist(dir, false));
  const std::int64_t n = train.x.size(0);
  const std::vector<std::int64_t> perm = tg::nn::BatchSampler::permutation(n, kShuffleSeed, 0);
  const torch::Tensor order = torch::tensor(perm, torch::kInt64);
  const double rss_data = tp::peak_rss_mib();

  torch::manual_seed(0);
  torch::nn::Sequential model = make_mlp();
  std::vector<torch::Tensor> init;
  for (const auto& p : model->parameters()) init.push_back(p.detach().clone());

  GemmFloor floor(n, batch);
  std::vector<double> floor_seconds;
  std::vector<double> floor_cpu_seconds;
  std::vector<double> seconds;
  std::vector<double> cpu_seconds;
  std::vector<double> accuracy;
  EpochResult last;
  for (int e = 0; e < epochs; ++e) {
    {
      torch::NoGradGuard no_grad;
      const auto params = model->parameters();
      for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(init[i]);
    }
    last = train_epoch(model, train, test, order, batch);
    seconds.push_back(last.seconds);
    cpu_seconds.push_back(last.cpu_seconds);
    const auto [wall, cpu] = floor.run();
    floor_seconds.push_back(wall);
    floor_cpu_seconds.push_back(cpu);
    accuracy.push_back(last.accuracy);
  }
  const double rss_peak = tp::peak_rss_mib();
  const double epoch_s = tgbench::median(seconds);
  const double epoch_cpu_s = tgbench::median(cpu_seconds);
  const double floor_s = tgbench::median(floor_seconds);
  const double floor_cpu_s = tgbench::median(floor_cpu_seconds);

  tgbench::Report report(json);
  const std::string name = "mnist_mlp_b" + std::to_string(batch) + "_t" + std::to_string(threads);
  report.add(name, "libtorch_epoch_time", epoch_s, "s");
  report.add(name, "libtorch_epoch_cpu_time", epoch_cpu_s, "s");
  report.add(name, "libtorch_test_accuracy", tgbench::median(accuracy), "%");
  report.add(name, "libtorch_train_loss", last.mean_loss, "1");
  report.add(name, "libtorch_peak_rss", rss_peak, "MiB");
  report.add(name, "libtorch_rss_before_training", rss_data, "MiB");
  report.add(name, "epoch_gemm_flop", floor.flop() / 1e9, "GFLOP");
  report.add(name, "gemm_floor_time", floor_s, "s");
  report.add(name, "gemm_floor_cpu_time", floor_cpu_s, "s");
  report.add(name, "gemm_floor_rate", floor.flop() / floor_s / 1e9, "GFLOP/s");
  report.add(name, "libtorch_over_gemm_floor", epoch_s / floor_s, "x");
  report.add(name, "libtorch_over_gemm_floor_cpu", epoch_cpu_s / floor_cpu_s, "x");
  std::vector<std::string> notes = {
      std::string("LibTorch ") + TORCH_VERSION + ", " + threading + "; epoch time = median of " +
          std::to_string(epochs) + " one-epoch runs from the same initial weights",
      "MLP 784-256-256-10, ReLU, cross-entropy, SGD lr 0.01 momentum 0.9, last short batch kept; pixels / 255 "
      "normalised by mean 0.2860 std 0.3530; order: tg::nn::BatchSampler::permutation(60000, 1, 0)",
      "epoch time includes gathering each batch, excludes the test evaluation; libtorch_train_loss = mean "
      "batch loss of the epoch; libtorch_rss_before_training = peak RSS once the data are loaded; "
      "libtorch_epoch_cpu_time = CPU seconds of all threads (steadier than wall time on a shared machine)",
      "gemm floor = the epoch's sgemm calls (fwd, dW, and dX but for the first layer) run bare with cblas at "
      "the same shapes and thread count, alternating with the training epochs (median); "
      "libtorch_over_gemm_floor = epoch time / floor (_cpu: the same with CPU times)",
  };
  for (const auto& note : notes) report.note(note);
  report.print();
  if (child) tp::print_child_notes(notes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = tp::take_int_flag(argc, argv, "--threads", 0);
  const int batch = tp::take_int_flag(argc, argv, "--batch", 0);
  const int epochs = std::max(3, tp::take_int_flag(argc, argv, "--epochs", 3));
  const bool child = tp::take_bool_flag(argc, argv, tp::kChildFlag);
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  if (threads > 0 && batch > 0) {
    try {
      return run_one(threads, batch, epochs, opt.json, child);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_torch_mnist: %s\n", e.what());
      return 1;
    }
  }
  tp::default_passive_omp_wait();
  tgbench::Report report(opt.json);
  std::vector<std::string> notes;
  bool ok = true;
  for (const int b : batch > 0 ? std::vector<int>{batch} : std::vector<int>{64, 256}) {
    for (const int t : threads > 0 ? std::vector<int>{threads} : std::vector<int>{1, 2}) {
      if (!opt.selected("mnist_mlp_b" + std::to_string(b) + "_t" + std::to_string(t))) continue;
      std::vector<std::string> args = tp::forwarded_options(opt);
      for (const auto& a : {std::string("--batch"), std::to_string(b), std::string("--threads"),
                            std::to_string(t), std::string("--epochs"), std::to_string(epochs)}) {
        args.push_back(a);
      }
      ok = tp::run_child(args, report, notes) && ok;
    }
  }
  for (const auto& n : notes) report.note(n);
  report.print();
  return ok ? 0 : 1;
}
