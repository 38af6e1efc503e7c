// Anomaly mode: the forward value check called from Var::record, and the checked reverse sweep.
#include "tapegrad/anomaly.hpp"

#include <cmath>
#include <sstream>

#include "inspect.hpp"
#include "tapegrad/var.hpp"
#include "tensor_trace.hpp"

namespace tg {

namespace detail {

std::string describe_slot(const Tape& tape, std::uint32_t i) {
  std::ostringstream os;
  os << "'" << slot_op_name(tape, i) << "'";
  if (auto l = slot_label(tape, i); !l.empty()) os << " (label '" << l << "')";
  os << " at tape slot " << i;
  return os.str();
}

namespace {

// "x" (slot 3) = 0.5 — as much as the tape knows about an input.
std::string describe_input(const Tape& tape, std::uint32_t slot) {
  std::ostringstream os;
  os << short_slot(tape, slot);
  if (double v = slot_value(tape, slot); !std::isnan(v)) os << " = " << v;
  return os.str();
}

[[noreturn]] void backward_anomaly(const Tape& tape, const std::vector<std::uint32_t>& via, std::uint32_t i,
                                   std::uint32_t top, std::uint32_t input, double partial, double adj_out,
                                   double result, bool partial_known) {
  const Op op = tape.op(i);
  const Node* n = op == Op::Node ? tape.node_at(i) : nullptr;
  std::ostringstream os;
  os << "anomaly: the backward of " << describe_slot(tape, i) << " produced " << result
     << " in the gradient of its input " << describe_input(tape, input);
  if (partial_known) {
    os << " (local derivative " << partial << " times the gradient of its output " << adj_out << ")";
  }
  os << "; its inputs:";
  if (n) {
    std::vector<std::uint32_t> ins;
    n->input_slots(ins);
    for (std::uint32_t s : ins) os << " " << describe_input(tape, s) << ";";
  } else {
    for (std::uint32_t k = tape.arg_begin(i); k < tape.arg_end(i); ++k) {
      os << " " << describe_input(tape, tape.arg(k)) << " (local derivative " << tape.partial(k) << ");";
    }
  }
  if (!tape.options().keep_values) os << " (record with TapeOptions{.keep_values = true} to see all values)";
  os << "; path to the output: " << describe_path(tape, via, i, top);
  throw AnomalyError(os.str(), slot_op_name(tape, i), i, true);
}

}  // namespace

std::string describe_path(const Tape& tape, const std::vector<std::uint32_t>& via, std::uint32_t from,
                          std::uint32_t top) {
  std::vector<std::uint32_t> path{from};
  while (path.back() != top && path.back() < via.size() && via[path.back()] != 0) {
    path.push_back(via[path.back()]);
  }
  constexpr std::size_t kShown = 5;
  std::ostringstream os;
  for (std::size_t k = 0; k < path.size(); ++k) {
    if (path.size() > 3 * kShown && k == kShown) {
      os << " -> ... (" << path.size() - 2 * kShown << " more ops)";
      k = path.size() - kShown - 1;
      continue;
    }
    os << (k ? " -> " : "") << short_slot(tape, path[k]);
  }
  return os.str();
}

void anomaly_forward_node(const char* name, double v, const std::vector<double>& inputs,
                          const std::vector<std::uint32_t>& slots) {
  if (std::isfinite(v)) return;
  const Tape& tape = Tape::active();
  std::ostringstream os;
  os << "anomaly: the forward of '" << name << "' produced " << v << " (it would be tape slot "
     << tape.size() + 1 << "); its inputs:";
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    os << " " << inputs[k];
    if (k < slots.size() && slots[k] != 0) os << " (" << short_slot(tape, slots[k]) << ")";
    os << ";";
  }
  throw AnomalyError(os.str(), name, static_cast<std::uint32_t>(tape.size() + 1), false);
}

void anomaly_sweep(Tape& tape, std::uint32_t top, std::uint32_t bottom, double* adj) {
  // via[s] = the consumer that first pushed a gradient into s: the way back up to the output.
  std::vector<std::uint32_t> via(static_cast<std::size_t>(top) + 1, 0);
  BackwardContext ctx{adj, &tape, false};
  std::vector<std::uint32_t> ins;
  std::uint32_t last_node = 0;
  for (std::uint32_t i = top; i > bottom; --i) {
    const double a = adj[i];
    if (!std::isfinite(a)) [[unlikely]] {
      // Only an opaque node (one that does not list its inputs) can have written this unnoticed.
      std::ostringstream os;
      os << "anomaly: the gradient of " << describe_slot(tape, i) << " is " << a;
      if (i == top) {
        os << ": the seed of backward is not finite";
      } else if (last_node != 0) {
        os << "; it was written by the backward of the coarse node " << describe_slot(tape, last_node)
           << " (or one above it)";
      }
      throw AnomalyError(os.str(), slot_op_name(tape, last_node ? last_node : i), last_node ? last_node : i,
                         true);
    }
    if (tape.op(i) == Op::Node) {
      Node* n = tape.node_at(i);
      ins.clear();
      n->input_slots(ins);
      // A tensor node sends its gradients to other nodes' tensors, not to adj: those are checked apart.
      const auto* tn = dynamic_cast<const TensorNode*>(n);
      const Tensor grad_out = tn ? tn->pending_grad() : Tensor();
      if (n->has_grad()) n->backward(ctx);
      for (std::uint32_t s : ins) {
        if (via[s] == 0) via[s] = i;
        if (!std::isfinite(adj[s])) backward_anomaly(tape, via, i, top, s, 0.0, a, adj[s], false);
      }
      if (tn && grad_out.defined()) anomaly_check_tensor_backward(tape, *tn, grad_out, via, top);
      last_node = i;
      continue;
    }
    for (std::uint32_t k = tape.arg_begin(i); k < tape.arg_end(i); ++k) {
      const std::uint32_t s = tape.arg(k);
      adj[s] += tape.partial(k) * a;
      if (via[s] == 0) via[s] = i;
      if (!std::isfinite(adj[s])) [[unlikely]] {
        backward_anomaly(tape, via, i, top, s, tape.partial(k), a, adj[s], true);
      }
    }
  }
}

}  // namespace detail

void Var::anomaly_check(Op op, double v, const Var& a, double pa, const Var* b, double pb) {
  if (std::isfinite(v)) return;
  const Tape* tape = Tape::find(a.stamp());
  std::ostringstream os;
  os << "anomaly: the forward of '" << op_name(op) << "' produced " << v;
  if (tape) os << " (it would be tape slot " << tape->size() + 1 << ")";
  os << "; its inputs:";
  auto input = [&](const Var& x, double p) {
    os << " " << x.value();
    if (tape && x.slot() != 0) os << " (" << detail::short_slot(*tape, x.slot()) << ")";
    os << " with local derivative " << p << ";";
  };
  input(a, pa);
  if (b) input(*b, pb);
  throw AnomalyError(os.str(), op_name(op), tape ? static_cast<std::uint32_t>(tape->size() + 1) : 0, false);
}

}  // namespace tg
