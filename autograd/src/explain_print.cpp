// Explanation printing: the collapsed view as the article writes it, the elementary view edge by edge.
#include <cmath>
#include <sstream>

#include "inspect.hpp"
#include "tapegrad/explain.hpp"

namespace tg {

namespace {

// "a × b × c" with the middle elided past max items: the first and last few around "… (n more) …".
template <class F>
void joined(std::ostringstream& os, std::size_t count, std::size_t max, const char* sep, F item) {
  const std::size_t keep = max / 2;
  for (std::size_t i = 0; i < count; ++i) {
    if (count > max && i == keep) {
      os << sep << "... (" << count - 2 * keep << " more) ...";
      i = count - keep - 1;
      continue;
    }
    if (i) os << sep;
    item(i);
  }
}

void rest_line(std::ostringstream& os, const ExplainView& v, int digits) {
  const double shown = static_cast<double>(v.paths.size());
  if (v.num_paths <= shown) return;
  double listed = 0.0;
  for (const ExplainPath& p : v.paths) listed += p.product;
  os << "    ... and " << (std::isinf(v.num_paths) ? "over 1e308" : detail::format_number(v.num_paths - shown, 15))
     << " more paths, together "
     << detail::format_number(v.total - listed, digits) << "\n";
}

}  // namespace

std::string Explanation::name(std::uint32_t slot) const {
  auto it = slots.find(slot);
  if (it != slots.end()) return it->second.name;
  std::string out = "#";
  out += std::to_string(slot);
  return out;
}

std::string Explanation::collapsed_str() const {
  std::ostringstream os;
  const int d = options.digits;
  const std::size_t max = options.max_printed_steps;
  for (const ExplainPath& p : collapsed.paths) {
    os << "    ";
    if (p.factors.empty()) {
      os << "∂" << name(y_slot) << "/∂" << name(x_slot) << " = 1\n";
      continue;
    }
    joined(os, p.factors.size(), max, " × ",
           [&](std::size_t i) { os << "∂" << name(p.slots[i]) << "/∂" << name(p.slots[i + 1]); });
    os << " = ";
    joined(os, p.factors.size(), max, " × ", [&](std::size_t i) { os << detail::format_number(p.factors[i], d); });
    if (p.factors.size() > 1) os << " = " << detail::format_number(p.product, d);
    os << "\n";
  }
  rest_line(os, collapsed, d);
  return os.str();
}

std::string Explanation::elementary_str() const {
  std::ostringstream os;
  const int d = options.digits;
  auto node = [&](std::uint32_t s) {
    auto it = slots.find(s);
    if (it == slots.end()) return name(s);
    const SlotInfo& i = it->second;
    if (i.label.empty() || i.op == "leaf") return i.name;
    std::ostringstream out;
    out << i.label << "[" << i.op << "]";
    return out.str();
  };
  for (const ExplainPath& p : elementary.paths) {
    os << "    " << node(p.slots[0]);
    joined(os, p.factors.size(), options.max_printed_steps, "", [&](std::size_t i) {
      os << " -(" << detail::format_number(p.factors[i], d) << ")-> " << node(p.slots[i + 1]);
    });
    os << "  = " << detail::format_number(p.product, d) << "\n";
  }
  rest_line(os, elementary, d);
  return os.str();
}

std::string Explanation::str() const {
  std::ostringstream os;
  const int d = options.digits;
  os << "∂" << name(y_slot) << "/∂" << name(x_slot) << " = " << detail::format_number(gradient, d);
  if (autograd_checked) {
    os << (consistent ? " (autograd; the sum over paths agrees)" : " (autograd; the sum over paths DISAGREES)");
  } else {
    os << " (sum over paths; autograd not re-run: the graph was released by backward)";
  }
  os << "\n";
  auto count = [](double n) {
    std::ostringstream out;
    if (std::isinf(n)) {
      out << "more than 1e308 paths";  // counted in doubles: the count itself overflowed
    } else {
      out << detail::format_number(n, 15) << (n == 1.0 ? " path" : " paths");
    }
    return out.str();
  };
  if (collapsed_skipped) {
    os << "  through labelled nodes: skipped (over ExplainOptions::collapse_budget)\n";
  } else {
    os << "  through labelled nodes: " << count(collapsed.num_paths) << ", sum "
       << detail::format_number(collapsed.total, d) << "\n"
       << collapsed_str();
  }
  os << "  edge by edge: " << count(elementary.num_paths) << ", sum " << detail::format_number(elementary.total, d)
     << "\n"
     << elementary_str();
  if (!opaque_ops.empty()) {
    os << "  paths through these ops are missing (their local derivatives are not scalars):";
    for (const auto& o : opaque_ops) os << " " << o;
    os << "\n";
  }
  return os.str();
}

}  // namespace tg
