// Tensor benchmark: (a) per-op overhead on the 2-2-2 worked example trained with SGD in tensor form,
// (b) matmul forward+backward against raw cblas_sgemm, (c) elementwise bandwidth against a plain loop,
// (d) heap allocations per steady-state training step. Medians of several runs; --json for JSON lines.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

// --- allocation counter: every operator new in the process (the tensor allocator goes through it) ----
namespace {
std::atomic<long> g_allocs{0};
}

void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  const auto al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  bool json = false;
  int reps = 5;
  std::string only;
};

Options g_opts;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU time of this thread: on a shared, oversubscribed machine it excludes the time spent descheduled.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void report(const std::string& bench, const std::string& metric, double value, const char* unit) {
  if (g_opts.json) {
    std::printf("{\"bench\": \"%s\", \"metric\": \"%s\", \"value\": %.10g, \"unit\": \"%s\"}\n", bench.c_str(),
                metric.c_str(), value, unit);
  } else {
    std::printf("  %-38s %-28s %22.16g %s\n", bench.c_str(), metric.c_str(), value, unit);
  }
}

// (a) + (d): the worked example, W1 and W2 trained, biases fixed.
struct Net222 {
  tg::Tensor w1, w2, x, t;
  Net222() { init(); }
  void init() {
    const tg::TensorOptions p{.dtype = tg::kFloat64, .requires_grad = true};
    w1 = tg::tensor({{0.15, 0.20}, {0.25, 0.30}}, p);
    w2 = tg::tensor({{0.40, 0.45}, {0.50, 0.55}}, p);
    x = tg::tensor({0.05, 0.10}, {.dtype = tg::kFloat64});
    t = tg::tensor({0.01, 0.99}, {.dtype = tg::kFloat64});
  }
  tg::Tensor loss() const {
    const tg::Tensor h = tg::sigmoid(tg::matmul(w1, x) + 0.35);
    const tg::Tensor o = tg::sigmoid(tg::matmul(w2, h) + 0.60);
    const tg::Tensor d = t - o;
    return 0.5 * (d * d).sum();
  }
  void step(tg::Tape& tape) {
    tape.reset();
    loss().backward();
    tg::NoGradGuard ng;
    w1.sub_(w1.grad(), 0.5);
    w2.sub_(w2.grad(), 0.5);
    w1.zero_grad();
    w2.zero_grad();
  }
};

void bench_222() {
  const int steps = 10000;
  std::vector<double> us;
  std::vector<double> cpu_us;
  double final_e = 0;
  double allocs_per_step = 0;
  tg::ScopedTape scope;
  Net222 net;
  for (int r = 0; r < g_opts.reps; ++r) {
    net.init();
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    for (int s = 0; s < steps; ++s) net.step(scope.tape());
    cpu_us.push_back((thread_cpu_seconds() - c0) / steps * 1e6);
    us.push_back(seconds_since(t0) / steps * 1e6);
    scope.tape().reset();
    final_e = net.loss().item();
  }
  // (d) steady state: after the runs above every buffer size has been seen once.
  const long before = g_allocs.load();
  for (int s = 0; s < steps; ++s) net.step(scope.tape());
  allocs_per_step = static_cast<double>(g_allocs.load() - before) / steps;
  report("tensor_222_sgd", "time_per_step", median(us), "us");
  report("tensor_222_sgd", "cpu_time_per_step", median(cpu_us), "us");
  report("tensor_222_sgd", "final_E", final_e, "");
  report("tensor_222_sgd", "final_E_reference", 3.510187782978859e-05, "");
  report("tensor_222_sgd", "libtorch_1.13_time_per_step", 55.0, "us");
  report("tensor_alloc", "heap_allocs_per_step_222", allocs_per_step, "allocs");
}

// (d) on a bigger model: a 2-layer MLP on a batch, with softmax cross-entropy written in tensor ops.
void bench_alloc_mlp() {
  tg::Generator gen(3);
  const tg::TensorOptions p{.requires_grad = true};
  tg::Tensor w1 = tg::randn({32, 64}, p, &gen);
  tg::Tensor w2 = tg::randn({64, 10}, p, &gen);
  tg::Tensor b1 = tg::zeros({64}, p);
  const tg::Tensor xb = tg::randn({16, 32}, {}, &gen);
  const tg::Tensor yb = tg::one_hot(tg::randint(0, 10, {16}, {.dtype = tg::kInt64}, &gen), 10, tg::kFloat32);
  tg::ScopedTape scope;
  auto step = [&] {
    scope.tape().reset();
    const tg::Tensor h = tg::relu(tg::matmul(xb, w1) + b1);
    const tg::Tensor logp = tg::log_softmax(tg::matmul(h, w2), 1);
    const tg::Tensor loss = -(logp * yb).sum() / 16.0;
    loss.backward();
    tg::NoGradGuard ng;
    for (tg::Tensor* w : {&w1, &w2, &b1}) {
      w->sub_(w->grad(), 0.01);
      w->zero_grad();
    }
  };
  for (int i = 0; i < 10; ++i) step();
  const int steps = 1000;
  const long before = g_allocs.load();
  const auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double us = seconds_since(t0) / steps * 1e6;
  report("tensor_alloc", "heap_allocs_per_step_mlp", static_cast<double>(g_allocs.load() - before) / steps, "allocs");
  report("tensor_mlp_32x64x10_b16", "time_per_step", us, "us");
}

