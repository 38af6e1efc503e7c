// Introspection of recorded tensor ops for the tools: tracing (each op keeps its inputs and output while
// TensorTraceGuard or anomaly mode is on), the forward NaN/Inf check of anomaly mode, and TensorNode's
// input_slots / scalar_value / local_op, through which gradcheck re-runs an op alone at its inputs.
#include <cmath>
#include <sstream>

#include "inspect.hpp"
#include "tapegrad/anomaly.hpp"
#include "tapegrad/local_op.hpp"
#include "tapegrad/ops.hpp"
#include "tensor_local.hpp"
#include "tensor_trace.hpp"

namespace tg {

namespace detail {

void count_nonfinite(const Tensor& t, std::size_t& nans, std::size_t& infs) {
  nans = 0;
  infs = 0;
  if (!t.defined() || !is_floating(t.dtype())) return;
  for (double v : t.to_vector<double>()) {
    if (std::isnan(v)) ++nans;
    if (std::isinf(v)) ++infs;
  }
}

std::string tensor_summary(const Tensor& t, int digits) {
  if (!t.defined()) return "undefined";
  std::ostringstream os;
  os.precision(digits);
  os << "shape " << shape_str(t.shape()) << " " << dtype_name(t.dtype());
  if (t.numel() == 0) return os.str();
  const std::vector<double> v = t.to_vector<double>();
  std::size_t nans = 0;
  std::size_t infs = 0;
  double lo = INFINITY;
  double hi = -INFINITY;
  for (double e : v) {
    if (std::isnan(e)) {
      ++nans;
    } else {
      if (std::isinf(e)) ++infs;
      lo = std::min(lo, e);
      hi = std::max(hi, e);
    }
  }
  if (v.size() == 1) {
    os << ", value " << v[0];
    return os.str();
  }
  if (nans < v.size()) os << ", min " << lo << ", max " << hi;
  if (nans > 0) os << ", " << nans << " NaN";
  if (infs > 0) os << ", " << infs << " Inf";
  return os.str();
}

std::string node_label(const TensorNode& n) {
  if (n.trace == nullptr || !n.trace->output.tensor.defined()) return "";
  return n.trace->output.tensor.label();
}

namespace {

TensorTrace& trace_of(TensorNode& node) {
  if (node.trace == nullptr) node.trace = Tape::active().arena().make<TensorTrace>();
  return *node.trace;
}

// An input as a report sees it: its label (or the op that made it) and a value summary.
std::string describe_tensor_input(const Tensor& t, std::size_t k) {
  std::ostringstream os;
  os << "input " << k;
  if (!t.defined()) return os.str() + " (undefined)";
  if (!t.label().empty()) {
    os << " '" << t.label() << "'";
  } else if (TensorNode* p = t.grad_fn()) {
    os << " (output of '" << p->name() << "' at tape slot " << p->slot << ")";
  }
  os << ": " << tensor_summary(t);
  return os.str();
}

[[noreturn]] void forward_anomaly(TensorNode& node, const Tensor& out) {
  const Tape& tape = Tape::active();
  std::ostringstream os;
  os << "anomaly: the forward of tensor op '" << node.name() << "' produced non-finite values ("
     << tensor_summary(out) << ") (it would be tape slot " << tape.size() + 1 << "); its inputs:";
  const TensorTrace& tr = *node.trace;
  for (std::size_t k = 0; k < tr.inputs.size(); ++k) {
    os << (k ? "; " : " ") << describe_tensor_input(tr.inputs[k].tensor, k);
  }
  throw AnomalyError(os.str(), node.name(), static_cast<std::uint32_t>(tape.size() + 1), false);
}

}  // namespace

void trace_input(TensorNode& node, const Tensor& t) {
  trace_of(node).inputs.push_back({t, t.defined() ? t.version() : 0});
}

void trace_output(TensorNode& node, const Tensor& out) {
  TensorTrace& tr = trace_of(node);
  tr.output = {out, out.version()};
  if (!tl_anomaly || !is_floating(out.dtype())) return;
  std::size_t nans = 0;
  std::size_t infs = 0;
  count_nonfinite(out, nans, infs);
  if (nans + infs > 0) [[unlikely]] forward_anomaly(node, out);
}

void anomaly_check_tensor_backward(const Tape& tape, const TensorNode& n, const Tensor& grad_out,
                                   const std::vector<std::uint32_t>& via, std::uint32_t top) {
  for (std::size_t k = 0; k < n.num_inputs(); ++k) {
    const TensorEdge& e = n.input(k);
    Tensor g;
    if (e.node != nullptr) {
      g = e.node->pending_grad();
    } else if (e.leaf && e.leaf->grad) {
      g = Tensor(e.leaf->grad);
    }
    std::size_t nans = 0;
    std::size_t infs = 0;
    count_nonfinite(g, nans, infs);
    if (nans + infs == 0) continue;
    std::ostringstream os;
    os << "anomaly: the backward of " << describe_slot(tape, n.slot) << " produced non-finite values in the "
       << "gradient of its input " << k;
    if (e.node != nullptr) {
      os << " (" << short_slot(tape, e.node->slot) << ")";
    } else if (!e.leaf->label.empty()) {
      os << " (leaf '" << e.leaf->label << "')";
    }
    os << ": " << tensor_summary(g) << "; the gradient of its output: " << tensor_summary(grad_out);
    if (n.trace != nullptr) {
      os << "; its inputs:";
      for (std::size_t j = 0; j < n.trace->inputs.size(); ++j) {
        os << (j ? "; " : " ") << describe_tensor_input(n.trace->inputs[j].tensor, j);
      }
    }
    os << "; path to the output: " << describe_path(tape, via, n.slot, top);
    throw AnomalyError(os.str(), n.name(), n.slot, true);
  }
}

}  // namespace detail

void TensorNode::input_slots(std::vector<std::uint32_t>& out) const {
  for (const TensorEdge& e : edges_) {
    if (e.node != nullptr) out.push_back(e.node->slot);
  }
}

double TensorNode::scalar_value() const {
  if (trace == nullptr || !trace->output.tensor.defined() || trace->output.tensor.numel() != 1) {
    return std::nan("");
  }
  return trace->output.tensor.item();
}

bool TensorNode::local_op(LocalOp& out) const {
  out.name = name();
  out.label = detail::node_label(*this);
  if (trace == nullptr || !trace->output.tensor.defined()) {
    out.unavailable = "recorded without tracing (its inputs were not kept; record under tg::TensorTraceGuard)";
    return false;
  }
  std::vector<Tensor> inputs;
  for (const SavedTensor& s : trace->inputs) {
    if (s.tensor.defined() && s.tensor.version() != s.version) {
      out.unavailable = "an input was modified in place after the op was recorded";
      return false;
    }
    inputs.push_back(s.tensor);
  }
  detail::TensorRerun rerun;
  if (!detail::builtin_rerun(name(), inputs, output_shape(), rerun, out.unavailable)) return false;
  return detail::local_op_from_rerun(inputs, output_shape(), rerun, nullptr, out);
}

}  // namespace tg
