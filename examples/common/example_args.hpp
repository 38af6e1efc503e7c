// Command-line options shared by every example program: --quick for CI-sized runs, --out for pictures.
#pragma once

#include <filesystem>
#include <string>

namespace tg::examples {

/// What an example was asked to do.
struct ExampleArgs {
  bool quick = false;                  ///< --quick: a few steps only, for tests and CI
  std::filesystem::path out = "out";   ///< --out DIR: where pictures go (created on first save)
  bool help = false;                   ///< --help or -h was given; the caller prints usage()
};

/// Parses --quick, --out DIR (or --out=DIR) and --help. Throws tg::ValueError naming the argument for
/// anything else, so a typo is not silently ignored.
ExampleArgs parse_example_args(int argc, const char* const* argv);

/// The usage text for `program`.
std::string usage(const std::string& program);

/// The whole main() of an example: parses the arguments, prints usage for --help, runs `run`, and turns
/// any exception into "<name>: message" on stderr with exit status 1.
int run_example(int argc, const char* const* argv, const char* name, int (*run)(const ExampleArgs&));

}  // namespace tg::examples
