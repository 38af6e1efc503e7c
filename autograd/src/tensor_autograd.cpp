// Tensor autograd on the shared tape: recording, gradient accumulation (PyTorch semantics for .grad()),
// the backward entry points, tg::grad(), and the bridges between Tensor and the scalar Var.
#include <algorithm>
#include <sstream>

#include "ops/kernels.hpp"
#include "tapegrad/ops.hpp"
#include "tapegrad/tensor_node.hpp"

namespace tg {

namespace detail {

namespace {

// The targets of a running tg::grad(): gradients reaching them are collected here instead of .grad().
struct GradCapture {
  std::vector<TensorImpl*> leaves;
  std::vector<Tensor> grads;
};
thread_local GradCapture* tl_capture = nullptr;

void add_into(Tensor& acc, Tensor g) {
  if (!acc.defined()) {
    acc = std::move(g);
    return;
  }
  if (grad_enabled() || !exclusive(acc)) {
    acc = add(acc, g);
    return;
  }
  acc.add_(g);
}

}  // namespace

void accumulate_leaf(TensorImpl& leaf, Tensor g) {
  if (GradCapture* c = tl_capture) {
    for (std::size_t i = 0; i < c->leaves.size(); ++i) {
      if (c->leaves[i] == &leaf) add_into(c->grads[i], std::move(g));
    }
    return;
  }
  if (g.requires_grad() && grad_enabled()) {
    // backward(create_graph): the gradient is itself recorded, and .grad() keeps it differentiable.
    leaf.grad = (leaf.grad ? add(Tensor(leaf.grad), g) : g).impl_ref();
    return;
  }
  NoGradGuard no_grad;
  if (!leaf.grad) {
    Tensor own = exclusive(g) ? std::move(g) : copy_contiguous(g);
    leaf.grad = own.impl_ref();
    return;
  }
  // The usual step: same shape, both contiguous. add_() would check the same and go through a handle
  // copy of leaf.grad (two atomic refcount updates).
  TensorImpl& acc = *leaf.grad;
  const TensorImpl& gi = *g.impl();
  if (acc.contiguous && gi.contiguous && acc.dtype == gi.dtype && is_floating(acc.dtype) &&
      same_shape(acc.shape, gi.shape)) {
    dispatch_float(acc.dtype, "add_", [&]<class T>() {
      T* p = acc.data<T>();
      const T* q = gi.data<T>();
      for (std::int64_t i = 0; i < acc.numel; ++i) p[i] = p[i] + q[i];
    });
    ++acc.storage->version;
    return;
  }
  Tensor(leaf.grad).add_(g);
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (same_shape(g.shape(), shape)) return g;
  const std::size_t lead = g.shape().size() - shape.size();
  Shape dims;
  for (std::size_t i = 0; i < g.shape().size(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) dims.push_back(static_cast<std::int64_t>(i));
  }
  Tensor s = dims.empty() ? g : sum(g, dims, true);
  return same_shape(s.shape(), shape) ? s : reshape(s, shape);
}

}  // namespace detail

void TensorNode::add_input(const Tensor& t) {
  if (detail::tensor_tools_on()) [[unlikely]] detail::trace_input(*this, t);
  TensorEdge& e = edges_.emplace_back();
  detail::copy_shape(e.shape, t.shape());
  if (t.requires_grad()) {
    detail::TensorImpl* impl = t.impl();
    if (impl->node != nullptr) {
      if (impl->stamp != Tape::active().stamp()) {
        std::ostringstream os;
        os << name() << ": an input";
        if (!impl->label.empty()) os << " ('" << impl->label << "')";
        os << (Tape::find(impl->stamp) ? " was recorded on another tape than the active one (an outer "
                                         "ScopedTape?); gradients cannot cross tapes"
                                       : " " + Tape::why_gone(impl->stamp))
           << ". Use .detach() to pass its value on as a constant";
        throw TapeError(os.str());
      }
      e.node = impl->node;
    } else {
      e.leaf = t.impl_ref();
    }
  }
}

void TensorNode::save(const Tensor& t) {
  if (t.defined() && tape_memory_limit() != 0) [[unlikely]] {
    const detail::Storage* s = t.impl()->storage.get();
    Tape::active().note_saved(s, s->nbytes, name());
  }
  saved_.push_back({t, t.defined() ? t.version() : 0});
}

void TensorNode::finish(Tensor& out) {
  detail::copy_shape(out_shape_, out.shape());
  out_dtype_ = out.dtype();
  if (detail::tensor_tools_on()) [[unlikely]] detail::trace_output(*this, out);
  Tape& tape = Tape::active();
  tape.push_node(this);
  detail::TensorImpl* impl = out.impl();
  impl->node = this;
  impl->stamp = tape.stamp();
  impl->requires_grad = true;
}

void TensorNode::release() {
  saved_.clear();
  released_ = true;
}

void TensorNode::saved_failed(std::size_t i) const {
  if (released_ || i >= saved_.size()) {
    throw TapeError(std::string("backward: the tensors saved by '") + name() +
                    "' were already freed by an earlier backward(); pass BackwardOptions{.retain_graph = "
                    "true} to the first backward");
  }
  const SavedTensor& s = saved_[i];
  if (s.tensor.defined() && s.tensor.version() != s.version) {
    std::ostringstream os;
    os << "backward: a tensor needed for the gradient of '" << name() << "'";
    if (!s.tensor.label().empty()) os << " ('" << s.tensor.label() << "')";
    os << " (shape " << shape_str(s.tensor.shape()) << ") was modified by an in-place operation: it is at "
       << "version " << s.tensor.version() << ", but was at version " << s.version
       << " when recorded. Use an out-of-place op, or .clone() it before changing it";
    throw ValueError(os.str());
  }
  throw TapeError(std::string("backward: saved tensor ") + std::to_string(i) + " of '" + name() +
                  "' failed a check that it passes now");
}

void TensorNode::accumulate_more(Tensor g) { detail::add_into(grad_, std::move(g)); }

void TensorNode::push(std::size_t i, Tensor&& gi) {
  TensorEdge& e = edges_[i];
  if (!e.live() || !gi.defined()) return;
  if (!detail::same_shape(gi.shape(), e.shape)) gi = detail::sum_to(gi, e.shape);
  if (e.node != nullptr) {
    e.node->accumulate(std::move(gi));
  } else {
    detail::accumulate_leaf(*e.leaf, std::move(gi));
  }
}

void TensorNode::backward(BackwardContext& ctx) {
  Tensor g = std::move(grad_);  // leaves grad_ undefined: has_grad() is false until a new gradient arrives
  if (capture >= 0 && detail::tl_capture != nullptr) {
    detail::add_into(detail::tl_capture->grads[static_cast<std::size_t>(capture)], g);
  } else if (retained && detail::tl_capture == nullptr) {
    detail::accumulate_leaf(*retained, g);
  }
  creating_ = ctx.create_graph;
  if (ctx.create_graph) {
    // As PyTorch: create_graph records the backward even when it was started under NoGradGuard.
    struct EnableGrad {
      bool prev = detail::tl_grad_enabled;
      EnableGrad() { detail::tl_grad_enabled = true; }
      ~EnableGrad() { detail::tl_grad_enabled = prev; }
    } enable;
    apply_owned(ctx, std::move(g));
  } else {
    NoGradGuard no_grad;
    apply_owned(ctx, std::move(g));
  }
}

// --- backward entry points ---------------------------------------------------------------------------

namespace {

Tape& tape_of(const Tensor& t, const char* op) {
  Tape* tape = Tape::find(t.impl()->stamp);
  if (tape == nullptr) {
    throw TapeError(std::string(op) + ": this tensor " + Tape::why_gone(t.impl()->stamp) + "; "
                                      "record the forward again");
  }
  return *tape;
}

void check_seed(const Tensor& out, const Tensor& seed) {
  detail::check_defined("backward", seed);
  if (seed.shape() != out.shape()) {
    throw ShapeError("backward: the gradient has shape " + shape_str(seed.shape()) + " but the output has " +
                     detail::operand_str(out));
  }
  detail::check_same_dtype("backward", out, seed);
}

// Backpropagates from `out` with the seed `user` (a caller's tensor), or with `owned` when `user` is null:
// a seed made here and handed over, which the first backward may then overwrite in place.
void run_backward(const Tensor& out, const Tensor* user, Tensor owned, BackwardOptions opts) {
  const Tensor& grad = user != nullptr ? *user : owned;
  detail::check_defined("backward", out);
  if (!out.requires_grad()) {
    throw ValueError("backward: this tensor does not require grad and has no recorded graph (no input "
                     "called requires_grad_(), or it was computed under NoGradGuard)");
  }
  check_seed(out, grad);
  if (out.is_leaf()) {
    detail::accumulate_leaf(*out.impl(), grad.clone().detach());
    return;
  }
  Tape& tape = tape_of(out, "backward");
  TensorNode* node = out.impl()->node;
  if (user == nullptr) {
    node->accumulate(std::move(owned));
  } else {
    node->accumulate(grad.requires_grad() && !opts.create_graph ? grad.detach() : grad);
  }
  tape.backward(node->slot, 0.0, opts);
}

}  // namespace

void Tensor::backward(BackwardOptions opts) const {
  detail::check_defined("backward", *this);
  if (numel() != 1) {
    throw ShapeError("backward: a gradient can be implicitly created only for a one-element output, got "
                     "shape " + detail::operand_str(*this) + "; pass the output's gradient: t.backward(grad)");
  }
  run_backward(*this, nullptr, ones_like(*this), opts);
}

void Tensor::backward(const Tensor& grad, BackwardOptions opts) const { run_backward(*this, &grad, Tensor(), opts); }

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, BackwardOptions opts) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size()) {
    throw ValueError("grad: got " + std::to_string(grad_outputs.size()) + " output gradients for " +
                     std::to_string(outputs.size()) + " outputs");
  }
  detail::GradCapture cap;
  cap.grads.resize(inputs.size());
  std::vector<TensorNode*> marked;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    detail::check_defined("grad", inputs[i]);
    cap.leaves.push_back(inputs[i].is_leaf() ? inputs[i].impl() : nullptr);
    if (TensorNode* n = inputs[i].grad_fn()) {
      n->capture = static_cast<int>(i);
      marked.push_back(n);
    }
  }
  struct Restore {
    std::vector<TensorNode*>& marked;
    ~Restore() {
      for (TensorNode* n : marked) n->capture = -1;
      detail::tl_capture = nullptr;
    }
  } restore{marked};
  if (detail::tl_capture != nullptr) throw ValueError("grad: cannot be called from inside a backward");
  detail::tl_capture = &cap;
  Tape* tape = nullptr;
  std::uint32_t top = 0;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& y = outputs[k];
    detail::check_defined("grad", y);
    Tensor seed;
    if (grad_outputs.empty()) {
      if (y.numel() != 1) {
        throw ShapeError("grad: output " + std::to_string(k) + " has shape " + detail::operand_str(y) +
                         "; pass grad_outputs for outputs with more than one element");
      }
      seed = ones_like(y);
    } else {
      seed = grad_outputs[k];
      check_seed(y, seed);
    }
    if (!y.requires_grad()) continue;
    // With create_graph the seed stays differentiable: jvp's double-backward trick differentiates the
    // gradient with respect to it.
    if (!opts.create_graph) seed = seed.detach();
    if (y.is_leaf()) {
      detail::accumulate_leaf(*y.impl(), seed);
      continue;
    }
    Tape& t = tape_of(y, "grad");
    if (tape != nullptr && tape != &t) throw TapeError("grad: the outputs were recorded on different tapes");
    tape = &t;
    y.impl()->node->accumulate(seed);
    top = std::max(top, y.impl()->node->slot);
  }
  if (tape != nullptr) tape->gradient(top, {}, opts);
  std::vector<Tensor> out;
  out.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    out.push_back(cap.grads[i].defined() ? cap.grads[i] : zeros_like(inputs[i]));
  }
  return out;
}

