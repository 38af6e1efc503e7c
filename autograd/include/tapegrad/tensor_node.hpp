// The recorded form of a tensor op: a Node on the tape that knows its inputs, saves what its backward
// needs (version-checked), accumulates its output's gradient and pushes gradients into its inputs.
// Tooling (gradcheck, explain, graph export) walks tensor graphs through this interface; user-defined
// tensor ops subclass it.
#pragma once

#include <cstdint>

#include "tapegrad/tensor.hpp"

namespace tg {

namespace detail {
struct TensorTrace;
/// Set by TensorTraceGuard (tensor_tools.hpp): recorded tensor ops also keep their inputs and output.
inline thread_local bool tl_tensor_trace = false;
/// The one flag test of the tensor recording path: tracing or anomaly mode is on.
inline bool tensor_tools_on() { return tl_tensor_trace || tl_anomaly; }
}  // namespace detail

/// One input of a recorded op: where its gradient goes (the producing node on the same tape, or a leaf
/// that requires grad), and its shape (gradients are summed back to it when broadcasting widened it).
struct TensorEdge {
  TensorNode* node = nullptr;
  detail::Ref<detail::TensorImpl> leaf;
  Shape shape;
  /// True when a gradient is wanted for this input.
  bool live() const { return node != nullptr || static_cast<bool>(leaf); }
};

/// A tensor saved for backward, with the storage version at save time: an in-place change before the
/// backward is detected and reported instead of silently producing a wrong gradient.
struct SavedTensor {
  Tensor tensor;
  std::uint64_t version = 0;
};

/// Base class of every recorded tensor op (one output).
class TensorNode : public Node {
 public:
  /// Runs the op's backward with the gradient accumulated for its output.
  void backward(BackwardContext& ctx) final;
  bool has_grad() const final { return grad_.defined(); }
  /// Drops the saved tensors (called after a backward that does not retain the graph).
  void release() override;

  /// Number of inputs (tensor inputs; Var inputs of from_vars are not counted).
  std::size_t num_inputs() const { return edges_.size(); }
  /// Input i's edge: its producing node (nullptr for a leaf or an input that needs no gradient).
  const TensorEdge& input(std::size_t i) const { return edges_[i]; }
  /// The output's shape.
  const Shape& output_shape() const { return out_shape_; }
  /// The output's dtype.
  Dtype output_dtype() const { return out_dtype_; }
  /// Adds g to the gradient of the output (used by the sweep and the backward entry points).
  void accumulate(Tensor g) {
    if (!grad_.defined()) {
      grad_ = std::move(g);  // the first gradient to arrive is adopted as is
      return;
    }
    accumulate_more(std::move(g));
  }

  // --- recording (used by ops) -----------------------------------------------------------------------
  /// Appends an input edge (a no-gradient edge when the input does not require grad).
  void add_input(const Tensor& t);
  /// Saves a tensor for backward (its version is checked when it is read back with saved()).
  void save(const Tensor& t);
  /// Records this node on the active tape as the producer of `out` (marks out as requiring grad).
  void finish(Tensor& out);

  // --- introspection for the tools (tensor_introspect.cpp) -------------------------------------------
  /// The producing nodes' slots of the inputs that have one (leaves have no slot).
  void input_slots(std::vector<std::uint32_t>& out) const override;
  /// The output's value when it has one element and was traced; NaN otherwise.
  double scalar_value() const override;
  /// Re-runnable description of the op (needs tracing; parameter-free built-in ops only). A subclass with
  /// its own forward (custom_tensor_op) overrides it.
  bool local_op(LocalOp& out) const override;
  /// The gradient accumulated for the output so far in the running sweep (undefined if none).
  const Tensor& pending_grad() const { return grad_; }
  /// True once release() dropped the saved tensors.
  bool released() const { return released_; }
  /// Inputs and output kept while tracing or anomaly mode was on; nullptr otherwise (arena-owned).
  detail::TensorTrace* trace = nullptr;

  // --- state used by the backward entry points -------------------------------------------------------
  detail::Ref<detail::TensorImpl> retained;  // set by retain_grad()
  int capture = -1;                          // index in the active tg::grad() capture, or -1

 protected:
  /// Computes the input gradients from g (the output's gradient) and hands each to push().
  virtual void apply(BackwardContext& ctx, const Tensor& g) = 0;
  /// What backward() calls, handing over the output's gradient: the default runs apply(ctx, g). A node
  /// whose input gradient is a view of g (a transpose, say) overrides it to let go of g before pushing,
  /// so that the view, then the only owner of its storage, can become a leaf's .grad() without a copy.
  virtual void apply_owned(BackwardContext& ctx, Tensor g) { apply(ctx, g); }
  /// True when input i wants a gradient.
  bool needs(std::size_t i) const { return edges_[i].live(); }
  /// Sends gradient gi to input i (summed to its shape first when broadcasting widened it).
  void push(std::size_t i, Tensor&& gi);
  /// Same, sharing gi; nothing is copied when input i wants no gradient.
  void push(std::size_t i, const Tensor& gi) {
    if (edges_[i].live() && gi.defined()) push(i, Tensor(gi));
  }
  /// Saved tensor i; throws ValueError if it was modified in place since it was saved.
  const Tensor& saved(std::size_t i) const {
    if (!released_ && i < saved_.size()) [[likely]] {
      const SavedTensor& s = saved_[i];
      if (!s.tensor.defined() || s.tensor.version() == s.version) [[likely]] return s.tensor;
    }
    saved_failed(i);
  }
  /// True while backward runs with create_graph (the formulas are then recorded).
  bool creating() const { return creating_; }

 private:
  // The out-of-line halves of accumulate() and saved().
  void accumulate_more(Tensor g);
  [[noreturn]] void saved_failed(std::size_t i) const;

  Tensor grad_;
  boost::container::small_vector<TensorEdge, 2> edges_;
  boost::container::small_vector<SavedTensor, 2> saved_;
  Shape out_shape_;
  Dtype out_dtype_ = kFloat32;
  bool creating_ = false;
  bool released_ = false;
};

namespace detail {
/// True when an op with these inputs must be recorded (recording is on and one input requires grad).
inline bool any_requires_grad(std::initializer_list<const Tensor*> ts) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : ts) {
    if (t->requires_grad()) return true;
  }
  return false;
}
/// Sends gradient g into a leaf's (or retained tensor's) .grad(), or into the active tg::grad() capture.
void accumulate_leaf(TensorImpl& leaf, Tensor g);
/// Sums g down to `shape` (the reverse of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);
/// Slow paths of the recording path while tensor_tools_on(): keep an input; keep (and in anomaly mode
/// check) the output. Defined in tensor_introspect.cpp.
void trace_input(TensorNode& node, const Tensor& t);
void trace_output(TensorNode& node, const Tensor& out);
}  // namespace detail

}  // namespace tg
