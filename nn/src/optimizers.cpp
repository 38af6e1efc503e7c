// The update rules of SGD, Adam/AdamW, RMSprop and Adagrad, as in PyTorch's documented algorithms. Each
// is one fused loop over the raw data: arithmetic in double (SGD: in the parameter's dtype, as PyTorch
// does; its loop is the hot one of a plain training step, and float32 arithmetic halves it), state stored
// in the parameter's dtype, and no temporary tensors, so a step after the first allocates nothing. This file is compiled with
// -fno-math-errno (nn/CMakeLists.txt): errno from std::sqrt would keep GCC from vectorizing the loops.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <type_traits>

#include "tapegrad/nn/optim.hpp"

namespace tg::nn {

namespace {

std::string value_str(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

void require(bool ok, const char* opt, const char* rule, double v, const char* who) {
  if (!ok) throw ValueError(std::string(who) + ": invalid " + opt + " " + value_str(v) + " (" + rule + ")");
}

void require_flag(double v, const char* opt, const char* who) {
  require(v == 0.0 || v == 1.0, opt, "must be 0 or 1", v, who);
}

// SGD's loop is the one hot loop of a plain training step outside the matrix products, and memory-bound
// on the baseline x86-64 ISA (4 floats per instruction). So it is also compiled for AVX2 and AVX-512 and
// the CPU picks a version when the library loads (function multiversioning), as LibTorch dispatches its
// kernels by CPU capability: the step phase of a batch-64 Fashion-MNIST epoch takes 45-61 ms instead of
// 86-92 (bench_mnist step_time). This file is compiled with -ffp-contract=off, so no version fuses a
// multiply and an add into an FMA: every version rounds exactly as the baseline one, on any machine.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define TG_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TG_CPU_CLONES
#endif

/// One SGD step over n values in the parameter's dtype. buf is null without momentum; keep and take are
/// the buffer's decay and the gradient's weight in it (0 and 1 on the first step: no dampening then).
template <class T>
inline void sgd_loop(T* __restrict w, const T* __restrict gr, T* __restrict buf, std::int64_t n, T lr, T wd, T mu,
                     T keep, T take, bool nesterov) {
  // One branch-free loop per case, so that the compiler vectorises each.
  if (buf == nullptr) {
    for (std::int64_t i = 0; i < n; ++i) w[i] = w[i] - lr * (gr[i] + wd * w[i]);
  } else if (nesterov) {
    for (std::int64_t i = 0; i < n; ++i) {
      const T d = gr[i] + wd * w[i];
      const T b = keep * buf[i] + take * d;
      buf[i] = b;
      w[i] = w[i] - lr * (d + mu * b);
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      const T d = gr[i] + wd * w[i];
      const T b = keep * buf[i] + take * d;
      buf[i] = b;
      w[i] = w[i] - lr * b;
    }
  }
}

// target_clones applies to functions, not templates: one cloned entry point per dtype.
TG_CPU_CLONES void sgd_f32(float* w, const float* gr, float* buf, std::int64_t n, float lr, float wd, float mu,
                           float keep, float take, bool nesterov) {
  sgd_loop(w, gr, buf, n, lr, wd, mu, keep, take, nesterov);
}

TG_CPU_CLONES void sgd_f64(double* w, const double* gr, double* buf, std::int64_t n, double lr, double wd,
                           double mu, double keep, double take, bool nesterov) {
  sgd_loop(w, gr, buf, n, lr, wd, mu, keep, take, nesterov);
}

// Runs f.template operator()<T>() with T the element type of a float32 or float64 parameter.
template <class F>
void dispatch(const Tensor& p, F&& f) {
  if (p.dtype() == kFloat64) {
    f.template operator()<double>();
  } else {
    f.template operator()<float>();
  }
}

template <class O>
std::vector<ParamGroup<O>> one_group(std::vector<Tensor> params, const O& options) {
  std::vector<ParamGroup<O>> groups;
  groups.push_back(ParamGroup<O>{std::move(params), options});
  return groups;
}

// Calls f with two std::bool_constant arguments, so that option branches leave the inner loops and
// GCC can vectorize them.
template <class F>
void with_flags(bool a, bool b, F&& f) {
  if (a) {
    if (b) {
      f(std::true_type{}, std::true_type{});
    } else {
      f(std::true_type{}, std::false_type{});
    }
  } else if (b) {
    f(std::false_type{}, std::true_type{});
  } else {
    f(std::false_type{}, std::false_type{});
  }
}

template <class T>
T* raw(const Tensor& t) {
  return t.impl()->template data<T>();
}

}  // namespace

// --- SGD -----------------------------------------------------------------------------------------------

enum SgdOpt : std::size_t { kSgdLr, kSgdMomentum, kSgdDampening, kSgdWd, kSgdNesterov };

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options) : SGD(one_group<SGDOptions>(std::move(params), options), options) {}

SGD::SGD(std::vector<ParamGroup<SGDOptions>> groups, const SGDOptions& defaults)
    : OptimizerWith(defaults, {"momentum_buffer"}) {
  add_groups(std::move(groups));
}

void SGD::validate(std::span<const double> o) const {
  require(o[kSgdLr] >= 0.0, "lr", "must be >= 0", o[kSgdLr], "SGD");
  require(o[kSgdMomentum] >= 0.0, "momentum", "must be >= 0", o[kSgdMomentum], "SGD");
  require(std::isfinite(o[kSgdDampening]), "dampening", "must be finite", o[kSgdDampening], "SGD");
  require(o[kSgdWd] >= 0.0, "weight_decay", "must be >= 0", o[kSgdWd], "SGD");
  require_flag(o[kSgdNesterov], "nesterov", "SGD");
  if (o[kSgdNesterov] != 0.0 && (o[kSgdMomentum] <= 0.0 || o[kSgdDampening] != 0.0)) {
    throw ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum " +
                     value_str(o[kSgdMomentum]) + " and dampening " + value_str(o[kSgdDampening]));
  }
}

