// LibTorch peer of the tensor benchmarks: (a) the worked 2-2-2 network trained for 10,000 SGD steps in
// float64 (µs per step, final error checked against the exact reference), (b) float32 matmul forward +
// backward at 64, 256 and 1024 square (GFLOP/s, beside raw cblas_sgemm doing the same three products) and
// (c) elementwise add, mul, sigmoid and relu on 10^6 floats (GB/s). Without --threads it runs itself once
// per thread count (1 and 2), with OMP_WAIT_POLICY=PASSIVE unless set (see torch_support.hpp); bench names
// end in _t<threads>.
#include <cblas.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "peers/torch_support.hpp"

namespace {

namespace tp = tgbench::torchpeer;

constexpr int kSteps = 10000;
constexpr double kEta = 0.5;
// E_total after 10,000 updates in exact double, as asserted by tests/examples/test_walkthrough.cpp.
constexpr double kFinalE = 3.510187782978859e-05;
constexpr double kFinalETol = 1e-12;

// ---- (a) the worked 2-2-2 network ---------------------------------------------------------------------

/// The network of the worked example as two 2x2 weight matrices; the biases are fixed scalars.
struct Net222 {
  torch::Tensor x, t, w1, w2;
  double b1 = 0.35;
  double b2 = 0.60;

  Net222() {
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    x = torch::tensor({0.05, 0.10}, f64);
    t = torch::tensor({0.01, 0.99}, f64);
    // Row j holds the weights into hidden/output neuron j: [[w1, w2], [w3, w4]] and [[w5, w6], [w7, w8]].
    w1 = torch::tensor({0.15, 0.20, 0.25, 0.30}, f64).reshape({2, 2}).requires_grad_();
    w2 = torch::tensor({0.40, 0.45, 0.50, 0.55}, f64).reshape({2, 2}).requires_grad_();
  }

  /// E_total = Σ ½ (out − target)².
  torch::Tensor error() const {
    const torch::Tensor h = torch::sigmoid(torch::mv(w1, x) + b1);
    const torch::Tensor o = torch::sigmoid(torch::mv(w2, h) + b2);
    return 0.5 * (o - t).pow(2).sum();
  }
};

/// Seconds per step of one training run, wall clock and process CPU time.
struct StepTime {
  double wall = 0.0;
  double cpu = 0.0;
};

/// Trains a fresh network for kSteps steps and sets `final_e` to E afterwards. `use_optim` switches
/// between a hand-written update and torch::optim::SGD.
StepTime train_222(bool use_optim, double& final_e) {
  Net222 net;
  torch::optim::SGD sgd({net.w1, net.w2}, torch::optim::SGDOptions(kEta));
  const double c0 = tp::process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 0; step < kSteps; ++step) {
    if (use_optim) {
      sgd.zero_grad();
      net.error().backward();
      sgd.step();
      continue;
    }
    net.error().backward();
    torch::NoGradGuard no_grad;
    for (torch::Tensor* w : {&net.w1, &net.w2}) {
      w->add_(w->grad(), -kEta);
      w->mutable_grad().reset();  // as zero_grad(set_to_none): the next backward stores, not adds
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double c1 = tp::process_cpu_seconds();
  torch::NoGradGuard no_grad;
  final_e = net.error().item<double>();
  return {std::chrono::duration<double>(t1 - t0).count() / kSteps, (c1 - c0) / kSteps};
}

bool bench_222(const tgbench::Options& opt, const std::string& suffix, tgbench::Report& report,
               std::vector<std::string>& notes) {
  const std::string name = "tensor_222_sgd" + suffix;
  if (!opt.selected(name)) return true;
  double e_manual = 0.0;
  double e_optim = 0.0;
  train_222(false, e_manual);  // warm-up: first-call dispatch and allocator caches
  train_222(true, e_optim);
  std::vector<double> manual;
  std::vector<double> manual_cpu;
  std::vector<double> optim;
  for (int r = 0; r < opt.reps; ++r) {
    const StepTime m = train_222(false, e_manual);
    manual.push_back(m.wall);
    manual_cpu.push_back(m.cpu);
    optim.push_back(train_222(true, e_optim).wall);
  }
  const bool ok = std::abs(e_manual - kFinalE) <= kFinalETol && std::abs(e_optim - kFinalE) <= kFinalETol;
  report.add(name, "libtorch_step_time", 1e6 * tgbench::median(manual), "us");
  report.add(name, "libtorch_step_cpu_time", 1e6 * tgbench::median(manual_cpu), "us");
  report.add(name, "libtorch_optim_step_time", 1e6 * tgbench::median(optim), "us");
  report.add(name, "libtorch_final_E", e_manual, "1");
  report.add(name, "libtorch_final_E_error", std::abs(e_manual - kFinalE), "1");
  report.add(name, "libtorch_check", ok ? 1.0 : 0.0, "ok");
  char line[200];
  std::snprintf(line, sizeof line, "%s: final E %.15e (optim %.15e), reference %.15e: %s", name.c_str(),
                e_manual, e_optim, kFinalE, ok ? "ok" : "FAIL");
  notes.push_back(line);
  return ok;
}

// ---- (b) matmul forward + backward ----------------------------------------------------------------------

void bench_matmul(const tgbench::Options& opt, const std::string& suffix, tgbench::Report& report) {
  for (const std::int64_t n : {64, 256, 1024}) {
    const std::string name = "tensor_matmul_" + std::to_string(n) + suffix;
    if (!opt.selected(name)) continue;
    torch::manual_seed(1);
    torch::Tensor a = torch::randn({n, n}).requires_grad_();
    torch::Tensor b = torch::randn({n, n}).requires_grad_();
    const torch::Tensor g = torch::randn({n, n});
    // The same three products with no framework around them: C = A B, dA = G Bᵀ, dB = Aᵀ G.
    std::vector<float> ra(static_cast<std::size_t>(n * n), 0.5f);
    std::vector<float> rb = ra;
    std::vector<float> rg = ra;
    std::vector<float> rc = ra;
    std::vector<float> rda = ra;
    std::vector<float> rdb = ra;
    const int m = static_cast<int>(n);
    std::vector<tgbench::Contender> cs = {
        {"libtorch",
         [&] {
           torch::mm(a, b).backward(g);
           a.mutable_grad().reset();
           b.mutable_grad().reset();
         }},
        {"cblas",
         [&] {
           cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, ra.data(), m, rb.data(), m,
                       0.0f, rc.data(), m);
           cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, m, 1.0f, rg.data(), m, rb.data(), m,
                       0.0f, rda.data(), m);
           cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, m, m, 1.0f, ra.data(), m, rg.data(), m,
                       0.0f, rdb.data(), m);
         }},
    };
    const std::vector<double> s = tgbench::time_alternating(cs, opt.reps);
    const double flops = 6.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    report.add(name, "libtorch_fwd_bwd", flops / s[0] / 1e9, "GFLOP/s");
    report.add(name, "cblas_fwd_bwd", flops / s[1] / 1e9, "GFLOP/s");
    report.add(name, "libtorch_fwd_bwd_time", 1e6 * s[0], "us");
  }
}