// --- Tensor ↔ Var ----------------------------------------------------------------------------------------

namespace {

// Scalar Vars hold numeric partials, so a gradient crossing into or out of them cannot be recorded.
[[noreturn]] void refuse_bridge(const char* op) {
  throw TapeError(std::string("backward(create_graph): ") + op +
                  " (a Tensor/Var bridge) is first-order only: the scalar Var side records numeric "
                  "partials, not a differentiable formula; use tg::Tensor functions for higher derivatives");
}

// The Var's slot is this node's slot: scalar statements that use the Var add into ctx.adj[slot], and the
// node hands that adjoint to the tensor.
class ToVarNode final : public Node {
 public:
  ToVarNode(Tape& tape, const Tensor& x) : tape_(&tape), x_(x) {}
  const char* name() const override { return "to_var"; }
  bool has_grad() const override { return tape_->adjoint(slot) != 0.0; }
  void backward(BackwardContext& ctx) override {
    const double a = ctx.adj[slot];
    if (a == 0.0) return;
    if (ctx.create_graph) refuse_bridge(name());
    NoGradGuard no_grad;
    Tensor g = full(x_.shape(), a, {.dtype = x_.dtype()});
    if (TensorNode* n = x_.impl()->node) {
      n->accumulate(std::move(g));
    } else {
      detail::accumulate_leaf(*x_.impl(), std::move(g));
    }
  }

