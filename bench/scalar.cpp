// Scalar benchmark of tg::Var: the cost of a gradient (record + reverse sweep, tape recorded afresh each
// call, as a dynamic model must) divided by the cost of the same function on plain double, on three
// workloads (see scalar_workloads.hpp), plus the tape's memory per operation.
#include <cstdio>
#include <span>
#include <vector>

#include "scalar_workloads.hpp"
#include "tapegrad/var.hpp"

namespace {

using tgbench::scalar::ArithData;
using tgbench::scalar::MlpData;
using tgbench::scalar::TranscData;

/// Records each workload on the thread's tape, reset first, with fresh leaf Vars, as user code would: the
/// inputs are arrays, so they become leaves with tg::leaves and their gradients are read with tg::grads
/// (the bulk forms of Var(v) and x.grad()). With fuse, the tape records one statement per assignment
/// (TapeOptions::fuse_expressions) instead of one per operator.
struct TapegradEngine {
  bool fuse = false;
  std::vector<tg::Var> a, b, c, d;

  void reset() const {
    tg::Tape& t = tg::Tape::active();
    t.reset();
    t.set_fuse_expressions(fuse);
  }

  static void leaves(const std::vector<double>& x, std::vector<tg::Var>& out) {
    out.resize(x.size());
    tg::leaves(x, out);
  }
  static void grads(const std::vector<tg::Var>& xs, std::vector<double>& g) {
    const std::size_t at = g.size();
    g.resize(at + xs.size());
    tg::grads(xs, std::span<double>(g).subspan(at));
  }

  double arith(const ArithData& in, std::vector<double>& g) {
    reset();
    leaves(in.a, a);
    leaves(in.b, b);
    leaves(in.c, c);
    leaves(in.d, d);
    const tg::Var f = tgbench::scalar::arith(a.size(), a.data(), b.data(), c.data(), d.data());
    f.backward();
    g.clear();
    for (auto* v : {&a, &b, &c, &d}) grads(*v, g);
    return f.value();
  }

  double transc(const TranscData& in, std::vector<double>& g) {
    reset();
    leaves(in.x, a);
    leaves(in.y, b);
    const tg::Var f = tgbench::scalar::transc(a.size(), a.data(), b.data());
    f.backward();
    g.clear();
    grads(a, g);
    grads(b, g);
    return f.value();
  }

  double mlp(const MlpData& in, std::vector<double>& g) {
    reset();
    leaves(in.w, a);
    const tg::Var f = tgbench::scalar::mlp(a.data(), in);
    f.backward();
    g.clear();
    grads(a, g);
    return f.value();
  }
};

/// Tape memory: what the process holds per recorded slot (capacity, so including growth slack), and what
/// one statement occupies by the tape's layout, counted from the recording itself.
void report_tape_bytes(tgbench::Report& report, bool fuse) {
  const ArithData in = tgbench::scalar::make_arith();
  TapegradEngine engine;
  engine.fuse = fuse;
  std::vector<double> g;
  engine.arith(in, g);
  tg::Tape& t = tg::Tape::active();
  engine.arith(in, g);  // steady state: the second recording reuses the first one's memory
  std::size_t args = 0;
  std::size_t binary = 0;
  for (std::uint32_t i = 1; i <= t.size(); ++i) {
    const std::uint32_t k = t.arg_end(i) - t.arg_begin(i);
    args += k;
    binary += k == 2 ? 1 : 0;
  }
  // Layout (tape.hpp, Tape::slots_ and Tape::args_): per slot an opcode and an argument-end offset; per
  // argument its slot and its partial. The adjoints (and accumulated gradients) are 8 bytes per slot more,
  // held only from backward() on, and are reported apart.
  const double per_slot = sizeof(tg::Op) + sizeof(std::uint32_t);
  const double per_arg = sizeof(std::uint32_t) + sizeof(double);
  const double used = per_slot * static_cast<double>(t.size()) + per_arg * static_cast<double>(args);
  if (fuse) {  // the layout is the same; what changes is how many slots and arguments the workload takes
    report.add("scalar_tape", "tapegrad_fused_arith_slots", static_cast<double>(t.size()), "1");
    report.add("scalar_tape", "tapegrad_fused_bytes_per_slot_used", used / static_cast<double>(t.size()), "B");
    report.add("scalar_tape", "tapegrad_fused_arith_bytes_used", used, "B");
    t.set_fuse_expressions(false);
    return;
  }
  report.add("scalar_tape", "tapegrad_arith_bytes_used", used, "B");
  report.add("scalar_tape", "tapegrad_bytes_per_leaf", per_slot, "B");
  report.add("scalar_tape", "tapegrad_bytes_per_unary_op", per_slot + per_arg, "B");
  report.add("scalar_tape", "tapegrad_bytes_per_binary_op", per_slot + 2 * per_arg, "B");
  report.add("scalar_tape", "tapegrad_bytes_per_slot_used", used / static_cast<double>(t.size()), "B");
  report.add("scalar_tape", "tapegrad_bytes_per_slot_reserved",
             static_cast<double>(t.bytes()) / static_cast<double>(t.size()), "B");
  report.add("scalar_tape", "tapegrad_adjoint_bytes_per_slot", sizeof(double), "B");
  report.add("scalar_tape", "tapegrad_grad_bytes_per_slot", sizeof(double), "B");
  report.add("scalar_tape", "tapegrad_arith_slots", static_cast<double>(t.size()), "1");
  report.add("scalar_tape", "tapegrad_arith_binary_ops", static_cast<double>(binary), "1");
}

}  // namespace

int main(int argc, char** argv) {
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  tgbench::Report report(opt.json);
  TapegradEngine engine;
  bool ok = tgbench::scalar::run_suite("tapegrad", engine, opt, report);
  TapegradEngine fused;
  fused.fuse = true;
  ok = tgbench::scalar::run_suite("tapegrad_fused", fused, opt, report) && ok;
  if (opt.selected("scalar_tape")) {
    report_tape_bytes(report, false);
    report_tape_bytes(report, true);
  }
  report.note("ratio = gradient time / plain-double time of the same templated function; median of " +
              std::to_string(opt.reps) + " alternating repetitions");
  report.note("tapegrad_fused = the same engine on a tape with TapeOptions::fuse_expressions (one statement "
              "per assignment, e.g. s += (a * b + c) / d records 1 statement of 5 arguments instead of 4)");
  report.print();
  return ok ? 0 : 1;
}