bool SGD::needs_buffer(std::span<const double> o, std::size_t) const { return o[kSgdMomentum] != 0.0; }

void SGD::update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned fresh) {
  const bool nesterov = o[kSgdNesterov] != 0.0;
  const bool first = (fresh & 1u) != 0;
  const bool momentum = o[kSgdMomentum] != 0.0;  // as needs_buffer: no buffer without momentum
  const std::int64_t n = p.numel();
  dispatch(p, [&]<class T>() {
    const T lr = static_cast<T>(o[kSgdLr]);
    const T mu = static_cast<T>(o[kSgdMomentum]);
    const T damp = static_cast<T>(o[kSgdDampening]);
    const T wd = static_cast<T>(o[kSgdWd]);
    T* buf = momentum ? raw<T>(s.buffers[0]) : nullptr;
    // PyTorch starts the buffer at the gradient itself: no dampening on the first step.
    const T keep = first ? T(0) : mu;
    const T take = first ? T(1) : T(1) - damp;
    if constexpr (std::is_same_v<T, float>) {
      sgd_f32(raw<T>(p), raw<T>(g), buf, n, lr, wd, mu, keep, take, nesterov);
    } else {
      sgd_f64(raw<T>(p), raw<T>(g), buf, n, lr, wd, mu, keep, take, nesterov);
    }
  });
}

// --- Adam / AdamW --------------------------------------------------------------------------------------

enum AdamOpt : std::size_t { kAdamLr, kAdamBeta1, kAdamBeta2, kAdamEps, kAdamWd, kAdamAmsgrad };
enum AdamBuf : std::size_t { kExpAvg, kExpAvgSq, kMaxExpAvgSq };

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Adam(one_group<AdamOptions>(std::move(params), options), options) {}

Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups, const AdamOptions& defaults)
    : Adam(std::move(groups), defaults, false) {}

Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups, const AdamOptions& defaults, bool decoupled)
    : OptimizerWith(defaults, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}), decoupled_(decoupled) {
  add_groups(std::move(groups));
}

void Adam::validate(std::span<const double> o) const {
  const char* who = decoupled_ ? "AdamW" : "Adam";
  require(o[kAdamLr] >= 0.0, "lr", "must be >= 0", o[kAdamLr], who);
  require(o[kAdamBeta1] >= 0.0 && o[kAdamBeta1] < 1.0, "beta1", "must be in [0, 1)", o[kAdamBeta1], who);
  require(o[kAdamBeta2] >= 0.0 && o[kAdamBeta2] < 1.0, "beta2", "must be in [0, 1)", o[kAdamBeta2], who);
  require(o[kAdamEps] >= 0.0, "eps", "must be >= 0", o[kAdamEps], who);
  require(o[kAdamWd] >= 0.0, "weight_decay", "must be >= 0", o[kAdamWd], who);
  require_flag(o[kAdamAmsgrad], "amsgrad", who);
}

