// Module::summary(): a table of the module tree with parameter counts.
#include <sstream>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"

namespace tg::nn {

namespace {

struct Row {
  std::string label;
  std::int64_t params = 0;
  std::int64_t trainable = 0;
};

// 1234567 -> "1,234,567" (parameter counts of real models are long).
std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t len = digits.size();
  for (std::size_t i = 0; i < len; ++i) {
    if (i != 0 && (len - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void collect(const Module& m, const std::string& name, int depth, std::vector<Row>& rows) {
  std::ostringstream os;
  os << std::string(static_cast<std::size_t>(depth) * 2, ' ');
  if (!name.empty()) os << name << ": ";
  m.pretty_print(os);
  Row row;
  row.label = os.str();
  for (const Tensor& p : m.parameters()) {
    row.params += p.numel();
    if (p.requires_grad()) row.trainable += p.numel();
  }
  rows.push_back(row);
  for (const auto& [n, c] : m.named_children()) collect(*c, n, depth + 1, rows);
}

}  // namespace

std::string Module::summary() const {
  std::vector<Row> rows;
  collect(*this, "", 0, rows);
  std::size_t w0 = 6;
  std::size_t w1 = 10;
  std::size_t w2 = 9;
  for (const Row& r : rows) {
    w0 = std::max(w0, r.label.size());
    w1 = std::max(w1, grouped(r.params).size());
    w2 = std::max(w2, grouped(r.trainable).size());
  }
  std::ostringstream os;
  auto line = [&](const std::string& a, const std::string& b, const std::string& c) {
    os << a << std::string(w0 - a.size() + 2, ' ') << std::string(w1 - b.size(), ' ') << b << "  "
       << std::string(w2 - c.size(), ' ') << c << "\n";
  };
  line("Module", "Parameters", "Trainable");
  for (const Row& r : rows) line(r.label, grouped(r.params), grouped(r.trainable));
  std::int64_t buffer_elems = 0;
  for (const Tensor& b : buffers()) buffer_elems += b.numel();
  const std::int64_t total = rows.front().params;
  const std::int64_t trainable = rows.front().trainable;
  os << "Total parameters: " << grouped(total) << " (trainable: " << grouped(trainable)
     << ", frozen: " << grouped(total - trainable) << "); buffer elements: " << grouped(buffer_elems) << "\n";
  return os.str();
}

}  // namespace tg::nn
