// The Fashion-MNIST epoch workload, written once for tapegrad's bench_mnist and LibTorch's
// bench_torch_mnist so that both train the same network on the same data in the same order: sizes,
// normalisation, optimiser settings, the configurations run, and the GEMM floor (the epoch's matrix
// products run as bare cblas_sgemm calls).
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/child.hpp"
#include "tapegrad/nn/idx.hpp"
#include "tapegrad/nn/io_error.hpp"

namespace tgbench::mnist {

inline constexpr std::int64_t kPixels = 784;
/// Mean and deviation of the training pixels scaled to [0, 1]: inputs are (p / 255 - kMean) / kStd.
inline constexpr double kMean = 0.2860;
inline constexpr double kStd = 0.3530;
/// The epoch's order is tg::nn::BatchSampler::permutation(n, kShuffleSeed, 0).
inline constexpr std::uint64_t kShuffleSeed = 1;
/// SGD settings.
inline constexpr double kLr = 0.01;
inline constexpr double kMomentum = 0.9;
/// (in, out) of the three Linear layers.
inline constexpr std::array<std::array<int, 2>, 3> kLayers = {{{784, 256}, {256, 256}, {256, 10}}};
/// The batch sizes and thread counts run when none is given.
inline constexpr std::array<int, 2> kBatches = {64, 256};
inline constexpr std::array<int, 2> kThreads = {1, 2};
/// --quick trains on this many images and tests on kQuickTest (for profiling runs).
inline constexpr std::int64_t kQuickTrain = 6000;
inline constexpr std::int64_t kQuickTest = 2000;

/// The bench name of one configuration.
inline std::string bench_name(int batch, int threads) {
  return "mnist_mlp_b" + std::to_string(batch) + "_t" + std::to_string(threads);
}

/// Notes on the workload that both programs print.
inline std::vector<std::string> workload_notes() {
  return {
      "MLP 784-256-256-10, ReLU, cross-entropy, SGD lr 0.01 momentum 0.9, float32, last short batch kept; "
      "pixels / 255 normalised by mean 0.2860 std 0.3530; order: tg::nn::BatchSampler::permutation(60000, 1, "
      "0); each (batch, threads) pair runs in its own process",
      "epoch time = median of the one-epoch runs, each from the same initial weights with a fresh optimiser; "
      "it includes gathering each batch and excludes the test evaluation; *_train_loss = mean batch loss of "
      "the epoch; *_epoch_cpu_time = CPU seconds of all threads (steadier than wall time on a shared "
      "machine)",
      "*_peak_rss = the process's peak RSS (getrusage ru_maxrss) after training and testing, data included; "
      "*_rss_before_training = the same once the data are loaded",
      "gemm floor = the epoch's sgemm calls (Y = X W^T; dW = dY^T X; dX = dY W but for the first layer, whose "
      "input needs no gradient) run bare with cblas at the same shapes and thread count, alternating with the "
      "training epochs (median); *_over_gemm_floor = epoch time / floor (_cpu: the same with CPU times)",
  };
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

  /// Matrix-product flop of one epoch: 2·rows·in·out per product; per layer one forward product and the
  /// weight gradient, plus the input gradient for every layer but the first.
  double flop() const {
    double f = 0.0;
    for (std::size_t l = 0; l < kLayers.size(); ++l) {
      f += (l == 0 ? 4.0 : 6.0) * static_cast<double>(n_) * kLayers[l][0] * kLayers[l][1];
    }
    return f;
  }

  /// Runs one epoch's sgemm calls; returns {wall, CPU} seconds.
  std::pair<double, double> run() {
    const double c0 = child::process_cpu_seconds();
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
    return {std::chrono::duration<double>(t1 - t0).count(), child::process_cpu_seconds() - c0};
  }

 private:
  struct Buffers {
    std::vector<float> x, w, y, dw;  // y holds Y, then stands in for dY
  };
  std::int64_t n_;
  std::int64_t batch_;
  std::vector<Buffers> bufs_;
};

/// What one configuration measured, over its epochs.
struct Samples {
  std::vector<double> seconds, cpu_seconds, floor_seconds, floor_cpu_seconds, accuracy;
  double train_loss = 0.0;
  double rss_before_training = 0.0;
  double flop = 0.0;
};

/// Adds one configuration's rows under `engine`_<metric> (the floor's rows carry no engine prefix).
inline void report_samples(Report& report, const std::string& bench, const std::string& engine,
                           const Samples& s) {
  const double epoch_s = median(s.seconds);
  const double epoch_cpu_s = median(s.cpu_seconds);
  const double floor_s = median(s.floor_seconds);
  const double floor_cpu_s = median(s.floor_cpu_seconds);
  report.add(bench, engine + "_epoch_time", epoch_s, "s");
  report.add(bench, engine + "_epoch_cpu_time", epoch_cpu_s, "s");
  report.add(bench, engine + "_test_accuracy", median(s.accuracy), "%");
  report.add(bench, engine + "_train_loss", s.train_loss, "1");
  report.add(bench, engine + "_peak_rss", child::peak_rss_mib(), "MiB");
  report.add(bench, engine + "_rss_before_training", s.rss_before_training, "MiB");
  report.add(bench, "epoch_gemm_flop", s.flop / 1e9, "GFLOP");
  report.add(bench, "gemm_floor_time", floor_s, "s");
  report.add(bench, "gemm_floor_cpu_time", floor_cpu_s, "s");
  report.add(bench, "gemm_floor_rate", s.flop / floor_s / 1e9, "GFLOP/s");
  report.add(bench, engine + "_over_gemm_floor", epoch_s / floor_s, "x");
  report.add(bench, engine + "_over_gemm_floor_cpu", epoch_cpu_s / floor_cpu_s, "x");
}

/// The parent's loop: runs this program once per selected (batch, threads) configuration as a child
/// (`--batch B --threads T --epochs E` plus the forwarded options and `extra`), then prints everything
/// collected. Returns the exit status.
inline int run_children(const Options& opt, int batch, int threads, int epochs,
                        const std::vector<std::string>& extra) {
  child::default_passive_omp_wait();
  Report report(opt.json);
  std::vector<std::string> notes;
  bool ok = true;
  const std::vector<int> batches = batch > 0 ? std::vector<int>{batch} : std::vector<int>(kBatches.begin(), kBatches.end());
  const std::vector<int> threads_list =
      threads > 0 ? std::vector<int>{threads} : std::vector<int>(kThreads.begin(), kThreads.end());
  for (const int b : batches) {
    for (const int t : threads_list) {
      if (!opt.selected(bench_name(b, t))) continue;
      std::vector<std::string> args = child::forwarded_options(opt);
      for (const auto& a : {std::string("--batch"), std::to_string(b), std::string("--threads"),
                            std::to_string(t), std::string("--epochs"), std::to_string(epochs)}) {
        args.push_back(a);
      }
      args.insert(args.end(), extra.begin(), extra.end());
      ok = child::run_child(args, report, notes) && ok;
    }
  }
  for (const auto& n : notes) report.note(n);
  report.print();
  return ok ? 0 : 1;
}

/// Ends one configuration's run: notes who ran it (`who`, e.g. "tapegrad, 1 thread"), the shared workload
/// notes and `extra`, prints the report, and hands the notes to the parent when running as a child.
inline int finish_report(Report& report, const std::string& who, int epochs, bool quick, bool is_child,
                         const std::vector<std::string>& extra = {}) {
  std::vector<std::string> notes = {who + "; " + std::to_string(epochs) + " one-epoch runs per configuration" +
                                    (quick ? "; --quick: 6,000 training and 2,000 test images" : "")};
  for (const auto& note : workload_notes()) notes.push_back(note);
  notes.insert(notes.end(), extra.begin(), extra.end());
  for (const auto& note : notes) report.note(note);
  report.print();
  if (is_child) child::print_child_notes(notes);
  return 0;
}

/// The main() of a Fashion-MNIST epoch bench (tapegrad's and each peer's): takes `--threads`, `--batch`,
/// `--epochs` (at least 3), `--quick` and the child flag, exits 0 with a note when the data package is
/// missing, and then either measures one configuration, `run_one(threads, batch, epochs, quick, json,
/// child)`, or runs every selected configuration as a child process.
template <class RunOne>
int bench_main(int argc, char** argv, const char* program, RunOne run_one) {
  const int threads = child::take_int_flag(argc, argv, "--threads", 0);
  const int batch = child::take_int_flag(argc, argv, "--batch", 0);
  const int epochs = std::max(3, child::take_int_flag(argc, argv, "--epochs", 3));
  const bool quick = child::take_bool_flag(argc, argv, "--quick");
  const bool is_child = child::take_bool_flag(argc, argv, child::kChildFlag);
  const Options opt = parse_options(argc, argv);
  try {
    tg::nn::fashion_mnist_dir();
  } catch (const tg::nn::IoError& e) {
    std::fprintf(stderr, "%s: skipped: %s\n", program, e.what());
    return 0;
  }
  if (threads > 0 && batch > 0) {
    try {
      return run_one(threads, batch, epochs, quick, opt.json, is_child);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", program, e.what());
      return 1;
    }
  }
  return run_children(opt, batch, threads, epochs,
                      quick ? std::vector<std::string>{"--quick"} : std::vector<std::string>{});
}

}  // namespace tgbench::mnist
