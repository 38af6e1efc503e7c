#!/usr/bin/env bash
# The README's two commands:
#   bash cmake/run.sh example   set up, build (Release) and run the flagship example
#   bash cmake/run.sh test      set up, build and run the whole suite in Release, then under ASan + UBSan,
#                               then every libFuzzer target for 60 s (TG_FUZZ_SECONDS overrides)
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

# Builds the libFuzzer targets with clang and runs each from its committed seed corpus for
# TG_FUZZ_SECONDS (60) on a scratch copy; a crash, sanitizer report or leak exits non-zero and fails CI.
run_fuzzers() {
  local seconds="${TG_FUZZ_SECONDS:-60}"
  local targets=(fuzz_safetensors fuzz_idx fuzz_tensor_ops)
  local corpora=(safetensors idx tensor_ops)
  CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Release -DTG_FUZZ=ON -DTG_BUILD_BENCH=OFF \
    -DTG_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build/fuzz -j "$jobs" --target "${targets[@]}"
  for i in "${!targets[@]}"; do
    local scratch="build/fuzz/corpus/${corpora[$i]}"
    rm -rf "$scratch"
    mkdir -p "$scratch"
    echo "fuzzing ${targets[$i]} for ${seconds} s"
    (cd build/fuzz && "./tests/fuzz/${targets[$i]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="${targets[$i]}-" "corpus/${corpora[$i]}" "../../tests/fuzz/corpus/${corpora[$i]}")
  done
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
    run_fuzzers
    ;;
  *)
    echo "usage: bash cmake/run.sh example|test" >&2
    exit 2
    ;;
esac
