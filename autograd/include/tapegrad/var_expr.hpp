// tg::LinExpr, what Var arithmetic returns: on a tape with TapeOptions::fuse_expressions it carries an
// expression's value and its partial derivatives with respect to its leaves, so that `s += (a*b + c)/d`
// becomes one statement when it is assigned to a Var; on any other tape it is the Var each operator
// recorded, exactly as before. Included by var.hpp; use that header.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <type_traits>

namespace tg {

/// The result of Var arithmetic (`a * b`, `x + 1`, `tg::exp(x)`), converting to Var wherever one is
/// needed: `tg::Var y = a * b + c;`. K bounds how many leaves the expression has.
///
/// On a tape that does not fuse (the default) each operator was recorded as it ran, and the expression
/// is just that Var. On a fusing tape it is a linearisation, held by value: its value, and for each leaf
/// its tape slot and d(expression)/d(leaf), so the expression refers to nothing and may be kept in an
/// `auto` variable or returned; it is recorded, as one statement, when it becomes a Var.
template <std::size_t K>
struct [[nodiscard]] LinExpr {
  double v;             // the value
  bool rec;             // recorded already: idx[0] is its slot (0 for a constant), the rest unused
  bool single;          // one operator applied to Vars: recorded under that operator's name
  Op op;                // the outermost operator
  std::uint64_t stamp;  // the tape it belongs to
  std::uint32_t idx[K];  // leaf slots (0: a constant leaf, skipped when recorded)
  double p[K];           // d(expression)/d(leaf)

