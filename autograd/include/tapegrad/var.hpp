// tg::Var: a differentiable double. Every operation on Vars is recorded on the thread's active tape with
// its local partial derivatives, so backward() is a single multiply-add sweep.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/tape.hpp"

// Forced inline for the recording path: left to itself GCC calls Var::record and the arithmetic operators
// out of line from each expression, and the calls (a 24-byte Var returned through memory, the tape's
// fields reloaded after each) cost about a quarter of a recording (bench/scalar, arith workload).
#if defined(__GNUC__)
#define TG_FORCE_INLINE [[gnu::always_inline]] inline
#else
#define TG_FORCE_INLINE inline
#endif

namespace tg {

class Var;
template <std::size_t K>
struct LinExpr;

namespace detail {
template <class T>
struct lin_width {
  static constexpr std::size_t value = 0;  // not a Var operand
};
template <>
struct lin_width<Var> {
  static constexpr std::size_t value = 1;
};
template <std::size_t K>
struct lin_width<LinExpr<K>> {
  static constexpr std::size_t value = K;
};
/// Leaves a Var operand contributes to an expression: 1 for a Var, K for a LinExpr<K>, 0 for anything else.
template <class T>
inline constexpr std::size_t width = lin_width<T>::value;
}  // namespace detail

/// A scalar that records the operations applied to it. A Var is a cheap handle (value, tape slot and tape
/// epoch): copying one never copies a graph.
///
/// `Var x(2.0)` creates a leaf on the active tape (a constant inside NoGradGuard); `Var::constant(2.0)`
/// and plain doubles never receive gradients. After `y.backward()`, `x.grad()` holds dy/dx. Gradients
/// accumulate across backward calls until `zero_grad()`, as in PyTorch. A Var becomes stale when its tape
/// is reset or destroyed; using it afterwards throws TapeError.
///
/// Arithmetic on Vars returns a tg::LinExpr (var_expr.hpp) that converts to Var where one is needed:
/// write `tg::Var y = a * b + c;`. By default every operator is recorded as it runs; on a tape with
/// TapeOptions::fuse_expressions the whole right-hand side is recorded as one statement.
class Var {
 public:
  /// The constant 0 (records nothing).
  Var() = default;
  /// A new leaf with value v on the active tape; a constant when recording is off.
  explicit Var(double v);
  /// A constant that is never differentiated.
  static Var constant(double v) {
    Var out;
    out.val_ = v;
    return out;
  }

  /// The value.
  double value() const { return val_; }
  /// Same as value(), as LibTorch's item().
  double item() const { return val_; }
  /// True when this Var is recorded on a tape (and so can receive a gradient).
  bool requires_grad() const { return idx_ != 0; }
  /// The tape slot (0 for constants); for explain/gradcheck tooling.
  std::uint32_t slot() const { return idx_; }
  /// The epoch stamp of the tape this Var was recorded on (0 for constants).
  std::uint64_t stamp() const { return stamp_; }
  /// The tape this Var lives on; throws TapeError if it was reset or destroyed, or for a constant.
  Tape& tape() const;

  /// The accumulated gradient d(output)/d(this) of the backward calls so far (0 for a constant).
  double grad() const;
  /// Backpropagates from this Var (seed 1), accumulating into grad() of every Var it reaches.
  void backward(BackwardOptions opts = {}) const;
  /// Zeroes the accumulated gradients of every Var on this Var's tape.
  void zero_grad() const;
  /// A constant with the same value: gradients do not flow through it.
  Var detach() const { return constant(val_); }

  /// Names this Var in explanations, errors and graphs. Returns *this for chaining.
  Var& label(const std::string& name);
  /// The name given with label(), or "".
  std::string label() const;

  /// Records (if it is not already) the result of Var arithmetic such as `a * b + c` (var_expr.hpp).
  template <std::size_t K>
  Var(const LinExpr<K>& e);  // implicit: `Var y = a * b + c;` reads as math

  /// this = this + o, for a Var, an expression or a number (and likewise -=, *=, /=).
  template <class E>
    requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
  Var& operator+=(const E& o);
  template <class E>
    requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
  Var& operator-=(const E& o);
  template <class E>
    requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
  Var& operator*=(const E& o);
  template <class E>
    requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
  Var& operator/=(const E& o);

  // Low-level constructors used by the ops (and by user-defined ops).
  /// Records a unary statement with local partial pa and returns its result.
  static Var record(Op op, double v, const Var& a, double pa);
  /// Records a binary statement with local partials pa, pb and returns its result.
  static Var record(Op op, double v, const Var& a, double pa, const Var& b, double pb);
  /// Wraps an already recorded slot of the active tape.
  static Var from_slot(double v, std::uint32_t slot, std::uint64_t stamp) {
    Var out;
    out.val_ = v;
    out.idx_ = slot;
    out.stamp_ = stamp;
    return out;
  }

