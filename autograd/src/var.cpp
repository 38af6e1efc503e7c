// Var bookkeeping: tape lookup, gradients, labels and errors for misuse.
#include "tapegrad/var.hpp"

#include <ostream>
#include <sstream>

namespace tg {

namespace {

[[noreturn]] void stale(const char* what, std::uint64_t stamp) {
  std::ostringstream os;
  os << what << ": this Var " << Tape::why_gone(stamp)
     << ". Vars are valid only on their own thread until their tape is reset; keep parameters as doubles "
        "and create leaf Vars each step";
  throw TapeError(os.str());
}

Tape& tape_of(const Var& v, const char* what) {
  if (v.slot() == 0) {
    std::ostringstream os;
    os << what << ": this Var is a constant (made by Var::constant, a detach(), or under NoGradGuard); "
                  "it is not recorded on any tape";
    throw TapeError(os.str());
  }
  Tape* t = Tape::find(v.stamp());
  if (t == nullptr) stale(what, v.stamp());
  return *t;
}

}  // namespace

Tape& Var::tape() const { return tape_of(*this, "Var::tape"); }

void detail::foreign_operand(const Var& v, Op op) {
  std::ostringstream os;
  os << op_name(op) << ": an operand";
  if (Tape* t = Tape::find(v.stamp())) {
    if (auto l = t->label(v.slot()); !l.empty()) os << " ('" << l << "')";
    os << " was recorded on another tape than the active one (an outer ScopedTape?); gradients cannot "
          "cross tapes. Pass its value with .detach(), or record everything on one tape";
  } else {
    os << " " << Tape::why_gone(v.stamp()) << ". Vars are valid only on their own thread until their tape is reset";
  }
  throw TapeError(os.str());
}

void Var::foreign(const Var& v, Op op) { detail::foreign_operand(v, op); }

void detail::stamp_mismatch(std::uint64_t stamp, const Var& x, Op op) {
  const Tape* active = tl_active_tape;
  if (active != nullptr && x.stamp() == active->stamp()) foreign_expression(stamp, op);
  foreign_operand(x, op);
}

void detail::foreign_expression(std::uint64_t stamp, Op op) {
  std::ostringstream os;
  os << op_name(op) << ": an operand is an expression built on another tape than the active one ("
     << (Tape::find(stamp) ? "an outer ScopedTape?" : Tape::why_gone(stamp))
     << "); make it a Var on its own tape, or record everything on one tape";
  throw TapeError(os.str());
}

double Var::grad_slow() const { return tape_of(*this, "Var::grad").grad(idx_); }

void Var::backward(BackwardOptions opts) const { tape_of(*this, "backward").backward(idx_, 1.0, opts); }

void Var::zero_grad() const {
  if (idx_ == 0) return;
  tape_of(*this, "Var::zero_grad").zero_grad();
}

Var& Var::label(const std::string& name) {
  if (idx_ != 0) tape_of(*this, "Var::label").set_label(idx_, name);
  return *this;
}

std::string Var::label() const {
  if (idx_ == 0) return {};
  Tape* t = Tape::find(stamp_);
  return t ? t->label(idx_) : std::string();
}

std::ostream& operator<<(std::ostream& os, const Var& v) { return os << "Var(" << v.value() << ")"; }

std::vector<double> grad(const Var& y, std::span<const Var> xs, BackwardOptions opts) {
  Tape& t = tape_of(y, "grad");
  std::vector<std::uint32_t> slots;
  slots.reserve(xs.size());
  for (const Var& x : xs) {
    if (x.slot() != 0 && x.stamp() != y.stamp()) {
      throw TapeError("grad: an input was recorded on another tape than the output, or its tape was reset");
    }
    slots.push_back(x.slot());
  }
  std::vector<double> g = t.gradient(y.slot(), slots, opts);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (slots[i] == 0) g[i] = 0.0;  // a constant input has gradient 0, not slot 0's scratch value
  }
  return g;
}

void leaves(std::span<const double> values, std::span<Var> out) {
  if (values.size() != out.size()) {
    throw ShapeError("leaves: values and out must have the same length, got " + std::to_string(values.size()) +
                     " and " + std::to_string(out.size()));
  }
  if (!grad_enabled()) {
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = Var::constant(values[i]);
    return;
  }
  Tape& t = Tape::active();
  const std::uint32_t first = t.push_leaves(values.data(), values.size());
  const std::uint64_t stamp = t.stamp();
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = Var::from_slot(values[i], first + static_cast<std::uint32_t>(i), stamp);
  }
}

std::vector<Var> leaves(std::span<const double> values) {
  std::vector<Var> out(values.size());
  leaves(values, out);
  return out;
}

void grads(std::span<const Var> xs, std::span<double> out) {
  if (xs.size() != out.size()) {
    throw ShapeError("grads: xs and out must have the same length, got " + std::to_string(xs.size()) + " and " +
                     std::to_string(out.size()));
  }
  // The tape of the previous Var is remembered, so a run of Vars from one tape costs one stamp compare
  // each; a Var of another (or a gone) tape takes the checked lookup of Var::grad().
  std::uint64_t stamp = 0;
  std::span<const double> g;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Var& x = xs[i];
    if (x.slot() == 0) {
      out[i] = 0.0;
      continue;
    }
    if (x.stamp() != stamp) {
      g = tape_of(x, "grads").grads();
      stamp = x.stamp();
    }
    out[i] = x.slot() < g.size() ? g[x.slot()] : 0.0;
  }
}

std::vector<double> grads(std::span<const Var> xs) {
  std::vector<double> out(xs.size());
  grads(xs, out);
  return out;
}

std::vector<double> grad(const Var& y, std::initializer_list<Var> xs, BackwardOptions opts) {
  return grad(y, std::span<const Var>(xs.begin(), xs.size()), opts);
}

}  // namespace tg