// (b) C = A B and its backward (g Bᵀ, Aᵀ g): 3 GEMMs of 2n³ flops, against 3 raw sgemm calls.
void bench_matmul() {
  for (const std::int64_t n : {64, 256, 1024}) {
    tg::Generator gen(1);
    tg::Tensor a = tg::randn({n, n}, {.requires_grad = true}, &gen);
    tg::Tensor b = tg::randn({n, n}, {.requires_grad = true}, &gen);
    const tg::Tensor seed = tg::ones({n, n});
    std::vector<float> ra(static_cast<std::size_t>(n * n), 1.0f), rb = ra, rc = ra;
    const int inner = n <= 64 ? 200 : (n <= 256 ? 20 : 2);
    tg::ScopedTape scope;
    auto ours = [&] {
      scope.tape().reset();
      a.zero_grad();
      b.zero_grad();
      tg::matmul(a, b).backward(seed);
    };
    auto raw = [&] {
      const int N = static_cast<int>(n);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, ra.data(), N, rb.data(), N, 0.0f,
                  rc.data(), N);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, N, 1.0f, rc.data(), N, rb.data(), N, 0.0f,
                  ra.data(), N);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, N, 1.0f, rc.data(), N, rb.data(), N, 0.0f,
                  ra.data(), N);
    };
    ours();
    raw();
    std::vector<double> t_ours, t_raw;
    for (int r = 0; r < g_opts.reps; ++r) {
      auto t0 = Clock::now();
      for (int i = 0; i < inner; ++i) ours();
      t_ours.push_back(seconds_since(t0) / inner);
      t0 = Clock::now();
      for (int i = 0; i < inner; ++i) raw();
      t_raw.push_back(seconds_since(t0) / inner);
    }
    const double flops = 3.0 * 2.0 * static_cast<double>(n * n * n);
    const double g_ours = flops / median(t_ours) * 1e-9;
    const double g_raw = flops / median(t_raw) * 1e-9;
    const std::string name = "tensor_matmul_fwd_bwd_f32_" + std::to_string(n);
    report(name, "tapegrad", g_ours, "GFLOP/s");
    report(name, "raw_cblas_sgemm", g_raw, "GFLOP/s");
    report(name, "ratio", g_ours / g_raw, "");
  }
}

// (c) elementwise on 10^6 floats, no recording: bytes moved per second, against a plain loop.
void bench_elementwise() {
  const std::int64_t n = 1000000;
  tg::Generator gen(2);
  const tg::Tensor a = tg::randn({n}, {}, &gen);
  const tg::Tensor b = tg::randn({n}, {}, &gen);
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  std::vector<float> out(static_cast<std::size_t>(n));
  volatile float sink = 0;
  struct Case {
    const char* name;
    int operands;  // tensors read
    std::function<tg::Tensor()> ours;
    std::function<void()> loop;
  };
  float* po = out.data();
  std::vector<Case> cases = {
      {"add", 2, [&] { return a + b; }, [&] { for (std::int64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i]; }},
      {"mul", 2, [&] { return a * b; }, [&] { for (std::int64_t i = 0; i < n; ++i) po[i] = pa[i] * pb[i]; }},
      {"mul_scalar", 1, [&] { return a * 1.5; }, [&] { for (std::int64_t i = 0; i < n; ++i) po[i] = pa[i] * 1.5f; }},
      {"relu", 1, [&] { return tg::relu(a); },
       [&] { for (std::int64_t i = 0; i < n; ++i) po[i] = pa[i] < 0.0f ? 0.0f : pa[i]; }},
      {"exp", 1, [&] { return tg::exp(a); }, [&] { for (std::int64_t i = 0; i < n; ++i) po[i] = std::exp(pa[i]); }},
  };
  tg::NoGradGuard ng;
  for (auto& c : cases) {
    std::vector<double> t_ours, t_loop;
    const int inner = 20;
    c.ours();
    c.loop();
    for (int r = 0; r < g_opts.reps; ++r) {
      auto t0 = Clock::now();
      for (int i = 0; i < inner; ++i) sink = sink + c.ours().data_ptr<float>()[7];
      t_ours.push_back(seconds_since(t0) / inner);
      t0 = Clock::now();
      for (int i = 0; i < inner; ++i) {
        c.loop();
        sink = sink + po[7];
      }
      t_loop.push_back(seconds_since(t0) / inner);
    }
    const double bytes = static_cast<double>((c.operands + 1) * n * 4);
    const std::string name = std::string("tensor_elementwise_1e6_f32_") + c.name;
    report(name, "tapegrad", bytes / median(t_ours) * 1e-9, "GB/s");
    report(name, "plain_loop", bytes / median(t_loop) * 1e-9, "GB/s");
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      g_opts.json = true;
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      g_opts.reps = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      g_opts.only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--json] [--reps N] [--only WORD]\n", argv[0]);
      return 2;
    }
  }
  auto selected = [](const char* name) { return std::string(name).find(g_opts.only) != std::string::npos; };
  if (!g_opts.json) std::printf("tapegrad tensor benchmark (medians of %d runs)\n", g_opts.reps);
  if (selected("222")) bench_222();
  if (selected("alloc")) bench_alloc_mlp();
  if (selected("matmul")) bench_matmul();
  if (selected("elementwise")) bench_elementwise();
  return 0;
}
