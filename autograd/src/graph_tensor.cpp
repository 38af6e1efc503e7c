// DOT export of a recorded tensor graph: TensorNodes through their input edges, leaves as boxes.
#include <fstream>
#include <map>
#include <sstream>

#include "tapegrad/tensor_tools.hpp"
#include "tensor_trace.hpp"

namespace tg {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

std::string summary(const Tensor& t, int digits) { return escape(detail::tensor_summary(t, digits)); }

}  // namespace

std::string to_dot(const Tensor& y, const DotOptions& o) {
  std::ostringstream os;
  os << "digraph tapegrad {\n  rankdir=BT;\n  labelloc=t;\n  label=\"" << escape(o.title) << "\";\n"
     << "  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
  if (!y.defined() || y.grad_fn() == nullptr) {
    os << "  c [shape=box, label=\"" << (y.defined() && !y.label().empty() ? escape(y.label()) + "\\n" : "")
       << "leaf (nothing recorded)\\n" << (y.defined() ? summary(y, o.digits) : "undefined") << "\"];\n}\n";
    return os.str();
  }
  // Nodes newest first (by slot), so max_nodes keeps the ones nearest the output.
  std::map<std::uint32_t, const TensorNode*, std::greater<>> nodes;
  std::map<const detail::TensorImpl*, std::string> leaves;
  std::vector<const TensorNode*> todo{y.grad_fn()};
  nodes[y.grad_fn()->slot] = y.grad_fn();
  while (!todo.empty()) {
    const TensorNode* n = todo.back();
    todo.pop_back();
    for (std::size_t k = 0; k < n->num_inputs(); ++k) {
      const TensorEdge& e = n->input(k);
      if (e.node != nullptr && nodes.emplace(e.node->slot, e.node).second) todo.push_back(e.node);
      if (e.leaf) leaves.emplace(e.leaf.get(), "l" + std::to_string(leaves.size()));
    }
  }
  std::size_t shown = 0;
  std::map<const TensorNode*, bool> drawn;
  bool untraced = false;
  for (const auto& [slot, n] : nodes) {
    if (shown++ >= o.max_nodes) break;
    drawn[n] = true;
    std::string label = detail::node_label(*n);
    if (n == y.grad_fn()) label = y.label();
    std::ostringstream text;
    if (!label.empty()) text << escape(label) << "\\n";
    text << escape(n->name()) << " #" << slot << "\\n";
    if (n == y.grad_fn()) {
      text << summary(y, o.digits);
    } else if (n->trace != nullptr && n->trace->output.tensor.defined()) {
      text << summary(n->trace->output.tensor, o.digits);
    } else {
      text << "shape " << shape_str(n->output_shape()) << " " << dtype_name(n->output_dtype());
      untraced = true;
    }
    os << "  n" << slot << " [shape=ellipse" << (label.empty() ? "" : ", style=bold")
       << (n == y.grad_fn() ? ", peripheries=2" : "") << ", label=\"" << text.str() << "\"];\n";
  }
  for (const auto& [impl, id] : leaves) {
    const Tensor t(detail::Ref<detail::TensorImpl>::share(const_cast<detail::TensorImpl*>(impl)));
    std::ostringstream text;
    if (!t.label().empty()) text << escape(t.label()) << "\\n";
    text << "leaf\\n" << summary(t, o.digits);
    if (impl->grad) text << "\\ngrad " << summary(Tensor(impl->grad), o.digits);
    os << "  " << id << " [shape=box" << (t.label().empty() ? "" : ", style=bold") << ", label=\"" << text.str()
       << "\"];\n";
  }
  for (const auto& [slot, n] : nodes) {
    if (!drawn.count(n)) continue;
    for (std::size_t k = 0; k < n->num_inputs(); ++k) {
      const TensorEdge& e = n->input(k);
      if (e.node != nullptr && drawn.count(e.node)) {
        os << "  n" << e.node->slot << " -> n" << slot;
      } else if (e.leaf) {
        os << "  " << leaves[e.leaf.get()] << " -> n" << slot;
      } else {
        continue;
      }
      if (n->num_inputs() > 1) os << " [label=\"" << k << "\"]";
      os << ";\n";
    }
  }
  if (nodes.size() > o.max_nodes) {
    os << "  more [shape=note, label=\"" << nodes.size() - o.max_nodes << " older ops left out (max_nodes = "
       << o.max_nodes << ")\"];\n";
  }
  if (untraced) {
    os << "  hint [shape=plaintext, label=\"values and labels of inner ops: record under "
          "tg::TensorTraceGuard\"];\n";
  }
  os << "}\n";
  return os.str();
}

GraphFiles write_graph(const Tensor& y, const std::string& path, const DotOptions& options) {
  return write_dot(to_dot(y, options), path);
}

}  // namespace tg
