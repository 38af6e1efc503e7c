// Higher-order derivatives of tensor functions: grad with create_graph, and the Jacobian, Hessian and
// Jacobian/Hessian-vector products built on it.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "tapegrad/ops.hpp"
#include "tapegrad/tensor.hpp"

namespace tg {

/// A tensor function of one tensor, as the helpers below take it.
using TensorFunction = std::function<Tensor(const Tensor&)>;

// Gradients that can be differentiated again come from tg::grad (ops.hpp) with create_graph:
// `tg::grad({loss}, {x}, {}, {.create_graph = true})` records the backward on the same tape, to any order.

/// Options of the functional helpers.
struct FunctionalOptions {
  /// Keep the results differentiable (recorded on the active tape); otherwise they are detached values.
  bool create_graph = false;
};

/// A value and a product of a derivative with a vector, as returned by vjp, jvp and hvp.
struct ValueAndProduct {
  Tensor value;    ///< f(x)
  Tensor product;  ///< the derivative product
};

/// The Jacobian of f at x, shaped [f(x).shape..., x.shape...]: entry (i, j) is d f(x)_i / d x_j.
/// Costs one backward sweep per element of f(x). f is recorded on the active tape.
Tensor jacobian(const TensorFunction& f, const Tensor& x, FunctionalOptions opts = {});

/// The Hessian of a one-element f at x, shaped [x.shape..., x.shape...]. One backward per element of x,
/// each through a recorded gradient (double backward).
Tensor hessian(const TensorFunction& f, const Tensor& x, FunctionalOptions opts = {});

/// (f(x), vᵀ J): v has f(x)'s shape, the product has x's shape. One backward sweep.
ValueAndProduct vjp(const TensorFunction& f, const Tensor& x, const Tensor& v, FunctionalOptions opts = {});

/// (f(x), J v): v has x's shape, the product has f(x)'s shape. Forward mode by the double-backward trick:
/// u ↦ Jᵀu is linear in u, and its vector-Jacobian product with v is J v. Two backward sweeps.
ValueAndProduct jvp(const TensorFunction& f, const Tensor& x, const Tensor& v, FunctionalOptions opts = {});

/// (f(x), H v) for a one-element f, without forming H: the gradient of (∇f · v). Two backward sweeps.
ValueAndProduct hvp(const TensorFunction& f, const Tensor& x, const Tensor& v, FunctionalOptions opts = {});

}  // namespace tg
