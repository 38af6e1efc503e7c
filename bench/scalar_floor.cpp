// A yardstick for bench_scalar's ratios: about the least a statement-level Jacobian tape (the design of Adept,
// CoDiPack and tapegrad: per statement its arguments' slots and local partials, then one reverse
// multiply-add sweep) costs on the three scalar workloads, measured the same way (gradient time / plain
// double, alternating, medians, gradients checked against the same references).
//
// Each workload is recorded here by code written for it, doing only what such a tape cannot skip: one
// statement per assignment (what expression templates or tapegrad's fused recording give at best), a
// 16-byte active value (CoDiPack's size; tapegrad's Var is 24 bytes), arrays sized once so that no push
// checks for room, a stale-value check of one compare per operand, no opcodes, labels, nodes or
// per-operator bookkeeping. It is not a usable engine (the partials are written out by hand, per
// workload); it says how far any tape of this kind is from a target, and how far tapegrad is from it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "scalar_workloads.hpp"

namespace {

using namespace tgbench::scalar;

/// An active value of the minimal tape: its value, its slot and the recording it belongs to.
struct Active {
  double v;
  std::uint32_t slot;
  std::uint32_t epoch;
};
static_assert(sizeof(Active) == 16);

/// One argument of a statement: its slot and d(statement)/d(argument).
struct Arg {
  std::uint32_t slot;
  double partial;
};

/// The minimal tape: statement ends, argument slots and partials in three flat arrays.
class MinimalTape {
 public:
  /// Starts a recording of at most `slots` statements (leaves included) and `args` arguments.
  void reset(std::size_t slots, std::size_t args) {
    if (end_.size() < slots + 1) end_.resize(slots + 1);
    if (idx_.size() < args) {
      idx_.resize(args);
      partial_.resize(args);
    }
    if (adj_.size() < slots + 1) adj_.resize(slots + 1);
    size_ = 1;
    nargs_ = 0;
    end_[0] = 0;
    ++epoch_;
  }
  Active leaf(double v) {
    end_[size_] = nargs_;
    return {v, size_++, epoch_};
  }
  /// Records a statement with value v and arguments args. No room check: reset() sized the arrays for the
  /// workload, which is what the yardstick leaves out; the caller checks each operand with check().
  template <class... A>
  Active statement(double v, const A&... args) {
    std::uint32_t* idx = idx_.data() + nargs_;
    double* partial = partial_.data() + nargs_;
    std::size_t k = 0;
    ((idx[k] = args.slot, partial[k] = args.partial, ++k), ...);
    nargs_ += static_cast<std::uint32_t>(sizeof...(A));
    end_[size_] = nargs_;
    return {v, size_++, epoch_};
  }
  /// Aborts on an operand of an earlier recording: the one check every tape must make.
  void check(const Active& x) const {
    if (x.epoch != epoch_) std::abort();
  }
  /// The reverse sweep from `top` (seed 1), leaves included, as a tape that does not know them apart.
  void sweep(const Active& top) {
    std::memset(adj_.data(), 0, sizeof(double) * (top.slot + 1));
    adj_[top.slot] = 1.0;
    for (std::uint32_t i = top.slot; i >= 1; --i) {
      const double a = adj_[i];
      for (std::uint32_t k = end_[i - 1]; k < end_[i]; ++k) adj_[idx_[k]] += partial_[k] * a;
    }
  }
  double adjoint(const Active& x) const {
    check(x);
    return adj_[x.slot];
  }

 private:
  std::vector<std::uint32_t> end_;
  std::vector<std::uint32_t> idx_;
  std::vector<double> partial_;
  std::vector<double> adj_;
  std::uint32_t size_ = 1;
  std::uint32_t nargs_ = 0;
  std::uint32_t epoch_ = 0;
};

/// d tanh = 1 - tanh², as the plain workloads' hand-written backprop uses it.
double tanh_slope(double t) { return 1.0 - t * t; }

/// The three workloads, recorded by hand on the minimal tape, in run_suite's engine interface.
struct MinimalEngine {
  MinimalTape tape;
  std::vector<Active> a, b, c, d;

  void leaves(const std::vector<double>& x, std::vector<Active>& out) {
    out.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = tape.leaf(x[i]);
  }
  void grads(const std::vector<Active>& xs, std::vector<double>& g) const {
    const std::size_t at = g.size();
    g.resize(at + xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) g[at + i] = tape.adjoint(xs[i]);
  }

  // s = Σ (a b + c) / d: per element one statement of five arguments (s, a, b, c, d).
  double arith(const ArithData& in, std::vector<double>& g) {
    const std::size_t n = in.a.size();
    tape.reset(5 * n + 1, 5 * n);
    leaves(in.a, a);
    leaves(in.b, b);
    leaves(in.c, c);
    leaves(in.d, d);
    Active s{0.0, 0, 0};
    for (std::size_t i = 0; i < n; ++i) {
      tape.check(a[i]);
      tape.check(b[i]);
      tape.check(c[i]);
      tape.check(d[i]);
      const double inv = 1.0 / d[i].v;
      const double q = (a[i].v * b[i].v + c[i].v) * inv;
      const Arg ta{a[i].slot, b[i].v * inv};
      const Arg tb{b[i].slot, a[i].v * inv};
      const Arg tc{c[i].slot, inv};
      const Arg td{d[i].slot, -q * inv};
      s = i == 0 ? tape.statement(q, ta, tb, tc, td) : tape.statement(s.v + q, Arg{s.slot, 1.0}, ta, tb, tc, td);
    }
    tape.sweep(s);
    g.clear();
    for (auto* v : {&a, &b, &c, &d}) grads(*v, g);
    return s.v;
  }

