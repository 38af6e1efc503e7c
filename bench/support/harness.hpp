// Shared plumbing of the bench programs: command line, alternating timed repetitions with medians, and the
// two output forms (a table for people, JSON lines with --json).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tgbench {

/// What every bench program accepts: `--json` (JSON lines instead of the table), `--reps N` (timed
/// repetitions per contender, at least 5; the median is reported) and `--only WORD` (run only the
/// benches whose name contains WORD, for profiling one of them).
struct Options {
  bool json = false;
  int reps = 7;
  std::string only;
  /// True when the bench called `name` is selected by --only.
  bool selected(const std::string& name) const { return name.find(only) != std::string::npos; }
};

/// Parses the common options; exits with a usage line on anything else.
inline Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      o.json = true;
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      o.reps = std::max(5, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      o.only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--json] [--reps N (>= 5)] [--only WORD]\n", argv[0]);
      std::exit(2);
    }
  }
  return o;
}

/// The median of a non-empty sample.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Seconds of one call of f, measured over `inner` back-to-back calls.
template <class F>
double seconds_per_call(F& f, int inner) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < inner; ++i) f();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(t1 - t0).count() / inner;
}

/// One timed thing: a name and a call. The call should leave its result where the compiler cannot
/// drop it (a volatile sink or a checked output).
struct Contender {
  std::string name;
  std::function<void()> run;
};

/// Times the contenders in alternation, `reps` times each, so that a slow phase of a shared machine hits
/// all of them alike. Each sample repeats the call enough times to last about `sample_s` seconds (found
/// from a warm-up call, which also brings the memory of a recorded tape to its steady size). Returns the
/// median seconds per call, in the contenders' order.
inline std::vector<double> time_alternating(std::vector<Contender>& cs, int reps, double sample_s = 0.02) {
  std::vector<int> inner(cs.size());
  for (std::size_t c = 0; c < cs.size(); ++c) {
    cs[c].run();  // warm-up: first-touch page faults and tape growth are not steady-state costs
    const double once = seconds_per_call(cs[c].run, 1);
    inner[c] = static_cast<int>(std::clamp(sample_s / std::max(once, 1e-9), 1.0, 1e6));
  }
  std::vector<std::vector<double>> samples(cs.size());
  for (int r = 0; r < reps; ++r) {
    for (std::size_t c = 0; c < cs.size(); ++c) samples[c].push_back(seconds_per_call(cs[c].run, inner[c]));
  }
  std::vector<double> out;
  for (auto& s : samples) out.push_back(median(s));
  return out;
}

/// Largest relative error max_i |got_i - ref_i| / max(1, |ref_i|); NaN anywhere counts as infinite, so a
/// gradient that is NaN can never pass.
inline double max_rel_err(const std::vector<double>& got, const std::vector<double>& ref) {
  if (got.size() != ref.size()) return INFINITY;
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(got[i] - ref[i]) / std::max(1.0, std::abs(ref[i]));
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
  }
  return worst;
}

/// Collects (bench, metric, value, unit) rows and prints them as a table or as JSON lines.
class Report {
 public:
  explicit Report(bool json) : json_(json) {}

  /// Adds one measurement.
  void add(std::string bench, std::string metric, double value, std::string unit) {
    rows_.push_back({std::move(bench), std::move(metric), value, std::move(unit)});
  }
  /// Adds a free-text note (printed under the table; omitted from the JSON).
  void note(std::string text) { notes_.push_back(std::move(text)); }

  /// Prints everything collected to stdout.
  void print() const {
    if (json_) {
      for (const auto& r : rows_) {
        // JSON has no infinity or NaN: such a value (a failed check's error, say) is written as null.
        char value[32];
        if (std::isfinite(r.value)) {
          std::snprintf(value, sizeof value, "%.6g", r.value);
        } else {
          std::snprintf(value, sizeof value, "null");
        }
        std::printf("{\"bench\": \"%s\", \"metric\": \"%s\", \"value\": %s, \"unit\": \"%s\"}\n",
                    r.bench.c_str(), r.metric.c_str(), value, r.unit.c_str());
      }
      return;
    }
    std::printf("%-24s %-34s %14s  %s\n", "bench", "metric", "value", "unit");
    std::printf("%s\n", std::string(80, '-').c_str());
    for (const auto& r : rows_) {
      std::printf("%-24s %-34s %14.4g  %s\n", r.bench.c_str(), r.metric.c_str(), r.value, r.unit.c_str());
    }
    for (const auto& n : notes_) std::printf("note: %s\n", n.c_str());
  }

 private:
  struct Row {
    std::string bench;
    std::string metric;
    double value;
    std::string unit;
  };
  bool json_;
  std::vector<Row> rows_;
  std::vector<std::string> notes_;
};

}  // namespace tgbench