 private:
  Tape* tape_;
  Tensor x_;
};

class FromVarsNode final : public TensorNode {
 public:
  FromVarsNode(std::uint32_t* slots, std::size_t n) : slots_(slots), n_(n) {}
  const char* name() const override { return "from_vars"; }

 protected:
  void apply(BackwardContext& ctx, const Tensor& g) override {
    if (ctx.create_graph) refuse_bridge(name());
    const std::vector<double> v = g.to_vector<double>();
    for (std::size_t i = 0; i < n_; ++i) {
      if (slots_[i] != 0) ctx.adj[slots_[i]] += v[i];
    }
  }

 private:
  std::uint32_t* slots_;
  std::size_t n_;
};

}  // namespace

Var Tensor::to_var() const {
  detail::check_floating("to_var", *this);
  if (numel() != 1) {
    throw ShapeError("to_var: only a one-element tensor converts to a Var, got shape " +
                     detail::operand_str(*this));
  }
  const double v = item();
  if (!grad_enabled() || !requires_grad()) return Var::constant(v);
  Tape& tape = Tape::active();
  if (!is_leaf() && impl_->stamp != tape.stamp()) {
    throw TapeError("to_var: the tensor was recorded on another tape than the active one, or its tape was "
                    "reset; use .detach()");
  }
  auto* n = tape.arena().make<ToVarNode>(tape, *this);
  const std::uint32_t slot = tape.push_node(n);
  return Var::from_slot(v, slot, tape.stamp());
}

