// Internal helpers shared by the tools: naming slots and listing their inputs.
#include "inspect.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "tensor_trace.hpp"

namespace tg::detail {

const char* slot_op_name(const Tape& tape, std::uint32_t i) {
  const Op op = tape.op(i);
  if (op == Op::Node) {
    if (const Node* n = tape.node_at(i)) return n->name();
  }
  if (const Node* info = tape.attached(i)) return info->name();
  return op_name(op);
}

std::string slot_label(const Tape& tape, std::uint32_t i) {
  std::string l = tape.label(i);
  if (!l.empty() || tape.op(i) != Op::Node) return l;
  if (const auto* tn = dynamic_cast<const TensorNode*>(tape.node_at(i))) return node_label(*tn);
  return l;
}

std::string short_slot(const Tape& tape, std::uint32_t i) {
  std::string s = slot_op_name(tape, i);
  s += '#';
  s += std::to_string(i);
  if (auto l = slot_label(tape, i); !l.empty()) {
    s += " '";
    s += l;
    s += '\'';
  }
  return s;
}

bool slot_inputs(const Tape& tape, std::uint32_t i, std::vector<std::uint32_t>& slots,
                 std::vector<double>& partials) {
  slots.clear();
  partials.clear();
  if (tape.op(i) == Op::Node) {
    const Node* n = tape.node_at(i);
    if (n == nullptr) return false;
    n->input_slots(slots);
    return n->local_partials(partials) && partials.size() == slots.size();
  }
  for (std::uint32_t k = tape.arg_begin(i); k < tape.arg_end(i); ++k) {
    slots.push_back(tape.arg(k));
    partials.push_back(tape.partial(k));
  }
  return true;
}

double slot_value(const Tape& tape, std::uint32_t i) {
  if (tape.op(i) == Op::Node) {
    const Node* n = tape.node_at(i);
    return n ? n->scalar_value() : std::nan("");
  }
  if (tape.options().keep_values) return tape.value(i);
  if (const Node* info = tape.attached(i)) return info->scalar_value();
  return std::nan("");
}

std::string format_number(double v, int digits) {
  char buf[64];
  const double a = std::abs(v);
  if (!std::isfinite(v) || v == 0.0 || a >= 1e7 || a < 1e-4) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace tg::detail
