// Plumbing shared by the bench programs that run one child process per configuration (tapegrad's and
// LibTorch's Fashion-MNIST epochs, the LibTorch tensor peer): flags taken out of argv, OpenBLAS's thread
// count, process CPU time and peak RSS, and running this program again as a child whose JSON rows and
// notes are collected. A child per configuration gives each one fresh thread pools and its own peak RSS.
#pragma once

#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace tgbench::child {

/// Removes `flag N` from argv (so that tgbench::parse_options never sees it) and returns N, or
/// `fallback` when the flag is absent. Exits with a usage line when N is missing or not positive.
inline int take_int_flag(int& argc, char** argv, const char* flag, int fallback) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) != 0) continue;
    const int value = i + 1 < argc ? std::atoi(argv[i + 1]) : 0;
    if (value < 1) {
      std::fprintf(stderr, "%s: %s needs a positive integer\n", argv[0], flag);
      std::exit(2);
    }
    for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
    argc -= 2;
    return value;
  }
  return fallback;
}

/// Removes `flag` from argv and says whether it was there.
inline bool take_bool_flag(int& argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) != 0) continue;
    for (int j = i; j + 1 <= argc; ++j) argv[j] = argv[j + 1];
    argc -= 1;
    return true;
  }
  return false;
}

/// Sizes OpenBLAS's pthread pool to n threads, when the BLAS in use is OpenBLAS. It is looked up at run
/// time, since another BLAS may be selected (update-alternatives); without the call OpenBLAS uses every
/// core. Returns a note on what was set.
inline std::string set_blas_threads(int n) {
  using SetThreads = void (*)(int);
  auto* openblas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblas == nullptr) return "BLAS is not OpenBLAS: its threads not set";
  openblas(n);
  return std::to_string(n) + " OpenBLAS threads";
}

/// Called by a parent before it starts its children: unless the user chose otherwise, OpenMP threads
/// sleep instead of spinning while they wait. On a machine with more runnable threads than cores (a
/// shared one), spinning OpenMP workers beside OpenBLAS's threads made a 2-thread Fashion-MNIST epoch
/// 35-50x slower than 1 thread; passive waiting costs a futex wake per parallel region instead.
inline void default_passive_omp_wait() { ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0); }

/// CPU seconds used so far by the whole process (every thread): on a shared machine, a single-threaded
/// run's CPU time is a steadier figure than its wall time, which counts the time other processes had.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB).
inline double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

/// The flag a parent passes to its children: JSON rows followed by notes on marked lines.
inline constexpr const char* kChildFlag = "--child";
/// Marks the lines a child prints for its parent's notes.
inline constexpr const char* kNotePrefix = "# note: ";

/// In a child (JSON mode), prints the notes after the rows so that the parent can pass them on.
inline void print_child_notes(const std::vector<std::string>& notes) {
  for (const auto& n : notes) std::printf("%s%s\n", kNotePrefix, n.c_str());
}

/// Quotes an argument for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

/// Runs this program again as `self --json --child <args>`, collects its rows and notes into `report` (notes
/// deduplicated), and returns whether the child exited with status 0.
inline bool run_child(const std::vector<std::string>& args, Report& report, std::vector<std::string>& notes) {
  // Resolved here: inside popen's shell, /proc/self/exe would name the shell.
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) {
    std::fprintf(stderr, "cannot resolve /proc/self/exe\n");
    return false;
  }
  self[len] = '\0';
  // exec, so that the child's peak RSS is not raised by a shell in between.
  std::string cmd = "exec " + shell_quote(self) + " --json " + kChildFlag;
  for (const auto& a : args) cmd += " " + shell_quote(a);
  std::FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    std::fprintf(stderr, "cannot start %s\n", cmd.c_str());
    return false;
  }
  std::string line;
  char buf[4096];
  bool ok = true;
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    line.pop_back();
    if (line.rfind(kNotePrefix, 0) == 0) {
      const std::string n = line.substr(std::strlen(kNotePrefix));
      bool seen = false;
      for (const auto& m : notes) seen = seen || m == n;
      if (!seen) notes.push_back(n);
    } else if (!line.empty() && line.front() == '{') {
      const auto row = nlohmann::json::parse(line, nullptr, false);
      if (row.is_discarded()) {
        ok = false;
      } else {
        report.add(row.value("bench", "?"), row.value("metric", "?"), row.value("value", 0.0),
                   row.value("unit", "?"));
      }
    }
    line.clear();
  }
  const int status = pclose(pipe);
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// Reps and --only of the parent, passed on to each child.
inline std::vector<std::string> forwarded_options(const Options& opt) {
  std::vector<std::string> args = {"--reps", std::to_string(opt.reps)};
  if (!opt.only.empty()) {
    args.push_back("--only");
    args.push_back(opt.only);
  }
  return args;
}

}  // namespace tgbench::child