Tensor Tensor::from_vars(std::span<const Var> vars, const Shape& shape, Dtype dtype) {
  if (!is_floating(dtype)) {
    throw DtypeError(std::string("from_vars: the dtype must be float32 or float64, got ") + dtype_name(dtype));
  }
  if (detail::shape_numel(shape) != static_cast<std::int64_t>(vars.size())) {
    throw ShapeError("from_vars: " + std::to_string(vars.size()) + " Vars do not fill shape " +
                     shape_str(shape));
  }
  std::vector<double> values;
  values.reserve(vars.size());
  bool any = false;
  for (const Var& v : vars) {
    values.push_back(v.value());
    any = any || v.requires_grad();
  }
  Tensor out = tensor(std::span<const double>(values), shape, {.dtype = dtype});
  if (!any || !grad_enabled()) return out;
  Tape& tape = Tape::active();
  auto* slots = static_cast<std::uint32_t*>(tape.arena().allocate(sizeof(std::uint32_t) * vars.size() + 1,
                                                                    alignof(std::uint32_t)));
  for (std::size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].slot() != 0 && vars[i].stamp() != tape.stamp()) {
      throw TapeError("from_vars: a Var was recorded on another tape than the active one, or its tape was "
                      "reset");
    }
    slots[i] = vars[i].slot();
  }
  auto* n = tape.arena().make<FromVarsNode>(slots, vars.size());
  n->finish(out);
  return out;
}

}  // namespace tg
