// The three workloads of the scalar benchmark, written once as templates over the number type so that
// plain double, tapegrad's Var and every peer engine run literally the same code; plus their data, their
// independently derived gradients (closed forms and a hand-written backprop) and the timing/report loop.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "support/harness.hpp"
#include "tapegrad/random.hpp"

namespace tgbench::scalar {

inline constexpr std::size_t kElements = 100000;  // workloads (a) and (b)
inline constexpr std::size_t kHidden = 16;        // MLP 2-16-16-1
inline constexpr std::size_t kPoints = 64;

// ---- (a) arithmetic: f = Σ (a_i b_i + c_i) / d_i, gradient w.r.t. a, b, c and d ---------------------

/// Inputs of the arithmetic workload; d is kept in [1, 2] so no quotient blows up.
struct ArithData {
  std::vector<double> a, b, c, d;
};

inline ArithData make_arith(std::size_t n = kElements) {
  tg::Generator gen(11);
  ArithData in;
  for (auto* v : {&in.a, &in.b, &in.c}) {
    v->resize(n);
    for (double& x : *v) x = gen.uniform(-1.0, 1.0);
  }
  in.d.resize(n);
  for (double& x : in.d) x = gen.uniform(1.0, 2.0);
  return in;
}

/// One multiply, one add and one divide per element, accumulated.
template <class T>
T arith(std::size_t n, const T* a, const T* b, const T* c, const T* d) {
  T s = (a[0] * b[0] + c[0]) / d[0];
  for (std::size_t i = 1; i < n; ++i) s += (a[i] * b[i] + c[i]) / d[i];
  return s;
}

/// Closed form, laid out [df/da, df/db, df/dc, df/dd].
inline std::vector<double> arith_gradient(const ArithData& in) {
  const std::size_t n = in.a.size();
  std::vector<double> g(4 * n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = in.b[i] / in.d[i];
    g[n + i] = in.a[i] / in.d[i];
    g[2 * n + i] = 1.0 / in.d[i];
    g[3 * n + i] = -(in.a[i] * in.b[i] + in.c[i]) / (in.d[i] * in.d[i]);
  }
  return g;
}

// ---- (b) transcendental: f = log Σ exp(x_i) + Σ x_i y_i, gradient w.r.t. x and y --------------------

/// Inputs of the transcendental workload, in [-1, 1] so the plain log-sum-exp cannot overflow.
struct TranscData {
  std::vector<double> x, y;
};

inline TranscData make_transc(std::size_t n = kElements) {
  tg::Generator gen(12);
  TranscData in;
  for (auto* v : {&in.x, &in.y}) {
    v->resize(n);
    for (double& t : *v) t = gen.uniform(-1.0, 1.0);
  }
  return in;
}

template <class T>
T transc(std::size_t n, const T* x, const T* y) {
  using std::exp;
  using std::log;
  T s = exp(x[0]);
  T d = x[0] * y[0];
  for (std::size_t i = 1; i < n; ++i) {
    s += exp(x[i]);
    d += x[i] * y[i];
  }
  return log(s) + d;
}

/// Closed form: df/dx_i = softmax(x)_i + y_i, df/dy_i = x_i; laid out [df/dx, df/dy].
inline std::vector<double> transc_gradient(const TranscData& in) {
  const std::size_t n = in.x.size();
  double s = 0.0;
  for (double t : in.x) s += std::exp(t);
  std::vector<double> g(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = std::exp(in.x[i]) / s + in.y[i];
    g[n + i] = in.x[i];
  }
  return g;
}

// ---- (c) micrograd-style MLP 2-16-16-1, tanh hidden layers, squared loss over 64 points -------------

// Parameter layout (337 weights): W1[16][2], b1[16], W2[16][16], b2[16], W3[16], b3.
inline constexpr std::size_t kW1 = 0;
inline constexpr std::size_t kB1 = kW1 + kHidden * 2;
inline constexpr std::size_t kW2 = kB1 + kHidden;
inline constexpr std::size_t kB2 = kW2 + kHidden * kHidden;
inline constexpr std::size_t kW3 = kB2 + kHidden;
inline constexpr std::size_t kB3 = kW3 + kHidden;
inline constexpr std::size_t kWeights = kB3 + 1;
static_assert(kWeights == 337);

/// Weights and a two-moons-like data set (fixed seed).
struct MlpData {
  std::vector<double> w;
  std::vector<double> x0, x1, y;
};

inline MlpData make_mlp() {
  tg::Generator gen(13);
  MlpData in;
  in.w.resize(kWeights);
  for (double& v : in.w) v = gen.uniform(-1.0, 1.0) * 0.5;
  for (std::size_t p = 0; p < kPoints; ++p) {
    const double t = gen.uniform(0.0, 3.14159);
    const bool upper = p % 2 == 0;
    in.x0.push_back((upper ? std::cos(t) : 1.0 - std::cos(t)) + gen.normal(0.0, 0.1));
    in.x1.push_back((upper ? std::sin(t) : 0.5 - std::sin(t)) + gen.normal(0.0, 0.1));
    in.y.push_back(upper ? 1.0 : -1.0);
  }
  return in;
}

/// Squared error of one point; the data are plain doubles (constants), the weights are T.
template <class T>
T mlp_point(const T* w, double x0, double x1, double y) {
  using std::tanh;
  T h1[kHidden];
  for (std::size_t j = 0; j < kHidden; ++j) {
    h1[j] = tanh(w[kB1 + j] + w[kW1 + 2 * j] * x0 + w[kW1 + 2 * j + 1] * x1);
  }
  T h2[kHidden];
  for (std::size_t k = 0; k < kHidden; ++k) {
    T s = w[kB2 + k];
    for (std::size_t j = 0; j < kHidden; ++j) s += w[kW2 + kHidden * k + j] * h1[j];
    h2[k] = tanh(s);
  }
  T out = w[kB3];
  for (std::size_t k = 0; k < kHidden; ++k) out += w[kW3 + k] * h2[k];
  T e = out - y;
  return e * e;
}

template <class T>
T mlp(const T* w, const MlpData& in) {
  T loss = mlp_point(w, in.x0[0], in.x1[0], in.y[0]);
  for (std::size_t p = 1; p < kPoints; ++p) loss += mlp_point(w, in.x0[p], in.x1[p], in.y[p]);
  return loss;
}

/// The gradient by a hand-written backprop in double (no AD involved).
inline std::vector<double> mlp_gradient(const MlpData& in) {
  const double* w = in.w.data();
  std::vector<double> g(kWeights, 0.0);
  for (std::size_t p = 0; p < kPoints; ++p) {
    const double x0 = in.x0[p];
    const double x1 = in.x1[p];
    double h1[kHidden];
    double h2[kHidden];
    for (std::size_t j = 0; j < kHidden; ++j) {
      h1[j] = std::tanh(w[kB1 + j] + w[kW1 + 2 * j] * x0 + w[kW1 + 2 * j + 1] * x1);
    }
    for (std::size_t k = 0; k < kHidden; ++k) {
      double s = w[kB2 + k];
      for (std::size_t j = 0; j < kHidden; ++j) s += w[kW2 + kHidden * k + j] * h1[j];
      h2[k] = std::tanh(s);
    }
    double out = w[kB3];
    for (std::size_t k = 0; k < kHidden; ++k) out += w[kW3 + k] * h2[k];
    const double dout = 2.0 * (out - in.y[p]);  // d e² / d out
    g[kB3] += dout;
    double dh1[kHidden] = {};
    for (std::size_t k = 0; k < kHidden; ++k) {
      g[kW3 + k] += dout * h2[k];
      const double ds = dout * w[kW3 + k] * (1.0 - h2[k] * h2[k]);  // through tanh
      g[kB2 + k] += ds;
      for (std::size_t j = 0; j < kHidden; ++j) {
        g[kW2 + kHidden * k + j] += ds * h1[j];
        dh1[j] += ds * w[kW2 + kHidden * k + j];
      }
    }
    for (std::size_t j = 0; j < kHidden; ++j) {
      const double dz = dh1[j] * (1.0 - h1[j] * h1[j]);
      g[kB1 + j] += dz;
      g[kW1 + 2 * j] += dz * x0;
      g[kW1 + 2 * j + 1] += dz * x1;
    }
  }
  return g;
}

// ---- the suite ----------------------------------------------------------------------------------------

/// Runs the three workloads for one engine and reports, per workload: the plain-double time, the
/// engine's gradient time (record + reverse sweep + reading the gradient out, tape recorded afresh each
/// call), their ratio, and whether the engine's gradient matched the independent one.
///
/// Engine needs `double arith(const ArithData&, std::vector<double>& g)`, and likewise `transc` and
/// `mlp`: each records afresh, fills g with the gradient (same layout as the references) and returns f.
template <class Engine>
bool run_suite(const std::string& engine_name, Engine& engine, const Options& opt, Report& report) {
  bool all_ok = true;
  volatile double sink = 0.0;
  std::vector<double> g;
  auto one = [&](const std::string& bench, auto&& plain, auto&& with_grad, const std::vector<double>& ref,
                 double tol) {
    if (!opt.selected(bench)) return;
    const double f_plain = plain();
    g.clear();
    const double f_ad = with_grad(g);
    const double err = max_rel_err(g, ref);
    const bool value_ok = std::abs(f_ad - f_plain) <= 1e-12 * std::max(1.0, std::abs(f_plain));
    const bool ok = err <= tol && value_ok;
    all_ok = all_ok && ok;
    std::vector<Contender> cs{{"double", [&] { sink = plain(); }},
                              {engine_name, [&] { sink = with_grad(g); }}};
    const std::vector<double> t = time_alternating(cs, opt.reps);
    report.add(bench, "double_time", t[0] * 1e6, "us");
    report.add(bench, engine_name + "_time", t[1] * 1e6, "us");
    report.add(bench, engine_name + "_ratio", t[1] / t[0], "x");
    report.add(bench, engine_name + "_grad_max_rel_err", err, "1");
    report.add(bench, engine_name + "_check", ok ? 1.0 : 0.0, "ok");
    char detail[96];
    std::snprintf(detail, sizeof detail, " (max rel err %.2g vs the reference%s)", err,
                  value_ok ? "" : "; the value differs from plain double");
    report.note(bench + " " + engine_name + " gradient check: " + (ok ? "ok" : "FAIL") + detail);
  };

  // Smallest first: ADOL-C sizes its sweep buffers by the largest trace it has seen, so a small
  // workload run after a large one would be charged for it.
  {
    const MlpData in = make_mlp();
    one("scalar_mlp", [&] { return mlp(in.w.data(), in); },
        [&](std::vector<double>& gg) { return engine.mlp(in, gg); }, mlp_gradient(in), 1e-10);
  }
  {
    const TranscData in = make_transc();
    const std::size_t n = in.x.size();
    one("scalar_transcendental", [&] { return transc(n, in.x.data(), in.y.data()); },
        [&](std::vector<double>& gg) { return engine.transc(in, gg); }, transc_gradient(in), 1e-12);
  }
  {
    const ArithData in = make_arith();
    const std::size_t n = in.a.size();
    one("scalar_arith", [&] { return arith(n, in.a.data(), in.b.data(), in.c.data(), in.d.data()); },
        [&](std::vector<double>& gg) { return engine.arith(in, gg); }, arith_gradient(in), 1e-12);
  }
  return all_ok;
}

}  // namespace tgbench::scalar
