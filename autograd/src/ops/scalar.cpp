// Elementary functions of Var: each computes its value and records its local derivative beside it.
#include <cmath>
#include <limits>
#include <sstream>

#include "tapegrad/anomaly.hpp"
#include "tapegrad/var.hpp"

namespace tg {


// exp, log, tanh, sqrt, sin, cos, sigmoid, square and pow(x, p) are expressions, in var_expr.hpp.

Var tan(const Var& x) {
  const double t = std::tan(x.value());
  return Var::record(Op::Tan, t, x, 1.0 + t * t);  // d tan = sec² = 1 + tan²
}

Var relu(const Var& x) {
  if (std::isnan(x.value())) return Var::record(Op::Relu, x.value(), x, x.value());  // NaN in, NaN out
  const bool pos = x.value() > 0;  // relu'(0) = 0
  return Var::record(Op::Relu, pos ? x.value() : 0.0, x, pos ? 1.0 : 0.0);
}

Var leaky_relu(const Var& x, double slope) {
  const bool pos = x.value() > 0;  // leaky_relu'(0) = slope
  return Var::record(Op::LeakyRelu, pos ? x.value() : slope * x.value(), x, pos ? 1.0 : slope);
}

Var elu(const Var& x, double alpha) {
  if (x.value() > 0) return Var::record(Op::Elu, x.value(), x, 1.0);
  const double e = std::exp(x.value());  // d α(e^x - 1) = α e^x
  return Var::record(Op::Elu, alpha * std::expm1(x.value()), x, alpha * e);
}

Var softplus(const Var& x) {
  const double v = x.value();
  const double y = std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v)));
  return Var::record(Op::Softplus, y, x, detail::stable_sigmoid(v));  // d softplus = σ(x)
}

Var abs(const Var& x) {
  const double v = x.value();
  const double s = v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0);  // abs'(0) = 0
  return Var::record(Op::Abs, std::abs(v), x, s);
}

Var pow(const Var& x, const Var& y) {
  const double a = x.value();
  const double b = y.value();
  const double r = std::pow(a, b);
  const double dx = b == 0.0 ? 0.0 : b * std::pow(a, b - 1.0);
  const double dy = a == 0.0 ? 0.0 : r * std::log(a);  // x^y ln x, taken as 0 at x = 0
  return Var::record(Op::Pow, r, x, dx, y, dy);
}

Var pow(double a, const Var& y) {
  const double r = std::pow(a, y.value());
  return Var::record(Op::Pow, r, y, a == 0.0 ? 0.0 : r * std::log(a));
}

Var log1p(const Var& x) { return Var::record(Op::Log1p, std::log1p(x.value()), x, 1.0 / (1.0 + x.value())); }

Var expm1(const Var& x) { return Var::record(Op::Expm1, std::expm1(x.value()), x, std::exp(x.value())); }

Var atan(const Var& x) {
  return Var::record(Op::Atan, std::atan(x.value()), x, 1.0 / (1.0 + x.value() * x.value()));
}

Var sinh(const Var& x) { return Var::record(Op::Sinh, std::sinh(x.value()), x, std::cosh(x.value())); }

Var cosh(const Var& x) { return Var::record(Op::Cosh, std::cosh(x.value()), x, std::sinh(x.value())); }

namespace {

// min/max propagate a NaN operand, as PyTorch's minimum/maximum do, into the value and both gradients.
bool either_nan(const Var& a, const Var& b) { return std::isnan(a.value()) || std::isnan(b.value()); }

Var nan_result(Op op, const Var& a, const Var& b) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return Var::record(op, nan, a, nan, b, nan);
}

}  // namespace

Var min(const Var& a, const Var& b) {
  if (either_nan(a, b)) return nan_result(Op::Min, a, b);
  if (a.value() == b.value()) return Var::record(Op::Min, a.value(), a, 0.5, b, 0.5);
  const bool first = a.value() < b.value();
  return Var::record(Op::Min, first ? a.value() : b.value(), a, first ? 1.0 : 0.0, b, first ? 0.0 : 1.0);
}