  /// The value (recording nothing).
  double value() const { return v; }
  /// Same as value(), as LibTorch's item().
  double item() const { return v; }
  /// The expression as a Var, labelled (see Var::label): `Var y = (a * b).label("y");`.
  Var label(const std::string& name) const;
  /// Backpropagates from the expression as a Var (see Var::backward).
  void backward(BackwardOptions opts = {}) const;
};

namespace detail {

/// A Var or a LinExpr: what Var arithmetic takes on either side (numbers have their own overloads).
template <class T>
concept LinOperand = width<T> > 0;
/// Beyond this many leaves an expression records its operands first, so a very long expression costs
/// statements of at most this width rather than copies that grow with its length.
inline constexpr std::size_t kMaxWidth = 16;

TG_FORCE_INLINE double val(const Var& x) { return x.value(); }
template <std::size_t K>
TG_FORCE_INLINE double val(const LinExpr<K>& e) {
  return e.v;
}

/// Throws the TapeError of an operand recorded on another (or a reset) tape; defined in var.cpp.
[[noreturn]] void foreign_operand(const Var& v, Op op);
/// Throws the TapeError of an expression used on another tape than the one it was built on.
[[noreturn]] void foreign_expression(std::uint64_t stamp, Op op);
/// A leaf x of another tape than the expression (stamp) it joins: names whichever of the two is not on
/// the active tape.
[[noreturn]] void stamp_mismatch(std::uint64_t stamp, const Var& x, Op op);

/// Records a fused expression as one statement.
template <std::size_t K>
Var record_fused(const LinExpr<K>& e);

/// The Var an operand stands for.
TG_FORCE_INLINE const Var& as_var(const Var& x) { return x; }
template <std::size_t K>
TG_FORCE_INLINE Var as_var(const LinExpr<K>& e) {
  if (e.rec) [[likely]] return e.idx[0] ? Var::from_slot(e.v, e.idx[0], e.stamp) : Var::constant(e.v);
  return record_fused(e);
}

/// Starts a result: true when it is to be fused (the active tape fuses, recording is on, and anomaly
/// mode, which checks every operator's result, is off); false when the operator records now.
template <std::size_t K>
TG_FORCE_INLINE bool fuse_begin_on_tape(LinExpr<K>& out, Op op, bool single) {
  const Tape* t = tl_active_tape;
  if (t == nullptr || !t->fuses()) [[likely]] return false;
  if (!tl_grad_enabled || tl_anomaly) return false;
  out.rec = false;
  out.single = single;
  out.op = op;
  out.stamp = t->stamp();
  return true;
}
/// The same for an operator with an expression operand: that operand was fused or recorded just now, on
/// the same tape in the same mode, so it answers without another look at the tape.
template <std::size_t K, std::size_t J>
TG_FORCE_INLINE bool fuse_like(LinExpr<K>& out, Op op, const LinExpr<J>& e) {
  if (e.rec) [[likely]] return false;
  out.rec = false;
  out.single = false;
  out.op = op;
  out.stamp = e.stamp;
  return true;
}
template <std::size_t K>
TG_FORCE_INLINE bool fuse_begin(LinExpr<K>& out, Op op, const Var&) {
  return fuse_begin_on_tape(out, op, true);
}
template <std::size_t K, std::size_t J>
TG_FORCE_INLINE bool fuse_begin(LinExpr<K>& out, Op op, const LinExpr<J>& a) {
  return fuse_like(out, op, a);
}
template <std::size_t K>
TG_FORCE_INLINE bool fuse_begin(LinExpr<K>& out, Op op, const Var&, const Var&) {
  return fuse_begin_on_tape(out, op, true);
}
template <std::size_t K, std::size_t J>
TG_FORCE_INLINE bool fuse_begin(LinExpr<K>& out, Op op, const LinExpr<J>& a, const Var&) {
  return fuse_like(out, op, a);
}
template <std::size_t K, std::size_t J>
TG_FORCE_INLINE bool fuse_begin(LinExpr<K>& out, Op op, const Var&, const LinExpr<J>& b) {
  return fuse_like(out, op, b);
}
template <std::size_t K, std::size_t I, std::size_t J>
TG_FORCE_INLINE bool fuse_begin(LinExpr<K>& out, Op op, const LinExpr<I>& a, const LinExpr<J>& b) {
  // Both were built in this statement: both fused, or both recorded (unless the mode changed in between,
  // which the recorded one's put() then handles as a leaf).
  if (a.rec) return fuse_like(out, op, b);
  return fuse_like(out, op, a);
}

/// Finishes a result that its operator recorded as r.
template <std::size_t K>
TG_FORCE_INLINE LinExpr<K>& set_recorded(LinExpr<K>& out, const Var& r) {
  out.rec = true;
  out.idx[0] = r.slot();
  out.stamp = r.stamp();
  return out;
}

/// Writes operand x's leaves into out at position at, their partials scaled by s.
template <std::size_t K>
TG_FORCE_INLINE void put(LinExpr<K>& out, std::size_t at, const Var& x, double s) {
  if (x.slot() != 0 && x.stamp() != out.stamp) [[unlikely]] stamp_mismatch(out.stamp, x, out.op);
  out.idx[at] = x.slot();
  out.p[at] = s;
}
template <std::size_t K, std::size_t J>
TG_FORCE_INLINE void put(LinExpr<K>& out, std::size_t at, const LinExpr<J>& x, double s) {
  if (x.rec) [[unlikely]] {  // built before the tape began to fuse: one leaf, the Var it recorded
    put(out, at, Var::from_slot(x.v, x.idx[0], x.stamp), s);
    for (std::size_t i = 1; i < J; ++i) out.idx[at + i] = 0;
    return;
  }
  if (x.stamp != out.stamp) [[unlikely]] foreign_expression(x.stamp, out.op);
  for (std::size_t i = 0; i < J; ++i) {
    out.idx[at + i] = x.idx[i];
    out.p[at + i] = x.p[i] * s;
  }
}

/// Keeps expressions at most kMaxWidth leaves wide: a wider one is recorded first and enters as a Var.
template <class A>
TG_FORCE_INLINE decltype(auto) narrow(const A& a) {
  if constexpr (width<A> > kMaxWidth / 2) {
    return as_var(a);
  } else {
    return (a);
  }
}

/// A binary operator's result: value v; partials pa = d/da, pb = d/db.
template <class A, class B>
TG_FORCE_INLINE auto binary(Op op, const A& a, const B& b, double v, double pa, double pb) {
  if constexpr (width<A> + width<B> > kMaxWidth) {
    // Too wide to fuse in one piece: the wide operands are recorded first and enter as Vars (same values,
    // so the same v, pa and pb).
    const auto& na = narrow(a);
    const auto& nb = narrow(b);
    return binary(op, na, nb, v, pa, pb);
  } else {
    LinExpr<width<A> + width<B>> out;
    out.v = v;
    if (!fuse_begin(out, op, a, b)) {
      const Var r = Var::record(op, v, as_var(a), pa, as_var(b), pb);
      return set_recorded(out, r);
    }
    put(out, 0, a, pa);
    put(out, width<A>, b, pb);
    return out;
  }
}

/// A unary operator's (or an operator with a constant's) result: value v, partial pa = d/da.
template <class A>
TG_FORCE_INLINE LinExpr<width<A>> unary(Op op, const A& a, double v, double pa) {
  LinExpr<width<A>> out;
  out.v = v;
  if (!fuse_begin(out, op, a)) {
    const Var r = Var::record(op, v, as_var(a), pa);
    return set_recorded(out, r);
  }
  put(out, 0, a, pa);
  return out;
}

template <std::size_t K>
TG_FORCE_INLINE Var record_fused(const LinExpr<K>& e) {
  if (!grad_enabled()) return Var::constant(e.v);
  Tape& t = Tape::active();
  if (e.stamp != t.stamp()) [[unlikely]] foreign_expression(e.stamp, e.op);
  t.expr_reserve(K);
  std::uint32_t* ia = t.expr_idx();
  double* pa = t.expr_partials();
  std::size_t n = 0;
  for (std::size_t i = 0; i < K; ++i) {  // constants (slot 0) are left out, without a branch
    ia[n] = e.idx[i];
    pa[n] = e.p[i];
    n += e.idx[i] != 0 ? 1 : 0;
  }
  if (n == 0) return Var::constant(e.v);
  return Var::from_slot(e.v, t.expr_commit(n, e.single ? e.op : Op::Expr), e.stamp);
}

}  // namespace detail

template <std::size_t K>
TG_FORCE_INLINE Var::Var(const LinExpr<K>& e) : Var(detail::as_var(e)) {}

template <std::size_t K>
Var LinExpr<K>::label(const std::string& name) const {
  Var out(*this);
  out.label(name);
  return out;
}

template <std::size_t K>
void LinExpr<K>::backward(BackwardOptions opts) const {
  Var(*this).backward(opts);
}

// ---- arithmetic ---------------------------------------------------------------------------------------
// d(a+b) = da + db ; d(a-b) = da - db ; d(ab) = b da + a db ; d(a/b) = da/b - a/b^2 db

template <detail::LinOperand A, detail::LinOperand B>
TG_FORCE_INLINE auto operator+(const A& a, const B& b) {
  using detail::val;
  return detail::binary(Op::Add, a, b, val(a) + val(b), 1.0, 1.0);
}
template <detail::LinOperand A, detail::LinOperand B>
TG_FORCE_INLINE auto operator-(const A& a, const B& b) {
  using detail::val;
  return detail::binary(Op::Sub, a, b, val(a) - val(b), 1.0, -1.0);
}
template <detail::LinOperand A, detail::LinOperand B>
TG_FORCE_INLINE auto operator*(const A& a, const B& b) {
  using detail::val;
  return detail::binary(Op::Mul, a, b, val(a) * val(b), val(b), val(a));
}
template <detail::LinOperand A, detail::LinOperand B>
TG_FORCE_INLINE auto operator/(const A& a, const B& b) {
  using detail::val;
  const double inv = 1.0 / val(b);
  const double q = val(a) * inv;
  return detail::binary(Op::Div, a, b, q, inv, -q * inv);
}
template <detail::LinOperand A>
TG_FORCE_INLINE auto operator-(const A& a) {
  return detail::unary(Op::Neg, a, -detail::val(a), -1.0);
}
template <detail::LinOperand A>
TG_FORCE_INLINE A operator+(const A& a) {
  return a;
}

template <detail::LinOperand A>
TG_FORCE_INLINE auto operator+(const A& a, double b) {
  return detail::unary(Op::Add, a, detail::val(a) + b, 1.0);
}
template <detail::LinOperand B>
TG_FORCE_INLINE auto operator+(double a, const B& b) {
  return detail::unary(Op::Add, b, a + detail::val(b), 1.0);
}
template <detail::LinOperand A>
TG_FORCE_INLINE auto operator-(const A& a, double b) {
  return detail::unary(Op::Sub, a, detail::val(a) - b, 1.0);
}
template <detail::LinOperand B>
TG_FORCE_INLINE auto operator-(double a, const B& b) {
  return detail::unary(Op::Sub, b, a - detail::val(b), -1.0);
}
template <detail::LinOperand A>
TG_FORCE_INLINE auto operator*(const A& a, double b) {
  return detail::unary(Op::Mul, a, detail::val(a) * b, b);
}
template <detail::LinOperand B>
TG_FORCE_INLINE auto operator*(double a, const B& b) {
  return detail::unary(Op::Mul, b, a * detail::val(b), a);
}
template <detail::LinOperand A>
TG_FORCE_INLINE auto operator/(const A& a, double b) {
  return detail::unary(Op::Div, a, detail::val(a) / b, 1.0 / b);
}
template <detail::LinOperand B>
TG_FORCE_INLINE auto operator/(double a, const B& b) {
  const double inv = 1.0 / detail::val(b);
  const double q = a * inv;
  return detail::unary(Op::Div, b, q, -q * inv);
}

template <class E>
  requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
TG_FORCE_INLINE Var& Var::operator+=(const E& o) {
  return *this = *this + o;
}
template <class E>
  requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
TG_FORCE_INLINE Var& Var::operator-=(const E& o) {
  return *this = *this - o;
}
template <class E>
  requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
TG_FORCE_INLINE Var& Var::operator*=(const E& o) {
  return *this = *this * o;
}
template <class E>
  requires(detail::width<E> > 0 || std::is_arithmetic_v<E>)
TG_FORCE_INLINE Var& Var::operator/=(const E& o) {
  return *this = *this / o;
}

// Comparisons look at values only (they are not differentiable, and record nothing), so Vars and
// expressions work in if-conditions.
template <detail::LinOperand A, detail::LinOperand B>
bool operator<(const A& a, const B& b) {
  return detail::val(a) < detail::val(b);
}
template <detail::LinOperand A, detail::LinOperand B>
bool operator>(const A& a, const B& b) {
  return detail::val(a) > detail::val(b);
}
template <detail::LinOperand A, detail::LinOperand B>
bool operator<=(const A& a, const B& b) {
  return detail::val(a) <= detail::val(b);
}
template <detail::LinOperand A, detail::LinOperand B>
bool operator>=(const A& a, const B& b) {
  return detail::val(a) >= detail::val(b);
}
template <detail::LinOperand A>
bool operator<(const A& a, double b) {
  return detail::val(a) < b;
}
template <detail::LinOperand A>
bool operator>(const A& a, double b) {
  return detail::val(a) > b;
}
template <detail::LinOperand B>
bool operator<(double a, const B& b) {
  return a < detail::val(b);
}
template <detail::LinOperand B>
bool operator>(double a, const B& b) {
  return a > detail::val(b);
}

/// Prints an expression's value as a Var prints (`Var(0.5)`), recording nothing.
template <std::size_t K>
std::ostream& operator<<(std::ostream& os, const LinExpr<K>& e) {
  return os << Var::constant(e.v);
}

// The smooth workhorses of losses and activations are expressions too: on a fusing tape each adds a
// factor to a statement's partials instead of a statement. Each states its derivative.

namespace detail {
/// σ(x)σ(-x) = e^-|x| / (1 + e^-|x|)²: exact in both tails, where s(1 - s) would round to 0.
inline double sigmoid_slope(double x) {
  const double e = std::exp(-std::abs(x));
  const double d = 1.0 + e;
  return e / (d * d);
}
/// 1/(1+e^-x) without overflow for any x.
inline double stable_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
}  // namespace detail

/// e^x ; d = e^x
template <detail::LinOperand A>
TG_FORCE_INLINE auto exp(const A& x) {
  const double e = std::exp(detail::val(x));
  return detail::unary(Op::Exp, x, e, e);
}
/// ln x ; d = 1/x (log(0) = -inf with derivative +inf; x < 0 gives NaN)
template <detail::LinOperand A>
TG_FORCE_INLINE auto log(const A& x) {
  const double v = detail::val(x);
  return detail::unary(Op::Log, x, std::log(v), 1.0 / v);
}
/// tanh x ; d = 1 - tanh² x, computed without cancellation for large |x|
template <detail::LinOperand A>
TG_FORCE_INLINE auto tanh(const A& x) {
  const double v = detail::val(x);
  const double t = std::tanh(v);
  // 1 - t² loses all digits once |t| rounds to 1; 4e/(1+e)² with e = e^(-2|x|) does not.
  double d;
  if (std::abs(t) < 0.9) {
    d = 1.0 - t * t;
  } else {
    const double e = std::exp(-2.0 * std::abs(v));
    d = 4.0 * e / ((1.0 + e) * (1.0 + e));
  }
  return detail::unary(Op::Tanh, x, t, d);
}
/// √x ; d = 1/(2√x) (infinite at 0)
template <detail::LinOperand A>
TG_FORCE_INLINE auto sqrt(const A& x) {
  const double r = std::sqrt(detail::val(x));
  return detail::unary(Op::Sqrt, x, r, 0.5 / r);
}
/// sin x ; d = cos x
template <detail::LinOperand A>
TG_FORCE_INLINE auto sin(const A& x) {
  const double v = detail::val(x);
  return detail::unary(Op::Sin, x, std::sin(v), std::cos(v));
}
/// cos x ; d = -sin x
template <detail::LinOperand A>
TG_FORCE_INLINE auto cos(const A& x) {
  const double v = detail::val(x);
  return detail::unary(Op::Cos, x, std::cos(v), -std::sin(v));
}
/// logistic 1/(1+e^-x), evaluated without overflow for any x ; d = σ(x)σ(-x), accurate in the tails
template <detail::LinOperand A>
TG_FORCE_INLINE auto sigmoid(const A& x) {
  const double v = detail::val(x);
  return detail::unary(Op::Sigmoid, x, detail::stable_sigmoid(v), detail::sigmoid_slope(v));
}
/// x² ; d = 2x
template <detail::LinOperand A>
TG_FORCE_INLINE auto square(const A& x) {
  const double v = detail::val(x);
  return detail::unary(Op::Square, x, v * v, 2.0 * v);
}
/// x^p for a constant p ; d = p x^(p-1) (0 when p = 0)
template <detail::LinOperand A>
TG_FORCE_INLINE auto pow(const A& x, double p) {
  const double v = detail::val(x);
  return detail::unary(Op::Pow, x, std::pow(v, p), p == 0.0 ? 0.0 : p * std::pow(v, p - 1.0));
}

}  // namespace tg
