// The 2-2-2 logistic network of the classic backpropagation walkthrough, in float64 tg::Var: shared by
// the backprop_walkthrough example and its test so both see exactly the same computation.
#pragma once

#include <array>

#include "tapegrad/tapegrad.hpp"

namespace worked {

/// The network's inputs, targets and learning rate (../shared/reference/worked_example.md).
inline constexpr double i1 = 0.05, i2 = 0.10, t1 = 0.01, t2 = 0.99, b1 = 0.35, b2 = 0.60, eta = 0.5;
/// The starting weights w1..w8.
inline constexpr std::array<double, 8> initial_weights = {0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55};

/// Every Var of one forward pass, labelled as in the walkthrough.
struct Forward {
  std::array<tg::Var, 8> w;
  tg::Var net_h1, out_h1, net_h2, out_h2, net_o1, out_o1, net_o2, out_o2, e_o1, e_o2, e_total;
};

/// Records one forward pass on the active tape, with leaf Vars for the eight weights.
inline Forward forward(const std::array<double, 8>& weights) {
  Forward f;
  for (std::size_t k = 0; k < 8; ++k) {
    f.w[k] = tg::Var(weights[k]);
    f.w[k].label("w" + std::to_string(k + 1));
  }
  const auto& w = f.w;
  f.net_h1 = (w[0] * i1 + w[1] * i2 + b1).label("net_h1");
  f.out_h1 = tg::sigmoid(f.net_h1).label("out_h1");
  f.net_h2 = (w[2] * i1 + w[3] * i2 + b1).label("net_h2");
  f.out_h2 = tg::sigmoid(f.net_h2).label("out_h2");
  f.net_o1 = (w[4] * f.out_h1 + w[5] * f.out_h2 + b2).label("net_o1");
  f.out_o1 = tg::sigmoid(f.net_o1).label("out_o1");
  f.net_o2 = (w[6] * f.out_h1 + w[7] * f.out_h2 + b2).label("net_o2");
  f.out_o2 = tg::sigmoid(f.net_o2).label("out_o2");
  // E_o1 and E_o2 stay unlabelled: explain() then collapses E_total -> E_o1 -> out_o1 into the single factor
  // ∂E_total/∂out_o1 that the walkthrough writes.
  f.e_o1 = 0.5 * tg::square(t1 - f.out_o1);
  f.e_o2 = 0.5 * tg::square(t2 - f.out_o2);
  f.e_total = (f.e_o1 + f.e_o2).label("E_total");
  return f;
}

/// One gradient-descent step: records a forward pass on a fresh tape, backpropagates and returns the
/// updated weights; `grads` (if given) receives ∂E/∂w and `error` the E_total of this forward pass.
inline std::array<double, 8> step(const std::array<double, 8>& weights, std::array<double, 8>* grads = nullptr,
                                  double* error = nullptr) {
  tg::ScopedTape tape;
  Forward f = forward(weights);
  f.e_total.backward();
  std::array<double, 8> next{};
  for (std::size_t k = 0; k < 8; ++k) {
    next[k] = weights[k] - eta * f.w[k].grad();
    if (grads) (*grads)[k] = f.w[k].grad();
  }
  if (error) *error = f.e_total.value();
  return next;
}

/// E_total and both outputs for the given weights, without recording anything.
inline std::array<double, 3> evaluate(const std::array<double, 8>& weights) {
  tg::NoGradGuard no_grad;
  Forward f = forward(weights);
  return {f.e_total.value(), f.out_o1.value(), f.out_o2.value()};
}

}  // namespace worked
