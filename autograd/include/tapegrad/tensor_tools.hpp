// Gradient-checking tools for tensor functions: gradcheck, user-defined tensor ops, tracing (which keeps
// each recorded op's inputs so that gradcheck can re-run it alone) and DOT export of tensor graphs.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/gradcheck.hpp"
#include "tapegrad/graph.hpp"
#include "tapegrad/tensor_node.hpp"

namespace tg {

/// A differentiable function of tensors, as gradcheck sees it. Write the parameter type out
/// (`[](const std::vector<tg::Tensor>& x) { ... }`): a generic lambda would match the Var overload too.
using TensorListFunction = std::function<Tensor(const std::vector<Tensor>&)>;

/// Within its scope every recorded tensor op also keeps its inputs (constants included) and its output,
/// so that gradcheck can re-run it on its own, and DOT export can show inner values and labels. Costs a
/// reference per input and output (their memory stays alive until the tape is reset). Guards nest.
class TensorTraceGuard {
 public:
  /// Turns tracing on (or, with false, off) until the guard is destroyed.
  explicit TensorTraceGuard(bool enabled = true) : prev_(detail::tl_tensor_trace) {
    detail::tl_tensor_trace = enabled;
  }
  TensorTraceGuard(const TensorTraceGuard&) = delete;
  TensorTraceGuard& operator=(const TensorTraceGuard&) = delete;
  ~TensorTraceGuard() { detail::tl_tensor_trace = prev_; }

 private:
  bool prev_;
};

/// Checks the gradient of a tensor function at `inputs` against float64 central differences. Inputs are
/// converted to float64 (the report says so for float32 ones). A one-element output is differentiated
/// directly; a larger one through L = sum(out * w) for a fixed random w (seeded), which tests every row of
/// the Jacobian at once. Each input gets its max absolute and relative error and its worst element (flat
/// and as a multi-index). The forward is recorded under TensorTraceGuard, so on failure each built-in
/// parameter-free op (exp, mul, matmul, ...) and each custom_tensor_op is re-run alone at its recorded
/// inputs and the first one whose backward disagrees is named (GradcheckResult::fault).
GradcheckResult gradcheck(const TensorListFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

/// A user-defined differentiable tensor op (as torch.autograd.Function): calling it runs `forward` with
/// recording off and, when an input requires grad, records one node whose backward calls `backward`.
///
///     auto cube = tg::custom_tensor_op("cube",
///         [](const std::vector<tg::Tensor>& x) { return x[0] * x[0] * x[0]; },
///         [](const std::vector<tg::Tensor>& x, const tg::Tensor&, const tg::Tensor& g) {
///           return std::vector<tg::Tensor>{g * 3.0 * x[0] * x[0]};
///         });
class CustomTensorOp {
 public:
  /// The output from the inputs (run with recording off).
  using Forward = std::function<Tensor(const std::vector<Tensor>& inputs)>;
  /// The gradient of each input from the inputs, the output and the output's gradient: one tensor per
  /// input, of that input's shape (an undefined tensor means zero).
  using Backward = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, const Tensor& output,
                                                     const Tensor& grad_output)>;

  /// Defines op `name`. Throws ValueError for an empty name or a missing function.
  CustomTensorOp(std::string name, Forward forward, Backward backward);

  /// Applies the op (and records it when an input requires grad and recording is on).
  Tensor operator()(const std::vector<Tensor>& inputs) const;
  /// Applies the op to tensors given as arguments: `op(a, b)`.
  template <class... T>
    requires(sizeof...(T) > 0 && (std::same_as<std::remove_cvref_t<T>, Tensor> && ...))
  Tensor operator()(const T&... xs) const {
    return (*this)(std::vector<Tensor>{xs...});
  }
  /// The op's name.
  const std::string& name() const;

  /// The definition shared by the op and its recordings (internal).
  struct Def;

 private:
  std::shared_ptr<const Def> def_;
};

/// Defines a custom tensor op; see CustomTensorOp.
inline CustomTensorOp custom_tensor_op(std::string name, CustomTensorOp::Forward forward,
                                       CustomTensorOp::Backward backward) {
  return CustomTensorOp(std::move(name), std::move(forward), std::move(backward));
}

/// The recorded graph behind tensor y as a DOT digraph: one node per op (name, label, output shape and, when
/// traced or for y itself, a value summary), leaves as boxes (label, shape, values, .grad() summary), edges
/// from inputs to the ops that read them, marked with the input's position.
std::string to_dot(const Tensor& y, const DotOptions& options = {});

/// Writes to_dot(y) to `path` and renders it to SVG when Graphviz is installed (see write_graph for Var).
GraphFiles write_graph(const Tensor& y, const std::string& path, const DotOptions& options = {});

}  // namespace tg
