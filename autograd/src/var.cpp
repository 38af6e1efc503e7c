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

void Var::foreign(const Var& v, Op op) {
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

std::vector<double> grad(const Var& y, std::initializer_list<Var> xs, BackwardOptions opts) {
  return grad(y, std::span<const Var>(xs.begin(), xs.size()), opts);
}

}  // namespace tg
