#!/usr/bin/env bash
# Builds Release and runs every bench program found (bench_* executables: tapegrad's and the optional
# peers'), in alternation, RUNS times each (default 5, at least 5); writes the medians over the runs to
#   bench/results/latest.jsonl  one JSON object per line: bench, metric, value, unit, runs
#   bench/results/latest.md     a markdown table with date, machine and command
# Usage: bash bench/run_all.sh   (env: RUNS=N, BUILD_DIR=dir, JOBS=N; ONLY=WORD runs only the programs whose
# name contains WORD, OUT=name writes bench/results/<name>.{jsonl,md} instead of latest, e.g.
# ONLY=mnist OUT=mnist bash bench/run_all.sh for the Fashion-MNIST epoch of tapegrad and LibTorch alone)
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-5}"
if [ "$runs" -lt 5 ]; then runs=5; fi
build="${BUILD_DIR:-build/bench-release}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
only="${ONLY:-}"
out="${OUT:-latest}"
command="bash bench/run_all.sh"
[ "${RUNS:-}" != "" ] && command="RUNS=$runs $command"
[ "$out" != "latest" ] && command="OUT=$out $command"
[ -n "$only" ] && command="ONLY=$only $command"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTG_BUILD_BENCH=ON -DTG_BUILD_TESTS=OFF \
  -DTG_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j "$jobs" >/dev/null