  // log Σ exp(x) + Σ x y: per element s += exp(x) (2 arguments) and t += x y (3 arguments).
  double transc(const TranscData& in, std::vector<double>& g) {
    const std::size_t n = in.x.size();
    tape.reset(4 * n + 2, 5 * n + 2);
    leaves(in.x, a);
    leaves(in.y, b);
    tape.check(a[0]);
    tape.check(b[0]);
    const double e0 = std::exp(a[0].v);
    Active s = tape.statement(e0, Arg{a[0].slot, e0});
    Active t = tape.statement(a[0].v * b[0].v, Arg{a[0].slot, b[0].v}, Arg{b[0].slot, a[0].v});
    for (std::size_t i = 1; i < n; ++i) {
      tape.check(a[i]);
      tape.check(b[i]);
      const double e = std::exp(a[i].v);
      s = tape.statement(s.v + e, Arg{s.slot, 1.0}, Arg{a[i].slot, e});
      t = tape.statement(t.v + a[i].v * b[i].v, Arg{t.slot, 1.0}, Arg{a[i].slot, b[i].v}, Arg{b[i].slot, a[i].v});
    }
    const Active f = tape.statement(std::log(s.v) + t.v, Arg{s.slot, 1.0 / s.v}, Arg{t.slot, 1.0});
    tape.sweep(f);
    g.clear();
    grads(a, g);
    grads(b, g);
    return f.v;
  }

  Active mlp_point(const Active* w, double x0, double x1, double y) {
    Active h1[kHidden];
    for (std::size_t j = 0; j < kHidden; ++j) {
      const Active& bias = w[kB1 + j];
      const Active& w0 = w[kW1 + 2 * j];
      const Active& w1 = w[kW1 + 2 * j + 1];
      tape.check(bias);
      tape.check(w0);
      tape.check(w1);
      const double h = std::tanh(bias.v + w0.v * x0 + w1.v * x1);
      const double dh = tanh_slope(h);
      h1[j] = tape.statement(h, Arg{bias.slot, dh}, Arg{w0.slot, dh * x0}, Arg{w1.slot, dh * x1});
    }
    Active h2[kHidden];
    for (std::size_t k = 0; k < kHidden; ++k) {
      Active s = w[kB2 + k];
      tape.check(s);
      for (std::size_t j = 0; j < kHidden; ++j) {
        const Active& wk = w[kW2 + kHidden * k + j];
        tape.check(wk);
        s = tape.statement(s.v + wk.v * h1[j].v, Arg{s.slot, 1.0}, Arg{wk.slot, h1[j].v}, Arg{h1[j].slot, wk.v});
      }
      const double h = std::tanh(s.v);
      h2[k] = tape.statement(h, Arg{s.slot, tanh_slope(h)});
    }
    Active out = w[kB3];
    tape.check(out);
    for (std::size_t k = 0; k < kHidden; ++k) {
      const Active& wk = w[kW3 + k];
      tape.check(wk);
      out = tape.statement(out.v + wk.v * h2[k].v, Arg{out.slot, 1.0}, Arg{wk.slot, h2[k].v}, Arg{h2[k].slot, wk.v});
    }
    const double e = out.v - y;
    return tape.statement(e * e, Arg{out.slot, 2.0 * e});
  }

  // The 2-16-16-1 tanh MLP: tanh(b + w x0 + w x1) and s += w h are one statement each.
  double mlp(const MlpData& in, std::vector<double>& g) {
    tape.reset(kWeights + kPoints * 400, kPoints * 1000);
    leaves(in.w, a);
    Active loss = mlp_point(a.data(), in.x0[0], in.x1[0], in.y[0]);
    for (std::size_t p = 1; p < kPoints; ++p) {
      const Active l = mlp_point(a.data(), in.x0[p], in.x1[p], in.y[p]);
      loss = tape.statement(loss.v + l.v, Arg{loss.slot, 1.0}, Arg{l.slot, 1.0});
    }
    tape.sweep(loss);
    g.clear();
    grads(a, g);
    return loss.v;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  tgbench::Report report(opt.json);
  MinimalEngine engine;
  const bool ok = tgbench::scalar::run_suite("minimal_tape", engine, opt, report);
  report.note("minimal_tape = about the least a statement-level Jacobian tape costs here: each workload recorded by "
              "code written for it, one statement per assignment, 16-byte active values, no room checks, "
              "one stale check per operand (bench/scalar_floor.cpp); not a usable engine, a yardstick");
  report.note("ratio = gradient time / plain-double time of the same function; median of " +
              std::to_string(opt.reps) + " alternating repetitions");
  report.print();
  return ok ? 0 : 1;
}