Var max(const Var& a, const Var& b) {
  if (either_nan(a, b)) return nan_result(Op::Max, a, b);
  if (a.value() == b.value()) return Var::record(Op::Max, a.value(), a, 0.5, b, 0.5);
  const bool first = a.value() > b.value();
  return Var::record(Op::Max, first ? a.value() : b.value(), a, first ? 1.0 : 0.0, b, first ? 0.0 : 1.0);
}

Var min(const Var& a, double b) { return min(a, Var::constant(b)); }
Var max(const Var& a, double b) { return max(a, Var::constant(b)); }
Var min(double a, const Var& b) { return min(Var::constant(a), b); }
Var max(double a, const Var& b) { return max(Var::constant(a), b); }

Var clamp(const Var& x, double lo, double hi) {
  if (!(lo <= hi)) {
    std::ostringstream os;
    os << "clamp: lower bound must not exceed upper bound, got lo = " << lo << ", hi = " << hi;
    throw ValueError(os.str());
  }
  const double v = x.value();
  const bool inside = v >= lo && v <= hi;
  return Var::record(Op::Clamp, v < lo ? lo : (v > hi ? hi : v), x, inside ? 1.0 : 0.0);
}

namespace {

// Anomaly mode (anomaly.hpp): throws if an n-ary op's value is NaN or Inf, listing its inputs.
void anomaly_check_n(Op op, double value, std::span<const Var> xs) {
  std::vector<double> values;
  std::vector<std::uint32_t> slots;
  for (const Var& x : xs) {
    values.push_back(x.value());
    slots.push_back(x.slot());
  }
  detail::anomaly_forward_node(op_name(op), value, values, slots);
}

// Records an n-ary statement over the active inputs only; constants contribute to the value alone.
template <class PartialFn>
Var record_n(Op op, double value, std::span<const Var> xs, PartialFn partial) {
  std::size_t active = 0;
  std::uint64_t stamp = 0;
  for (const Var& x : xs) {
    if (x.slot() != 0) {
      ++active;
      stamp = x.stamp();
    }
  }
  if (active == 0 || !grad_enabled()) return Var::constant(value);
  if (detail::tl_anomaly) [[unlikely]] anomaly_check_n(op, value, xs);
  Tape& t = Tape::active();
  for (const Var& x : xs) {
    if (x.slot() != 0 && x.stamp() != t.stamp()) {
      throw TapeError(std::string(op_name(op)) +
                      ": an operand was recorded on another tape than the active one, or its tape was reset");
    }
  }
  std::uint32_t* idx = nullptr;
  double* part = nullptr;
  const std::uint32_t slot = t.pushn(op, value, active, &idx, &part);
  std::size_t k = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (xs[i].slot() == 0) continue;
    idx[k] = xs[i].slot();
    part[k] = partial(i);
    ++k;
  }
  return Var::from_slot(value, slot, stamp);
}

void check_same_length(const char* op, std::size_t a, std::size_t b) {
  if (a != b) {
    std::ostringstream os;
    os << op << ": both sequences must have the same length, got " << a << " and " << b;
    throw ShapeError(os.str());
  }
}

}  // namespace

Var sum(std::span<const Var> xs) {
  double s = 0.0;
  for (const Var& x : xs) s += x.value();
  return record_n(Op::Sum, s, xs, [](std::size_t) { return 1.0; });
}

Var dot(std::span<const Var> a, std::span<const double> w) {
  check_same_length("dot", a.size(), w.size());
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i].value() * w[i];
  return record_n(Op::Dot, s, a, [&](std::size_t i) { return w[i]; });
}

Var dot(std::span<const Var> a, std::span<const Var> b) {
  check_same_length("dot", a.size(), b.size());
  // One statement over the concatenated operands: d/da_i = b_i, d/db_i = a_i.
  std::vector<Var> both;
  both.reserve(a.size() * 2);
  both.insert(both.end(), a.begin(), a.end());
  both.insert(both.end(), b.begin(), b.end());
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i].value() * b[i].value();
  const std::size_t n = a.size();
  return record_n(Op::Dot, s, both, [&](std::size_t i) { return i < n ? b[i].value() : a[i - n].value(); });
}

}  // namespace tg
