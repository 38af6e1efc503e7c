// DOT export of the recorded graph, and rendering through Graphviz when it is installed.
#include "tapegrad/graph.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "inspect.hpp"

namespace tg {

namespace {

std::string num(double v, int digits) {
  std::ostringstream os;
  os.precision(digits);
  os << v;
  return os.str();
}

// DOT strings are double-quoted; escape what would end them early.
std::string escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

// Wraps a path in single quotes for the shell, escaping embedded single quotes.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') {
      out += "'\\''";
    } else {
      out += ch;
    }
  }
  out += '\'';
  return out;
}

}  // namespace

bool graphviz_available() { return std::system("command -v dot > /dev/null 2>&1") == 0; }

std::string to_dot(const Var& y, const DotOptions& o) {
  std::ostringstream os;
  os << "digraph tapegrad {\n  rankdir=BT;\n  labelloc=t;\n  label=\"" << escape(o.title) << "\";\n"
     << "  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
  if (y.slot() == 0) {
    os << "  c [shape=plaintext, label=\"constant " << num(y.value(), o.digits) << " (nothing recorded)\"];\n}\n";
    return os.str();
  }
  const Tape& t = y.tape();
  const std::uint32_t top = y.slot();
  // Slots y depends on, newest first, up to max_nodes.
  std::vector<char> need(static_cast<std::size_t>(top) + 1, 0);
  need[top] = 1;
  std::vector<std::uint32_t> shown;
  std::vector<std::uint32_t> ins;
  std::vector<double> ps;
  std::size_t left_out = 0;
  for (std::uint32_t i = top; i >= 1; --i) {
    if (!need[i]) continue;
    if (shown.size() >= o.max_nodes) {
      ++left_out;
    } else {
      shown.push_back(i);
    }
    detail::slot_inputs(t, i, ins, ps);
    for (std::uint32_t s : ins) {
      if (s <= top) need[s] = 1;
    }
  }
  std::vector<char> drawn(static_cast<std::size_t>(top) + 1, 0);
  for (std::uint32_t i : shown) drawn[i] = 1;
  const bool have_grad = t.grad(top) != 0.0;
  for (std::uint32_t i : shown) {
    const std::string label = t.label(i);
    const bool leaf = t.op(i) == Op::Leaf;
    std::ostringstream text;
    // Escape the parts, not the whole: the "\\n" line breaks are DOT's own.
    if (!label.empty()) text << escape(label) << "\\n";
    text << (leaf ? "leaf" : escape(detail::slot_op_name(t, i))) << " #" << i;
    double v = detail::slot_value(t, i);
    if (i == top) v = y.value();
    if (!std::isnan(v)) text << "\\nvalue " << num(v, o.digits);
    if (have_grad) text << "\\ngrad " << num(t.grad(i), o.digits);
    os << "  n" << i << " [shape=" << (leaf ? "box" : "ellipse")
       << (label.empty() ? "" : ", style=bold") << (i == top ? ", peripheries=2" : "") << ", label=\""
       << text.str() << "\"];\n";
  }
  for (std::uint32_t i : shown) {
    const bool known = detail::slot_inputs(t, i, ins, ps);
    for (std::size_t k = 0; k < ins.size(); ++k) {
      if (ins[k] == 0 || ins[k] > top || !drawn[ins[k]]) continue;
      os << "  n" << ins[k] << " -> n" << i;
      if (o.show_partials && known) os << " [label=\"" << num(ps[k], o.digits) << "\"]";
      os << ";\n";
    }
  }
  if (left_out > 0) {
    os << "  more [shape=note, label=\"" << left_out << " older ops left out (max_nodes = " << o.max_nodes
       << ")\"];\n";
  }
  if (!t.options().keep_values) {
    os << "  hint [shape=plaintext, label=\"values of inner ops: record with TapeOptions{.keep_values = "
          "true}\"];\n";
  }
  os << "}\n";
  return os.str();
}

GraphFiles write_dot(const std::string& dot, const std::string& path) {
  GraphFiles files;
  {
    std::ofstream out(path);
    if (!out) throw ValueError("write_dot: cannot open '" + path + "' for writing");
    out << dot;
    if (!out) throw ValueError("write_dot: writing '" + path + "' failed");
  }
  files.dot_path = path;
  if (!graphviz_available()) return files;
  std::string svg = path;
  if (svg.size() > 4 && svg.compare(svg.size() - 4, 4, ".dot") == 0) svg.resize(svg.size() - 4);
  svg += ".svg";
  std::ostringstream cmd;
  cmd << "dot -Tsvg " << shell_quote(path) << " -o " << shell_quote(svg) << " > /dev/null 2>&1";
  if (std::system(cmd.str().c_str()) == 0) files.svg_path = svg;
  return files;
}

GraphFiles write_graph(const Var& y, const std::string& path, const DotOptions& options) {
  return write_dot(to_dot(y, options), path);
}

}  // namespace tg