// ---- (c) elementwise ------------------------------------------------------------------------------------

void bench_elementwise(const tgbench::Options& opt, const std::string& suffix, tgbench::Report& report) {
  constexpr std::int64_t kN = 1000000;
  torch::manual_seed(2);
  const torch::Tensor a = torch::randn({kN});
  const torch::Tensor b = torch::randn({kN});
  torch::Tensor out = torch::empty({kN});
  torch::NoGradGuard no_grad;
  struct Op {
    std::string name;
    double arrays;  // arrays of kN floats read + written
    std::function<torch::Tensor()> alloc;
    std::function<void()> into;
  };
  const std::vector<Op> ops = {
      {"add", 3, [&] { return a + b; }, [&] { torch::add_out(out, a, b); }},
      {"mul", 3, [&] { return a * b; }, [&] { torch::mul_out(out, a, b); }},
      {"sigmoid", 2, [&] { return torch::sigmoid(a); }, [&] { torch::sigmoid_out(out, a); }},
      {"relu", 2, [&] { return torch::relu(a); }, [&] { torch::clamp_min_out(out, a, 0.0); }},
  };
  for (const Op& op : ops) {
    const std::string name = "tensor_" + op.name + "_1e6" + suffix;
    if (!opt.selected(name)) continue;
    std::vector<tgbench::Contender> cs = {
        {"alloc", [&] { op.alloc(); }},
        {"out", op.into},
    };
    const std::vector<double> s = tgbench::time_alternating(cs, opt.reps);
    const double bytes = op.arrays * kN * sizeof(float);
    report.add(name, "libtorch_bandwidth", bytes / s[0] / 1e9, "GB/s");
    report.add(name, "libtorch_out_bandwidth", bytes / s[1] / 1e9, "GB/s");
  }
}

int run_one(const tgbench::Options& opt, int threads, bool child) {
  const std::string threading = tp::set_threads(threads);
  tgbench::Report report(opt.json);
  std::vector<std::string> notes;
  const std::string suffix = "_t" + std::to_string(threads);
  const bool ok = bench_222(opt, suffix, report, notes);
  bench_matmul(opt, suffix, report);
  bench_elementwise(opt, suffix, report);
  notes.push_back(std::string("LibTorch ") + TORCH_VERSION + ", " + threading + "; medians of " +
                  std::to_string(opt.reps) + " repetitions");
  notes.push_back("2-2-2: libtorch_step_time updates by hand (grad set to none), libtorch_optim_step_time "
                  "uses torch::optim::SGD; 10,000 steps per repetition; libtorch_step_cpu_time = process CPU "
                  "time per step (steadier than wall time on a shared machine)");
  notes.push_back("matmul: fwd+bwd = C = A B then dA, dB (6 n^3 flop); cblas = the same three sgemm calls");
  notes.push_back("elementwise: bytes = arrays read + written (no write-allocate); libtorch_bandwidth "
                  "allocates the result (a + b), libtorch_out_bandwidth writes into a preallocated tensor");
  for (const auto& n : notes) report.note(n);
  report.print();
  if (child) tp::print_child_notes(notes);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = tp::take_int_flag(argc, argv, "--threads", 0);
  const bool child = tp::take_bool_flag(argc, argv, tp::kChildFlag);
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  if (threads > 0) return run_one(opt, threads, child);
  tp::default_passive_omp_wait();
  tgbench::Report report(opt.json);
  std::vector<std::string> notes;
  bool ok = true;
  for (const int n : {1, 2}) {
    std::vector<std::string> args = tp::forwarded_options(opt);
    args.push_back("--threads");
    args.push_back(std::to_string(n));
    ok = tp::run_child(args, report, notes) && ok;
  }
  for (const auto& n : notes) report.note(n);
  report.print();
  return ok ? 0 : 1;
}
