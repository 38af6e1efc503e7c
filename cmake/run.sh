#!/usr/bin/env bash
# The README's two commands:
#   bash cmake/run.sh example   set up, build (Release) and run the flagship example
#   bash cmake/run.sh test      set up, build and run the whole suite in Release, then under ASan + UBSan
# Extra arguments after `example` go to the example program.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
shift || true
jobs="$(nproc 2>/dev/null || echo 2)"

bash cmake/setup.sh

configure_and_build() {  # dir, extra cmake args...
  local dir="$1"
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

case "$mode" in
  example)
    configure_and_build build/release
    ./build/release/examples/backprop_walkthrough "$@"
    ;;
  test)
    configure_and_build build/release -DTG_WERROR=ON
    (cd build/release && ctest --output-on-failure -j "$jobs")
    # The sanitizer build skips the benchmarks: they are measured in Release only.
    configure_and_build build/sanitize -DTG_WERROR=ON -DTG_SANITIZE=ON -DTG_BUILD_BENCH=OFF
    (cd build/sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$jobs")
    ;;
  *)
    echo "usage: bash cmake/run.sh example|test" >&2
    exit 2
    ;;
esac