 private:
  [[noreturn]] static void foreign(const Var& v, Op op);
  double grad_slow() const;
  /// Anomaly mode: throws AnomalyError if v is NaN or Inf (defined in anomaly.cpp).
  static void anomaly_check(Op op, double v, const Var& a, double pa, const Var* b, double pb);
  double val_ = 0.0;
  std::uint32_t idx_ = 0;
  std::uint64_t stamp_ = 0;
};

inline Var::Var(double v) : val_(v) {
  if (!grad_enabled()) return;
  Tape& t = Tape::active();
  idx_ = t.push_leaf(v);
  stamp_ = t.stamp();
}

// Reading gradients out is as frequent as recording leaves (once per parameter per step), so the common
// case, a Var of the active tape, is answered here; anything else takes the checked lookup by stamp.
inline double Var::grad() const {
  if (idx_ == 0) return 0.0;
  const Tape* t = detail::tl_active_tape;
  if (t != nullptr && t->stamp() == stamp_) [[likely]] return t->grad(idx_);
  return grad_slow();
}

TG_FORCE_INLINE Var Var::record(Op op, double v, const Var& a, double pa) {
  if (a.idx_ == 0 || !grad_enabled()) return constant(v);
  // Anomaly mode (anomaly.hpp): the one extra test of the recording path; the check is out of line.
  if (detail::tl_anomaly) [[unlikely]] anomaly_check(op, v, a, pa, nullptr, 0.0);
  Tape& t = Tape::active();
  if (a.stamp_ != t.stamp()) [[unlikely]] foreign(a, op);
  return from_slot(v, t.push1(op, v, a.idx_, pa), a.stamp_);
}

TG_FORCE_INLINE Var Var::record(Op op, double v, const Var& a, double pa, const Var& b, double pb) {
  if (b.idx_ == 0) return record(op, v, a, pa);
  if (a.idx_ == 0) return record(op, v, b, pb);
  if (!grad_enabled()) return constant(v);
  if (detail::tl_anomaly) [[unlikely]] anomaly_check(op, v, a, pa, &b, pb);
  Tape& t = Tape::active();
  if (a.stamp_ != t.stamp()) [[unlikely]] foreign(a, op);
  if (b.stamp_ != t.stamp()) [[unlikely]] foreign(b, op);
  return from_slot(v, t.push2(op, v, a.idx_, pa, b.idx_, pb), a.stamp_);
}

/// Prints the value (and "(grad)" marker-free): `Var(0.5)`.
std::ostream& operator<<(std::ostream& os, const Var& v);

// ---- elementary functions -----------------------------------------------------------------------------
// Each records one statement; the derivative used is stated beside it. Documented choices at
// non-differentiable points follow PyTorch: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope,
// elu'(0) = alpha, min/max at a tie split the gradient equally (0.5 each), clamp passes gradient 1 on
// the closed interval [lo, hi] and 0 outside.

/// tan x ; d = 1 + tan² x
Var tan(const Var& x);
/// max(x, 0) ; d = 1 for x > 0, else 0
Var relu(const Var& x);
/// x for x > 0, slope·x otherwise ; d = 1 or slope
Var leaky_relu(const Var& x, double slope = 0.01);
/// x for x > 0, alpha(e^x - 1) otherwise ; d = 1 or alpha·e^x
Var elu(const Var& x, double alpha = 1.0);
/// ln(1 + e^x), computed as max(x,0) + log1p(e^-|x|) so it never overflows ; d = σ(x)
Var softplus(const Var& x);
/// |x| ; d = sign(x), 0 at 0
Var abs(const Var& x);
/// x^y ; dx = y x^(y-1), dy = x^y ln x (taken as 0 where x = 0, as PyTorch)
Var pow(const Var& x, const Var& y);
/// a^y for a constant base ; dy = a^y ln a
Var pow(double a, const Var& y);
/// ln(1 + x) ; d = 1/(1+x)
Var log1p(const Var& x);
/// e^x - 1 ; d = e^x
Var expm1(const Var& x);
/// arctan x ; d = 1/(1+x²)
Var atan(const Var& x);
/// sinh x ; d = cosh x
Var sinh(const Var& x);
/// cosh x ; d = sinh x
Var cosh(const Var& x);
/// The smaller of a and b ; gradient to the smaller, split 0.5/0.5 on a tie
Var min(const Var& a, const Var& b);
/// The larger of a and b ; gradient to the larger, split 0.5/0.5 on a tie
Var max(const Var& a, const Var& b);
/// min(a, constant) and friends.
Var min(const Var& a, double b);
Var max(const Var& a, double b);
Var min(double a, const Var& b);
Var max(double a, const Var& b);
/// x limited to [lo, hi] ; d = 1 on [lo, hi], 0 outside. Throws ValueError if lo > hi.
Var clamp(const Var& x, double lo, double hi);

/// Σ xs, recorded as one statement with one partial per term (cheaper than a chain of additions).
Var sum(std::span<const Var> xs);
/// Σ a_i b_i, recorded as one statement. Throws ShapeError if the lengths differ.
Var dot(std::span<const Var> a, std::span<const Var> b);
/// Σ a_i w_i with constant weights w, recorded as one statement.
Var dot(std::span<const Var> a, std::span<const double> w);

/// One new leaf per value on the active tape, in consecutive slots (constants when recording is off): the
/// bulk form of `Var(v)` for a model's inputs or parameters, one tape call instead of one per value.
/// Throws ShapeError if out and values differ in length.
void leaves(std::span<const double> values, std::span<Var> out);
/// Same, returning the new Vars.
std::vector<Var> leaves(std::span<const double> values);
/// The accumulated gradients of xs, in order (0 for a constant): the bulk form of `x.grad()`, checking the
/// tape once per run of Vars from the same tape. Throws TapeError for a Var whose tape was reset or
/// destroyed, and ShapeError if out and xs differ in length.
void grads(std::span<const Var> xs, std::span<double> out);
/// Same, returning the gradients.
std::vector<double> grads(std::span<const Var> xs);

/// Gradients of y with respect to each of xs, without touching any Var's grad(). The graph is released
/// unless opts.retain_graph.
std::vector<double> grad(const Var& y, std::initializer_list<Var> xs, BackwardOptions opts = {});
/// Same, for a vector of inputs.
std::vector<double> grad(const Var& y, std::span<const Var> xs, BackwardOptions opts = {});

}  // namespace tg

#include "tapegrad/var_expr.hpp"
