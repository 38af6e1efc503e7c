// Central-difference check of a module's gradients: with respect to its float inputs AND every parameter
// (perturbed in place), so a layer's test runs the real module rather than a functional stand-in.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <vector>

#include "support/tensor_check.hpp"
#include "tapegrad/nn/nn.hpp"

namespace tgtest {

/// Checks d/d(float inputs, parameters of m) of L = Σ w ⊙ f(inputs) against float64 central differences.
/// m must already be float64; int64 inputs (indices) are passed through unchanged.
inline TensorCheckResult check_module_grad(tg::nn::Module& m,
                                           const std::function<tg::Tensor(const std::vector<tg::Tensor>&)>& f,
                                           const std::vector<tg::Tensor>& inputs, double rtol = 1e-5,
                                           double atol = 1e-6) {
  tg::ScopedTape scope;
  std::vector<tg::Tensor> xs;
  for (const tg::Tensor& in : inputs) {
    tg::Tensor x = in.detach().clone().detach();
    if (tg::is_floating(x.dtype())) x = x.to(tg::kFloat64).requires_grad_(true);
    xs.push_back(x);
  }
  m.zero_grad();
  const tg::Tensor y = f(xs);
  tg::Generator gen(99);
  const tg::Tensor w = tg::uniform(y.shape(), 0.5, 1.5, f64, &gen);
  auto loss_of = [&](const std::vector<tg::Tensor>& args) {
    tg::NoGradGuard ng;
    return (f(args) * w).sum().item();
  };
  (y * w).sum().backward();
  TensorCheckResult r;
  std::ostringstream os;
  os.precision(10);
  auto compare = [&](const char* what, std::size_t k, std::size_t i, double analytic, double numeric) {
    if (!(std::abs(analytic - numeric) <= atol + rtol * std::abs(numeric))) {
      r.ok = false;
      os << what << " " << k << " element " << i << ": backward " << analytic << ", central difference " << numeric
         << "\n";
    }
  };
  for (std::size_t k = 0; k < xs.size(); ++k) {
    if (!tg::is_floating(xs[k].dtype())) continue;
    const tg::Tensor g = xs[k].grad();
    const std::vector<double> analytic = g.defined() ? g.to_vector<double>() : std::vector<double>(xs[k].numel(), 0.0);
    const std::vector<double> base = xs[k].to_vector<double>();
    for (std::size_t i = 0; i < base.size(); ++i) {
      const double h = 1e-6 * std::max(1.0, std::abs(base[i]));
      auto eval = [&](double v) {
        std::vector<double> p = base;
        p[i] = v;
        std::vector<tg::Tensor> args = xs;
        args[k] = tg::tensor(p, xs[k].shape());
        return loss_of(args);
      };
      compare("input", k, i, analytic[i], (eval(base[i] + h) - eval(base[i] - h)) / (2 * h));
    }
  }
  const std::vector<tg::Tensor> params = m.parameters();
  for (std::size_t k = 0; k < params.size(); ++k) {
    const tg::Tensor& p = params[k];
    if (!p.requires_grad()) continue;
    REQUIRE(p.dtype() == tg::kFloat64);
    REQUIRE(p.is_contiguous());
    const tg::Tensor g = p.grad();
    const std::vector<double> analytic = g.defined() ? g.to_vector<double>() : std::vector<double>(p.numel(), 0.0);
    double* data = p.data_ptr<double>();
    for (std::size_t i = 0; i < analytic.size(); ++i) {
      const double base = data[i];
      const double h = 1e-6 * std::max(1.0, std::abs(base));
      data[i] = base + h;
      const double up = loss_of(xs);
      data[i] = base - h;
      const double down = loss_of(xs);
      data[i] = base;
      compare("parameter", k, i, analytic[i], (up - down) / (2 * h));
    }
  }
  r.report = os.str();
  return r;
}

}  // namespace tgtest

/// CHECKs a module's input and parameter gradients against central differences (see check_module_grad).
#define CHECK_MODULE_GRAD(...)                                    \
  do {                                                            \
    const auto tg_mcheck_ = tgtest::check_module_grad(__VA_ARGS__); \
    CHECK_MESSAGE(tg_mcheck_.ok, tg_mcheck_.report);              \
  } while (0)