mapfile -t progs < <(find "$(realpath "$build")/bench" -type f -name "bench_*${only}*" -perm -u+x | sort)
if [ ${#progs[@]} -eq 0 ]; then
  echo "run_all: no bench_* programs under $build/bench" >&2
  exit 1
fi
echo "run_all: ${#progs[@]} programs, $runs runs each: ${progs[*]##*/}"
# The peers are optional (see bench/peers/CMakeLists.txt); say which are missing rather than fail.
missing_peers=""
for peer in "scalar_adolc:libadolc-dev" "scalar_sacado:libtrilinos-sacado-dev libtrilinos-kokkos-dev" \
  "torch_tensor:libtorch-dev" "torch_mnist:libtorch-dev"; do
  name="${peer%%:*}"
  [[ "$name" == *"$only"* ]] || continue
  if [ ! -x "$build/bench/peers/bench_$name" ]; then
    echo "run_all: note: peer $name skipped (not installed: apt-get install ${peer#*:})"
    missing_peers="$missing_peers $name"
  fi
done

# A scratch working directory: some peers (ADOL-C) write tape files into the current directory.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
raw="$scratch/raw.jsonl"
: >"$raw"
failed=()
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
for ((r = 1; r <= runs; r++)); do
  for p in "${progs[@]}"; do
    name="${p##*/}"
    if ! (cd "$scratch" && "$p" --json) >>"$raw" 2>"$scratch/err.txt"; then
      failed+=("$name (run $r)")
    fi
  done
done

mkdir -p bench/results
model="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
cores="$(nproc 2>/dev/null || echo '?')"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
load="${load_before} before, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') after"
python3 - "$raw" "$runs" "$model" "$cores" "$command" "$commit" "$load" "$missing_peers" \
  "${failed[*]:-}" "$out" <<'PY'
import json, statistics, sys, datetime
raw, runs, model, cores, command, commit, load, missing_peers, failed, outname = sys.argv[1:11]
rows = {}
for line in open(raw):
    line = line.strip()
    if not line:
        continue
    o = json.loads(line)
    key = (o["bench"], o["metric"], o["unit"])
    # null stands for a non-finite value (e.g. the error of a failed gradient check)
    rows.setdefault(key, []).append(float("inf") if o["value"] is None else float(o["value"]))
med = {k: statistics.median(v) for k, v in rows.items()}


def json_value(v):
    return v if v == v and abs(v) != float("inf") else None

with open(f"bench/results/{outname}.jsonl", "w") as f:
    for (bench, metric, unit), v in sorted(med.items()):
        f.write(json.dumps({"bench": bench, "metric": metric, "value": json_value(v), "unit": unit,
                            "runs": len(rows[(bench, metric, unit)])}) + "\n")

def fmt(v):
    if v != v or abs(v) == float("inf"):
        return str(v)
    return f"{v:.0f}" if 1e3 <= abs(v) < 1e9 else f"{v:.3g}"

out = []
out.append("# Benchmark results\n")
out.append(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
out.append(f"- machine: {model or 'unknown CPU'}, {cores} cores")
out.append(f"- command: `{command}` (Release build, {runs} runs of each program in alternation; "
           "each value is the median over the runs of each program's median of its own repetitions)")
out.append(f"- commit: {commit}")
out.append(f"- load average (1, 5, 15 min): {load} (a shared machine slows memory-bound workloads most)")
if missing_peers.strip():
    out.append(f"- peers skipped (not installed): {missing_peers.strip()}")
if failed:
    out.append(f"- FAILED (nonzero exit, e.g. a gradient check): {failed}")
out.append("")

# Summary: every "<engine>_ratio" metric, one column per engine.
engines, benches = [], []
for (bench, metric, unit) in sorted(med):
    if metric.endswith("_ratio"):
        e = metric[: -len("_ratio")]
        if e not in engines:
            engines.append(e)
        if bench not in benches:
            benches.append(bench)
if engines:
    order = ["tapegrad"] + sorted(e for e in engines if e != "tapegrad")
    engines = [e for e in order if e in engines]
    out.append("## Gradient cost / plain-double cost (lower is better)\n")
    out.append("| bench | plain double | " + " | ".join(engines) + " |")
    out.append("|---|---|" + "---|" * len(engines))
    for b in benches:
        d = med.get((b, "double_time", "us"))
        cells = [f"{fmt(d)} us" if d is not None else "-"]
        for e in engines:
            v = med.get((b, e + "_ratio", "x"))
            ok = med.get((b, e + "_check", "ok"))
            cell = "-" if v is None else f"{fmt(v)}x"
            if ok is not None and ok < 1:
                cell += " (gradient FAIL)"
            cells.append(cell)
        out.append(f"| {b} | " + " | ".join(cells) + " |")
    out.append("")

# Fashion-MNIST epoch (bench_mnist beside bench_torch_mnist), one row per batch size and thread count.
mnist = sorted({b for (b, _, _) in med if b.startswith("mnist_mlp_b")},
               key=lambda b: tuple(int(x) for x in b[len("mnist_mlp_b"):].split("_t")))
if mnist:
    def m(b, metric):
        for (bb, mm, _), v in med.items():
            if bb == b and mm == metric:
                return v
        return None

    def cell(v, unit=""):
        return "-" if v is None else f"{fmt(v)}{unit}"

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else a / b

    out.append("## Fashion-MNIST epoch: MLP 784-256-256-10, SGD momentum (lower is better)\n")
    out.append("| batch, threads | tapegrad s/epoch | LibTorch s/epoch | tapegrad / LibTorch | same, CPU time | "
               "GEMM floor s | tapegrad / floor | LibTorch / floor | test accuracy tapegrad, LibTorch | "
               "peak RSS tapegrad, LibTorch |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for b in mnist:
        batch, threads = b[len("mnist_mlp_b"):].split("_t")
        tg, lt = m(b, "tapegrad_epoch_time"), m(b, "libtorch_epoch_time")
        tgc, ltc = m(b, "tapegrad_epoch_cpu_time"), m(b, "libtorch_epoch_cpu_time")
        out.append(f"| {batch}, {threads} | {cell(tg)} | {cell(lt)} | {cell(ratio(tg, lt), 'x')} | "
                   f"{cell(ratio(tgc, ltc), 'x')} | {cell(m(b, 'gemm_floor_time'))} | "
                   f"{cell(m(b, 'tapegrad_over_gemm_floor'), 'x')} | {cell(m(b, 'libtorch_over_gemm_floor'), 'x')} | "
                   f"{cell(m(b, 'tapegrad_test_accuracy'), '%')}, {cell(m(b, 'libtorch_test_accuracy'), '%')} | "
                   f"{cell(m(b, 'tapegrad_peak_rss'), ' MiB')}, {cell(m(b, 'libtorch_peak_rss'), ' MiB')} |")
    out.append("")
    out.append("Each program measures its own GEMM floor (the epoch's sgemm calls run bare, alternating with its "
               "epochs); the floor column is the median over both. Targets: tapegrad / LibTorch <= 0.8, "
               "tapegrad / floor <= 1.25, peak RSS no higher than LibTorch's.\n")

out.append("## All metrics (medians)\n")
out.append("| bench | metric | value | unit |")
out.append("|---|---|---|---|")
for (bench, metric, unit), v in sorted(med.items()):
    out.append(f"| {bench} | {metric} | {fmt(v)} | {unit} |")
open(f"bench/results/{outname}.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY

if [ ${#failed[@]} -gt 0 ]; then
  echo "run_all: failures: ${failed[*]}" >&2
  exit 1
fi