bool Adam::needs_buffer(std::span<const double> o, std::size_t b) const {
  return b != kMaxExpAvgSq || o[kAdamAmsgrad] != 0.0;
}

void Adam::update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned) {
  const double lr = o[kAdamLr];
  const double b1 = o[kAdamBeta1];
  const double b2 = o[kAdamBeta2];
  const double eps = o[kAdamEps];
  const double wd = o[kAdamWd];
  const bool amsgrad = o[kAdamAmsgrad] != 0.0;
  const double t = static_cast<double>(s.step);
  const double step_size = lr / (1.0 - std::pow(b1, t));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, t));
  // AdamW shrinks the weights before the Adam step; Adam adds the decay to the gradient instead.
  const double shrink = decoupled_ ? 1.0 - lr * wd : 1.0;
  const double l2 = decoupled_ ? 0.0 : wd;
  const std::int64_t n = p.numel();
  dispatch(p, [&]<class T>() {
    T* w = raw<T>(p);
    const T* gr = raw<T>(g);
    T* m = raw<T>(s.buffers[kExpAvg]);
    T* v = raw<T>(s.buffers[kExpAvgSq]);
    T* vmax = amsgrad ? raw<T>(s.buffers[kMaxExpAvgSq]) : nullptr;
    with_flags(amsgrad, decoupled_, [&](auto ams, auto dec) {
      for (std::int64_t i = 0; i < n; ++i) {
        double wi = static_cast<double>(w[i]);
        if constexpr (dec.value) wi = static_cast<double>(static_cast<T>(wi * shrink));
        const double d = static_cast<double>(gr[i]) + l2 * wi;
        m[i] = static_cast<T>(b1 * static_cast<double>(m[i]) + (1.0 - b1) * d);
        v[i] = static_cast<T>(b2 * static_cast<double>(v[i]) + (1.0 - b2) * d * d);
        double second = static_cast<double>(v[i]);
        if constexpr (ams.value) {
          vmax[i] = std::max(vmax[i], v[i]);
          second = static_cast<double>(vmax[i]);
        }
        const double denom = std::sqrt(second) / bc2_sqrt + eps;
        w[i] = static_cast<T>(wi - step_size * static_cast<double>(m[i]) / denom);
      }
    });
  });
}

AdamW::AdamW(std::vector<Tensor> params, const AdamOptions& options)
    : AdamW(one_group<AdamOptions>(std::move(params), options), options) {}

AdamW::AdamW(std::vector<ParamGroup<AdamOptions>> groups, const AdamOptions& defaults)
    : Adam(std::move(groups), defaults, true) {}

// --- RMSprop -------------------------------------------------------------------------------------------

enum RmsOpt : std::size_t { kRmsLr, kRmsAlpha, kRmsEps, kRmsWd, kRmsMomentum, kRmsCentered };
enum RmsBuf : std::size_t { kSquareAvg, kRmsMomentumBuf, kGradAvg };

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : RMSprop(one_group<RMSpropOptions>(std::move(params), options), options) {}

RMSprop::RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups, const RMSpropOptions& defaults)
    : OptimizerWith(defaults, {"square_avg", "momentum_buffer", "grad_avg"}) {
  add_groups(std::move(groups));
}

void RMSprop::validate(std::span<const double> o) const {
  require(o[kRmsLr] >= 0.0, "lr", "must be >= 0", o[kRmsLr], "RMSprop");
  require(o[kRmsAlpha] >= 0.0, "alpha", "must be >= 0", o[kRmsAlpha], "RMSprop");
  require(o[kRmsEps] >= 0.0, "eps", "must be >= 0", o[kRmsEps], "RMSprop");
  require(o[kRmsWd] >= 0.0, "weight_decay", "must be >= 0", o[kRmsWd], "RMSprop");
  require(o[kRmsMomentum] >= 0.0, "momentum", "must be >= 0", o[kRmsMomentum], "RMSprop");
  require_flag(o[kRmsCentered], "centered", "RMSprop");
}

