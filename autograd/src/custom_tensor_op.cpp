// User-defined tensor ops: a TensorNode that calls the user's backward, and describes itself to gradcheck
// with the user's own forward and backward.
#include <sstream>

#include "tapegrad/tensor_tools.hpp"
#include "tensor_local.hpp"
#include "tensor_trace.hpp"

namespace tg {

struct CustomTensorOp::Def {
  std::string name;
  Forward forward;
  Backward backward;
};

namespace {

class CustomTensorNode final : public TensorNode {
 public:
  CustomTensorNode(std::shared_ptr<const CustomTensorOp::Def> def, std::size_t n) : def_(std::move(def)), n_(n) {}
  const char* name() const override { return def_->name.c_str(); }

  bool local_op(LocalOp& out) const override {
    out.name = def_->name;
    out.label = detail::node_label(*this);
    if (released()) {
      out.unavailable = "its saved inputs were released by a backward without retain_graph";
      return false;
    }
    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < n_; ++i) {
      try {
        inputs.push_back(saved(i));
      } catch (const Error& e) {
        out.unavailable = e.what();
        return false;
      }
    }
    auto def = def_;
    detail::TensorRerun rerun = [def](const std::vector<Tensor>& x) { return def->forward(x); };
    return detail::local_op_from_rerun(inputs, output_shape(), rerun, &def_->backward, out);
  }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    std::vector<Tensor> inputs;
    inputs.reserve(n_);
    for (std::size_t i = 0; i < n_; ++i) inputs.push_back(saved(i));
    const std::vector<Tensor> grads = def_->backward(inputs, saved(n_), g);
    if (grads.size() != n_) {
      std::ostringstream os;
      os << "custom tensor op '" << def_->name << "': backward returned " << grads.size() << " gradients for "
         << n_ << " inputs; it must return one per input (an undefined Tensor for none)";
      throw ValueError(os.str());
    }
    for (std::size_t i = 0; i < n_; ++i) {
      if (!grads[i].defined() || !needs(i)) continue;
      if (grads[i].shape() != inputs[i].shape()) {
        std::ostringstream os;
        os << "custom tensor op '" << def_->name << "': backward returned a gradient of shape "
           << shape_str(grads[i].shape()) << " for input " << i;
        if (!inputs[i].label().empty()) os << " '" << inputs[i].label() << "'";
        os << " of shape " << shape_str(inputs[i].shape());
        throw ShapeError(os.str());
      }
      push(i, grads[i].dtype() == inputs[i].dtype() ? grads[i] : grads[i].to(inputs[i].dtype()));
    }
  }

 private:
  std::shared_ptr<const CustomTensorOp::Def> def_;
  std::size_t n_;
};

}  // namespace

CustomTensorOp::CustomTensorOp(std::string name, Forward forward, Backward backward) {
  if (name.empty()) throw ValueError("custom_tensor_op: the op needs a name (it appears in errors and graphs)");
  if (!forward || !backward) {
    throw ValueError("custom_tensor_op '" + name + "': both a forward and a backward function are required");
  }
  def_ = std::make_shared<const Def>(Def{std::move(name), std::move(forward), std::move(backward)});
}

const std::string& CustomTensorOp::name() const { return def_->name; }

Tensor CustomTensorOp::operator()(const std::vector<Tensor>& inputs) const {
  bool record = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      throw ValueError("custom tensor op '" + def_->name + "': input " + std::to_string(i) + " is undefined");
    }
    record = record || inputs[i].requires_grad();
  }
  record = record && grad_enabled();
  Tensor out;
  {
    NoGradGuard off;
    out = def_->forward(inputs);
  }
  if (!out.defined()) throw ValueError("custom tensor op '" + def_->name + "': forward returned an undefined tensor");
  if (!record) return out;
  if (!is_floating(out.dtype())) {
    throw DtypeError("custom tensor op '" + def_->name + "': a differentiable op must return a float tensor, got " +
                     dtype_name(out.dtype()));
  }
  // A fresh handle: the forward may have returned one of its inputs, whose autograd state must not change.
  out = out.detach();
  auto* n = Tape::active().arena().make<CustomTensorNode>(def_, inputs.size());
  for (const Tensor& x : inputs) n->add_input(x);
  for (const Tensor& x : inputs) n->save(x);
  n->save(out);
  n->finish(out);
  return out;
}

}  // namespace tg
