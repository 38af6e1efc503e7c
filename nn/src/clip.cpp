// Gradient clipping: the norm is accumulated in double over the raw gradient data, then every gradient
// is scaled with one in-place multiply, so clipping allocates nothing.
#include "tapegrad/nn/clip.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "tapegrad/ops.hpp"

namespace tg::nn {

namespace {

// Calls f(data, n) with the gradient's elements as float* or double*.
template <class F>
void visit_grad(const Tensor& g, F&& f) {
  if (g.dtype() == kFloat64) {
    f(g.data_ptr<double>(), g.numel());
  } else if (g.dtype() == kFloat32) {
    f(g.data_ptr<float>(), g.numel());
  } else {
    throw DtypeError(std::string("clip_grad: gradients must be float32 or float64, got ") + dtype_name(g.dtype()));
  }
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  if (!(norm_type > 0.0)) {
    throw ValueError("clip_grad_norm_: norm_type must be > 0 or infinity, got " + std::to_string(norm_type));
  }
  if (!(max_norm >= 0.0)) throw ValueError("clip_grad_norm_: max_norm must be >= 0, got " + std::to_string(max_norm));
  const bool inf = std::isinf(norm_type);
  double acc = 0.0;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    visit_grad(g.contiguous(), [&](auto* d, std::int64_t n) {
      for (std::int64_t i = 0; i < n; ++i) {
        const double a = std::abs(static_cast<double>(d[i]));
        if (inf) {
          acc = (a > acc || std::isnan(a)) ? a : acc;
        } else if (norm_type == 2.0) {
          acc += a * a;
        } else if (norm_type == 1.0) {
          acc += a;
        } else {
          acc += std::pow(a, norm_type);
        }
      }
    });
  }
  const double total = inf ? acc : (norm_type == 2.0 ? std::sqrt(acc) : std::pow(acc, 1.0 / norm_type));
  if (error_if_nonfinite && !std::isfinite(total)) {
    throw ValueError("clip_grad_norm_: the total norm of order " + std::to_string(norm_type) +
                     " of the gradients is non-finite, so it cannot be clipped");
  }
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    NoGradGuard no_grad;
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.mul_(coef);
    }
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  if (!(clip_value >= 0.0)) {
    throw ValueError("clip_grad_value_: clip_value must be >= 0, got " + std::to_string(clip_value));
  }
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (!g.is_contiguous()) {
      g.copy_(clamp(g, -clip_value, clip_value));
      continue;
    }
    visit_grad(g, [&](auto* d, std::int64_t n) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(d)>>;
      const T hi = static_cast<T>(clip_value);
      for (std::int64_t i = 0; i < n; ++i) d[i] = std::clamp(d[i], static_cast<T>(-hi), hi);
    });
    ++g.impl()->storage->version;
  }
}

}  // namespace tg::nn
