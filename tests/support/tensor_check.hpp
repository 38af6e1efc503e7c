// The one gradient checker for tensor ops: compares backward() of any tensor function with float64
// central differences, so each op's test is a line or two:
//
//     CHECK_TENSOR_GRAD([](const auto& x) { return tg::exp(x[0]); }, {tg::randn({2, 3}, f64)});
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace tgtest {

inline constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};

/// Options of check_tensor_grad.
struct TensorCheckOptions {
  /// Feed every input as a non-contiguous view (a transpose for ≥2-d, a stride-2 slice for 1-d).
  bool noncontiguous = false;
  double rtol = 1e-5;
  double atol = 1e-6;
};

/// The outcome: ok, or a report naming the input, the element, and both derivatives.
struct TensorCheckResult {
  bool ok = true;
  std::string report;
};

/// The same values as t (float64) as a leaf, laid out non-contiguously.
inline tg::Tensor noncontiguous_copy(const tg::Tensor& t) {
  tg::NoGradGuard ng;
  if (t.dim() >= 2) {
    return t.transpose(0, 1).contiguous().transpose(0, 1).detach();
  }
  if (t.dim() == 1) {
    return tg::stack({t, t}, 1).reshape({-1}).slice(0, 0, 2 * t.numel(), 2).detach();
  }
  return t.clone().detach();
}

/// Checks d/d inputs of L = Σ w ⊙ f(inputs), with w fixed random weights, against central differences
/// computed in float64 (inputs are converted to float64 first).
inline TensorCheckResult check_tensor_grad(const std::function<tg::Tensor(const std::vector<tg::Tensor>&)>& f,
                                           const std::vector<tg::Tensor>& inputs, TensorCheckOptions opts = {}) {
  tg::ScopedTape scope;
  std::vector<tg::Tensor> xs;
  for (const tg::Tensor& in : inputs) {
    tg::Tensor x = in.detach().to(tg::kFloat64).clone().detach();
    if (opts.noncontiguous) x = noncontiguous_copy(x);
    x.requires_grad_(true);
    xs.push_back(x);
  }
  tg::Tensor y = f(xs);
  tg::Generator gen(1234);
  const tg::Tensor w = tg::uniform(y.shape(), 0.5, 1.5, f64, &gen);
  auto loss_of = [&](const std::vector<tg::Tensor>& args) {
    tg::NoGradGuard ng;
    const std::vector<double> yv = f(args).to(tg::kFloat64).to_vector<double>();
    const std::vector<double> wv = w.to_vector<double>();
    double s = 0;
    for (std::size_t i = 0; i < yv.size(); ++i) s += yv[i] * wv[i];
    return s;
  };
  tg::Tensor loss = (y.to(tg::kFloat64) * w).sum();
  TensorCheckResult r;
  if (!loss.requires_grad()) {
    r.ok = false;
    r.report = "the output does not require grad";
    return r;
  }
  loss.backward();
  std::ostringstream os;
  os.precision(10);
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const tg::Tensor g = xs[k].grad();
    std::vector<double> analytic = g.defined() ? g.to_vector<double>() : std::vector<double>(xs[k].numel(), 0.0);
    if (g.defined() && g.shape() != xs[k].shape()) {
      r.ok = false;
      os << "input " << k << ": gradient shape " << tg::shape_str(g.shape()) << " != input shape "
         << tg::shape_str(xs[k].shape()) << "\n";
      continue;
    }
    std::vector<double> base = xs[k].to_vector<double>();
    for (std::size_t i = 0; i < base.size(); ++i) {
      const double h = 1e-6 * std::max(1.0, std::abs(base[i]));
      auto eval = [&](double v) {
        std::vector<double> p = base;
        p[i] = v;
        std::vector<tg::Tensor> args = xs;
        args[k] = tg::tensor(p, xs[k].shape());
        return loss_of(args);
      };
      const double numeric = (eval(base[i] + h) - eval(base[i] - h)) / (2 * h);
      if (!(std::abs(analytic[i] - numeric) <= opts.atol + opts.rtol * std::abs(numeric))) {
        r.ok = false;
        os << "input " << k << " element " << i << ": backward " << analytic[i] << ", central difference "
           << numeric << "\n";
      }
    }
  }
  r.report = os.str();
  return r;
}

}  // namespace tgtest

/// CHECKs the gradient of a tensor function against central differences (see check_tensor_grad).
#define CHECK_TENSOR_GRAD(...)                                   \
  do {                                                           \
    const auto tg_check_ = tgtest::check_tensor_grad(__VA_ARGS__); \
    CHECK_MESSAGE(tg_check_.ok, tg_check_.report);               \
  } while (0)
