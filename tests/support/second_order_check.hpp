// Second-order checks for tensor functions: a double-backward (gradient of gradient · u) against float64
// central differences of the first-order gradient, the independent truth for Hessian-vector products.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace tgtest {

using TensorFn = std::function<tg::Tensor(const std::vector<tg::Tensor>&)>;

/// First-order gradients of the scalar loss(xs), each flattened to float64 (a plain backward, no graph).
inline std::vector<std::vector<double>> first_grads(const TensorFn& loss, const std::vector<tg::Tensor>& at) {
  tg::ScopedTape scope;
  std::vector<tg::Tensor> xs;
  for (const tg::Tensor& a : at) {
    tg::Tensor x = a.detach().clone().detach();
    x.requires_grad_(true);
    xs.push_back(x);
  }
  const std::vector<tg::Tensor> gs = tg::grad({loss(xs)}, xs);
  std::vector<std::vector<double>> out;
  for (const tg::Tensor& g : gs) out.push_back(g.to(tg::kFloat64).to_vector<double>());
  return out;
}

/// The outcome of check_second_order: ok, or a report naming the input, the element and both values.
struct SecondOrderResult {
  bool ok = true;
  std::string report;
};

/// Checks d/dx [Σ_k ∇_k loss(x) · u_k] (computed by a create_graph backward and a second backward)
/// against central differences of the first-order gradient, with fixed random directions u_k.
inline SecondOrderResult check_second_order(const TensorFn& loss, const std::vector<tg::Tensor>& inputs,
                                            double rtol = 1e-5, double atol = 1e-6) {
  std::vector<tg::Tensor> us;
  tg::Generator gen(99);
  for (const tg::Tensor& in : inputs) us.push_back(tg::uniform(in.shape(), -1.0, 1.0, {.dtype = in.dtype()}, &gen));
  std::vector<std::vector<double>> analytic;
  {
    tg::ScopedTape scope;
    std::vector<tg::Tensor> xs;
    for (const tg::Tensor& a : inputs) {
      tg::Tensor x = a.detach().clone().detach();
      x.requires_grad_(true);
      xs.push_back(x);
    }
    const std::vector<tg::Tensor> gs = tg::grad({loss(xs)}, xs, {}, {.create_graph = true});
    tg::Tensor phi = tg::zeros({}, {.dtype = inputs[0].dtype()});
    for (std::size_t k = 0; k < gs.size(); ++k) phi = phi + (gs[k] * us[k]).sum();
    for (const tg::Tensor& h : tg::grad({phi}, xs)) analytic.push_back(h.to(tg::kFloat64).to_vector<double>());
  }
  auto phi_at = [&](const std::vector<tg::Tensor>& at) {
    const std::vector<std::vector<double>> gs = first_grads(loss, at);
    double s = 0;
    for (std::size_t k = 0; k < gs.size(); ++k) {
      const std::vector<double> u = us[k].to(tg::kFloat64).to_vector<double>();
      for (std::size_t i = 0; i < u.size(); ++i) s += gs[k][i] * u[i];
    }
    return s;
  };
  SecondOrderResult r;
  std::ostringstream os;
  os.precision(10);
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const std::vector<double> base = inputs[k].to(tg::kFloat64).to_vector<double>();
    for (std::size_t i = 0; i < base.size(); ++i) {
      const double h = 1e-5 * std::max(1.0, std::abs(base[i]));
      auto eval = [&](double v) {
        std::vector<double> p = base;
        p[i] = v;
        std::vector<tg::Tensor> at = inputs;
        at[k] = tg::tensor(std::span<const double>(p), inputs[k].shape(), {.dtype = inputs[k].dtype()});
        return phi_at(at);
      };
      const double numeric = (eval(base[i] + h) - eval(base[i] - h)) / (2 * h);
      if (!(std::abs(analytic[k][i] - numeric) <= atol + rtol * std::abs(numeric))) {
        r.ok = false;
        os << "input " << k << " element " << i << ": double backward " << analytic[k][i]
           << ", central difference of the gradient " << numeric << "\n";
      }
    }
  }
  r.report = os.str();
  return r;
}

/// A float64 central-difference Hessian of a one-element f at x (columns from first-order gradients).
inline std::vector<std::vector<double>> numeric_hessian(const std::function<tg::Tensor(const tg::Tensor&)>& f,
                                                        const tg::Tensor& x) {
  const std::vector<double> base = x.to(tg::kFloat64).to_vector<double>();
  const std::size_t n = base.size();
  std::vector<std::vector<double>> h(n, std::vector<double>(n));
  auto loss = [&](const std::vector<tg::Tensor>& xs) { return f(xs[0]); };
  for (std::size_t j = 0; j < n; ++j) {
    const double step = 1e-5 * std::max(1.0, std::abs(base[j]));
    auto grad_at = [&](double v) {
      std::vector<double> p = base;
      p[j] = v;
      return first_grads(loss, {tg::tensor(std::span<const double>(p), x.shape(), {.dtype = x.dtype()})})[0];
    };
    const std::vector<double> gp = grad_at(base[j] + step);
    const std::vector<double> gm = grad_at(base[j] - step);
    for (std::size_t i = 0; i < n; ++i) h[i][j] = (gp[i] - gm[i]) / (2 * step);
  }
  return h;
}

}  // namespace tgtest

/// CHECKs a second-order derivative of a scalar tensor loss against central differences of its gradient.
#define CHECK_SECOND_ORDER(...)                                       \
  do {                                                                \
    const auto tg_so_ = tgtest::check_second_order(__VA_ARGS__);      \
    CHECK_MESSAGE(tg_so_.ok, tg_so_.report);                          \
  } while (0)
