// Memory of a large scalar tape: records 10^7 binary ops, sweeps them back, and reports the peak resident
// set (getrusage) and the bytes each op costs, against the budget the tape layout promises.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "support/harness.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

// Peak resident set of this process so far, in bytes (Linux reports ru_maxrss in KiB).
double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  tgbench::Report report(opt.json);
  constexpr std::int64_t kOps = 10'000'000;
  // Layout (tape.hpp): a binary statement is an opcode byte, a 32-bit argument end, and per argument a
  // 32-bit slot and a double partial: 29 bytes. Doubling growth can leave up to as much again unused, and
  // the sweep adds an adjoint and a gradient (8 bytes each) per slot.
  constexpr double kLayout = 1 + 4 + 2 * (4 + 8);
  constexpr double kBudget = 2 * kLayout + 16;
  const double rss_before = peak_rss_bytes();
  double recorded_bytes = 0;
  double record_s = 0;
  double backward_s = 0;
  double grad = 0;
  {
    tg::ScopedTape scope;
    const tg::Var x(1.0);
    const tg::Var c(1.0 + 1e-9);
    tg::Var acc = x;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < kOps; ++i) acc = acc * c;
    record_s = seconds_since(t0);
    recorded_bytes = static_cast<double>(scope.tape().bytes());
    const auto t1 = std::chrono::steady_clock::now();
    acc.backward();
    backward_s = seconds_since(t1);
    grad = x.grad();
  }
  const double rss_peak = peak_rss_bytes();
  const double per_op = (rss_peak - rss_before) / static_cast<double>(kOps);
  report.add("tape_memory", "ops", static_cast<double>(kOps), "1");
  report.add("tape_memory", "peak_rss", rss_peak / (1 << 20), "MiB");
  report.add("tape_memory", "peak_rss_growth_per_op", per_op, "B");
  report.add("tape_memory", "recorded_bytes_per_op", recorded_bytes / static_cast<double>(kOps), "B");
  report.add("tape_memory", "layout_bytes_per_binary_op", kLayout, "B");
  report.add("tape_memory", "budget_bytes_per_op", kBudget, "B");
  report.add("tape_memory", "record_ns_per_op", record_s * 1e9 / static_cast<double>(kOps), "ns");
  report.add("tape_memory", "backward_ns_per_op", backward_s * 1e9 / static_cast<double>(kOps), "ns");
  report.note("peak RSS growth from before recording to after backward, over 10^7 recorded a*c ops; budget = "
              "2 x layout (doubling slack) + 16 B (adjoint and gradient per slot)");
  report.note("gradient check: d(x c^n)/dx = " + std::to_string(grad));
  report.print();
  return per_op <= kBudget ? 0 : 1;
}
