// Parsing of the example programs' shared command line.
#include "example_args.hpp"

#include <cstdio>
#include <exception>
#include <string_view>

#include <tapegrad/error.hpp>

namespace tg::examples {

ExampleArgs parse_example_args(int argc, const char* const* argv) {
  ExampleArgs args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--quick") {
      args.quick = true;
    } else if (a == "--help" || a == "-h") {
      args.help = true;
    } else if (a == "--out") {
      if (i + 1 >= argc) {
        throw tg::ValueError("--out needs a directory, e.g. --out out/");
      }
      args.out = argv[++i];
    } else if (a.starts_with("--out=")) {
      args.out = std::string(a.substr(6));
    } else {
      throw tg::ValueError("unknown argument '" + std::string(a) + "' (expected --quick, --out DIR, --help)");
    }
  }
  if (args.out.empty()) {
    throw tg::ValueError("--out needs a non-empty directory");
  }
  return args;
}

std::string usage(const std::string& program) {
  return "usage: " + program + " [--quick] [--out DIR]\n"
         "  --quick    run a few steps only (used by the test suite)\n"
         "  --out DIR  write pictures to DIR (default: ./out)\n";
}

int run_example(int argc, const char* const* argv, const char* name, int (*run)(const ExampleArgs&)) {
  try {
    const ExampleArgs args = parse_example_args(argc, argv);
    if (args.help) {
      std::printf("%s", usage(argv[0]).c_str());
      return 0;
    }
    return run(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
}

}  // namespace tg::examples