bool RMSprop::needs_buffer(std::span<const double> o, std::size_t b) const {
  if (b == kRmsMomentumBuf) return o[kRmsMomentum] > 0.0;
  if (b == kGradAvg) return o[kRmsCentered] != 0.0;
  return true;
}

void RMSprop::update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned) {
  const double lr = o[kRmsLr];
  const double alpha = o[kRmsAlpha];
  const double eps = o[kRmsEps];
  const double wd = o[kRmsWd];
  const double mu = o[kRmsMomentum];
  const bool centered = o[kRmsCentered] != 0.0;
  const std::int64_t n = p.numel();
  dispatch(p, [&]<class T>() {
    T* w = raw<T>(p);
    const T* gr = raw<T>(g);
    T* sq = raw<T>(s.buffers[kSquareAvg]);
    T* buf = mu > 0.0 ? raw<T>(s.buffers[kRmsMomentumBuf]) : nullptr;
    T* gavg = centered ? raw<T>(s.buffers[kGradAvg]) : nullptr;
    with_flags(centered, mu > 0.0, [&](auto cen, auto mom) {
      for (std::int64_t i = 0; i < n; ++i) {
        const double wi = static_cast<double>(w[i]);
        const double d = static_cast<double>(gr[i]) + wd * wi;
        sq[i] = static_cast<T>(alpha * static_cast<double>(sq[i]) + (1.0 - alpha) * d * d);
        double var = static_cast<double>(sq[i]);
        if constexpr (cen.value) {
          gavg[i] = static_cast<T>(alpha * static_cast<double>(gavg[i]) + (1.0 - alpha) * d);
          const double ga = static_cast<double>(gavg[i]);
          var -= ga * ga;
        }
        const double denom = std::sqrt(var) + eps;
        if constexpr (mom.value) {
          buf[i] = static_cast<T>(mu * static_cast<double>(buf[i]) + d / denom);
          w[i] = static_cast<T>(wi - lr * static_cast<double>(buf[i]));
        } else {
          w[i] = static_cast<T>(wi - lr * d / denom);
        }
      }
    });
  });
}

// --- Adagrad -------------------------------------------------------------------------------------------

enum AdagradOpt : std::size_t { kAgLr, kAgLrDecay, kAgWd, kAgInit, kAgEps };

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& options)
    : Adagrad(one_group<AdagradOptions>(std::move(params), options), options) {}

Adagrad::Adagrad(std::vector<ParamGroup<AdagradOptions>> groups, const AdagradOptions& defaults)
    : OptimizerWith(defaults, {"sum"}) {
  add_groups(std::move(groups));
}

void Adagrad::validate(std::span<const double> o) const {
  require(o[kAgLr] >= 0.0, "lr", "must be >= 0", o[kAgLr], "Adagrad");
  require(o[kAgLrDecay] >= 0.0, "lr_decay", "must be >= 0", o[kAgLrDecay], "Adagrad");
  require(o[kAgWd] >= 0.0, "weight_decay", "must be >= 0", o[kAgWd], "Adagrad");
  require(o[kAgInit] >= 0.0, "initial_accumulator_value", "must be >= 0", o[kAgInit], "Adagrad");
  require(o[kAgEps] >= 0.0, "eps", "must be >= 0", o[kAgEps], "Adagrad");
}

bool Adagrad::needs_buffer(std::span<const double>, std::size_t) const { return true; }

double Adagrad::buffer_init(std::span<const double> o, std::size_t) const { return o[kAgInit]; }

void Adagrad::update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned) {
  const double clr = o[kAgLr] / (1.0 + static_cast<double>(s.step - 1) * o[kAgLrDecay]);
  const double wd = o[kAgWd];
  const double eps = o[kAgEps];
  const std::int64_t n = p.numel();
  dispatch(p, [&]<class T>() {
    T* w = raw<T>(p);
    const T* gr = raw<T>(g);
    T* sum = raw<T>(s.buffers[0]);
    for (std::int64_t i = 0; i < n; ++i) {
      const double wi = static_cast<double>(w[i]);
      const double d = static_cast<double>(gr[i]) + wd * wi;
      sum[i] = static_cast<T>(static_cast<double>(sum[i]) + d * d);
      w[i] = static_cast<T>(wi - clr * d / (std::sqrt(static_cast<double>(sum[i])) + eps));
    }
  });
}

}  // namespace tg::nn
