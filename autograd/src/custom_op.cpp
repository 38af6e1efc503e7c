// Custom ops: a statement carrying the user's partials, plus an arena node that can re-run the op.
#include "tapegrad/custom_op.hpp"

#include <cmath>
#include <sstream>

#include "tapegrad/anomaly.hpp"
#include "tapegrad/local_op.hpp"

namespace tg {

struct CustomOp::Def {
  std::string name;
  Forward forward;
  Backward backward;
  std::size_t arity;

  // The user's backward, with its result checked for the right length.
  std::vector<double> partials(std::span<const double> x, double y) const {
    std::vector<double> p = backward(x, y);
    if (p.size() != x.size()) {
      std::ostringstream os;
      os << "custom op '" << name << "': backward returned " << p.size() << " partial derivatives for "
         << x.size() << " inputs; it must return one per input";
      throw ValueError(os.str());
    }
    return p;
  }
};

namespace {

// Attached to the custom statement (Tape::attach): never swept, it only describes the recording.
class CustomInfo final : public Node {
 public:
  CustomInfo(std::shared_ptr<const CustomOp::Def> def, std::vector<double> x, double y)
      : def_(std::move(def)), x_(std::move(x)), y_(y) {}
  void backward(BackwardContext&) override {}
  const char* name() const override { return def_->name.c_str(); }
  double scalar_value() const override { return y_; }
  bool local_op(LocalOp& out) const override {
    out.name = def_->name;
    out.input_shapes.assign(x_.size(), {});
    out.output_shape.clear();
    out.inputs = x_;
    auto def = def_;
    out.forward = [def](std::span<const double> x) { return std::vector<double>{def->forward(x)}; };
    out.backward = [def](std::span<const double> x, std::span<const double> g) {
      std::vector<double> p = def->partials(x, def->forward(x));
      for (double& v : p) v *= g[0];
      return p;
    };
    return true;
  }

 private:
  std::shared_ptr<const CustomOp::Def> def_;
  std::vector<double> x_;  // every input value, constants included, so the forward can be re-run
  double y_;
};

}  // namespace

CustomOp::CustomOp(std::string name, Forward forward, Backward backward, std::size_t arity) {
  if (name.empty()) throw ValueError("custom_op: the op needs a name (it appears in errors and graphs)");
  if (!forward || !backward) {
    throw ValueError("custom_op '" + name + "': both a forward and a backward function are required");
  }
  def_ = std::make_shared<const Def>(Def{std::move(name), std::move(forward), std::move(backward), arity});
}

const std::string& CustomOp::name() const { return def_->name; }

Var CustomOp::operator()(std::span<const Var> xs) const {
  const Def& d = *def_;
  if (d.arity != 0 && xs.size() != d.arity) {
    std::ostringstream os;
    os << "custom op '" << d.name << "': expects " << d.arity << " inputs, got " << xs.size();
    throw ValueError(os.str());
  }
  std::vector<double> x(xs.size());
  std::vector<std::uint32_t> slots(xs.size());
  std::size_t active = 0;
  std::uint64_t stamp = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    x[k] = xs[k].value();
    slots[k] = xs[k].slot();
    if (slots[k] != 0) {
      ++active;
      stamp = xs[k].stamp();
    }
  }
  const double y = d.forward(x);
  if (active == 0 || !grad_enabled()) return Var::constant(y);
  if (detail::tl_anomaly) [[unlikely]] detail::anomaly_forward_node(d.name.c_str(), y, x, slots);
  Tape& t = Tape::active();
  if (stamp != t.stamp()) {
    throw TapeError("custom op '" + d.name +
                    "': an input was recorded on another tape than the active one, or its tape was reset");
  }
  for (std::size_t k = 0; k < xs.size(); ++k) {
    if (slots[k] != 0 && xs[k].stamp() != stamp) {
      throw TapeError("custom op '" + d.name + "': its inputs were recorded on different tapes");
    }
  }
  const std::vector<double> p = d.partials(x, y);
  std::uint32_t* idx = nullptr;
  double* part = nullptr;
  const std::uint32_t slot = t.pushn(Op::Custom, y, active, &idx, &part);
  std::size_t j = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    if (slots[k] == 0) continue;
    idx[j] = slots[k];
    part[j] = p[k];
    ++j;
  }
  t.attach(slot, t.arena().make<CustomInfo>(def_, std::move(x), y));
  return Var::from_slot(y, slot, stamp);
}

}  // namespace tg
