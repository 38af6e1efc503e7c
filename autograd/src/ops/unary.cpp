// Unary elementwise ops (math, activations, ops with a scalar operand). Each op is one struct: its name,
// what its backward needs (input x and/or output y), the forward of one element, and the backward formula
// written with tensor ops.
#include <cmath>
#include <numbers>
#include <sstream>

#include "kernels.hpp"

namespace tg {

namespace {

constexpr int kX = 1;  // backward reads the input
constexpr int kY = 2;  // backward reads the output

template <class Op>
class UnaryNode final : public TensorNode {
 public:
  UnaryNode(double p, double q) : p_(p), q_(q) {}
  const char* name() const override { return Op::name; }

 protected:
  void apply_owned(BackwardContext& ctx, Tensor g) override {
    if constexpr (requires { Op::passes_grad; }) {
      push(0, std::move(g));  // d = dx: the gradient goes on as it is
      return;
    }
    if constexpr (requires { Op::template df<double>(0.0, 0.0, 0.0, 0.0, 0.0); }) {
      // A gradient nothing else can see is overwritten with the input's gradient instead of allocating
      // a new tensor (not when recording: the recorded formula needs g as it is).
      if (!creating() && g.defined() && detail::exclusive(g)) {
        const Tensor none;
        const Tensor& x = (Op::saves & kX) ? saved(0) : none;
        const Tensor& y = (Op::saves & kY) ? saved((Op::saves & kX) ? 1 : 0) : none;
        if (elementwise_with(x, g) && elementwise_with(y, g)) {
          detail::dispatch_float(g.dtype(), Op::name, [&]<class T>() {
            T* pg = g.impl()->data<T>();
            const T* px = x.defined() ? x.impl()->data<T>() : nullptr;
            const T* py = y.defined() ? y.impl()->data<T>() : nullptr;
            const T tp = static_cast<T>(p_);
            const T tq = static_cast<T>(q_);
            const std::int64_t n = g.numel();
            for (std::int64_t i = 0; i < n; ++i) {
              pg[i] = Op::df(pg[i], px ? px[i] : T(0), py ? py[i] : T(0), tp, tq);
            }
          });
          ++g.impl()->storage->version;
          push(0, std::move(g));
          return;
        }
      }
    }
    apply(ctx, g);
  }

  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor none;
    const Tensor& x = (Op::saves & kX) ? saved(0) : none;
    const Tensor& y = (Op::saves & kY) ? saved((Op::saves & kX) ? 1 : 0) : none;
    if constexpr (requires { Op::fused_grad(g, y); }) {
      // The same formula in one pass when it is not being recorded (the common case).
      if (!creating()) {
        push(0, Op::fused_grad(g, y));
        return;
      }
    }
    push(0, Op::grad(g, x, y, p_, q_));
  }

 private:
  // t (a saved input or output) is undefined, or lines up element for element with g.
  static bool elementwise_with(const Tensor& t, const Tensor& g) {
    return !t.defined() || (t.is_contiguous() && t.dtype() == g.dtype() && detail::same_shape(t.shape(), g.shape()));
  }

  double p_;
  double q_;
};

template <class Op>
Tensor unary(const Tensor& x, double p = 0.0, double q = 0.0) {
  detail::check_floating(Op::name, x);
  Tensor y = detail::new_tensor(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), Op::name, [&]<class T>() {
    const T tp = static_cast<T>(p);
    const T tq = static_cast<T>(q);
    detail::map_unary<T, T>(*x.impl(), y.impl()->data<T>(), [=](T v) -> T { return Op::f(v, tp, tq); });
  });
  if (!detail::any_requires_grad({&x})) return y;
  auto* n = detail::make_node<UnaryNode<Op>>(p, q);
  n->add_input(x);
  if constexpr ((Op::saves & kX) != 0) n->save(x);
  if constexpr ((Op::saves & kY) != 0) n->save(y);
  n->finish(y);
  return y;
}

template <class T>
T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// The one-pass backward of an op whose derivative is a function of its output: g ⊙ Op::df elementwise,
// the same formula the in-place path (UnaryNode::apply_owned) uses.
template <class Op>
Tensor fused_by_df(const Tensor& g, const Tensor& y) {
  return detail::map2(g, y, [](auto gv, auto yv) {
    using T = decltype(gv);
    return Op::df(gv, T(0), yv, T(0), T(0));
  });
}

struct NegOp {
  static constexpr const char* name = "neg";
  static constexpr int saves = 0;
  template <class T> static T f(T x, T, T) { return -x; }
  template <class T> static T df(T g, T, T, T, T) { return -g; }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor&, double, double) { return neg(g); }
};
struct ExpOp {  // d e^x = e^x
  static constexpr const char* name = "exp";
  static constexpr int saves = kY;
  template <class T> static T f(T x, T, T) { return std::exp(x); }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor& y, double, double) { return g * y; }
};
struct LogOp {  // d ln x = 1/x
  static constexpr const char* name = "log";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T, T) { return std::log(x); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double, double) { return g / x; }
};
struct SqrtOp {  // d √x = 1/(2√x)
  static constexpr const char* name = "sqrt";
  static constexpr int saves = kY;
  template <class T> static T f(T x, T, T) { return std::sqrt(x); }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor& y, double, double) { return g / (2.0 * y); }
};
struct AbsOp {  // d |x| = sign(x), 0 at 0
  static constexpr const char* name = "abs";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T, T) { return std::abs(x); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double, double) { return g * sign(x); }
};
struct SinOp {  // d sin = cos
  static constexpr const char* name = "sin";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T, T) { return std::sin(x); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double, double) { return g * cos(x); }
};
struct CosOp {  // d cos = -sin
  static constexpr const char* name = "cos";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T, T) { return std::cos(x); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double, double) { return -(g * sin(x)); }
};
struct TanhOp {  // d tanh = 1 - tanh²
  static constexpr const char* name = "tanh";
  static constexpr int saves = kY;
  template <class T> static T f(T x, T, T) { return std::tanh(x); }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor& y, double, double) {
    return g * (1.0 - y * y);
  }
  static Tensor fused_grad(const Tensor& g, const Tensor& y) {
    return fused_by_df<TanhOp>(g, y);
  }
  template <class T> static T df(T gv, T, T yv, T, T) { return gv * (1 - yv * yv); }
};
struct SigmoidOp {  // d σ = σ(1 - σ)
  static constexpr const char* name = "sigmoid";
  static constexpr int saves = kY;
  template <class T> static T f(T x, T, T) { return stable_sigmoid(x); }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor& y, double, double) {
    return g * (y * (1.0 - y));
  }
  static Tensor fused_grad(const Tensor& g, const Tensor& y) {
    return fused_by_df<SigmoidOp>(g, y);
  }
  template <class T> static T df(T gv, T, T yv, T, T) { return gv * (yv * (1 - yv)); }
};
struct ReluOp {  // d relu = 1 for x > 0, else 0
  static constexpr const char* name = "relu";
  static constexpr int saves = kY;
  template <class T> static T f(T x, T, T) { return x < T(0) ? T(0) : x; }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor& y, double, double) {
    return where(y > 0.0, g, 0.0);
  }
  static Tensor fused_grad(const Tensor& g, const Tensor& y) {
    return fused_by_df<ReluOp>(g, y);
  }
  template <class T> static T df(T gv, T, T yv, T, T) { return yv > 0 ? gv : T(0); }
};
struct LeakyReluOp {  // d = 1 for x > 0, else slope
  static constexpr const char* name = "leaky_relu";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T slope, T) { return x > T(0) ? x : slope * x; }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double slope, double) {
    return where(x > 0.0, g, g * slope);
  }
};
struct EluOp {  // d = 1 for x > 0, else alpha e^x = y + alpha
  static constexpr const char* name = "elu";
  static constexpr int saves = kX | kY;
  template <class T> static T f(T x, T alpha, T) { return x > T(0) ? x : alpha * std::expm1(x); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor& y, double alpha, double) {
    return where(x > 0.0, g, g * (y + alpha));
  }
};
struct SoftplusOp {  // ln(1 + e^(βx))/β = (max(βx, 0) + ln(1 + e^-|βx|))/β ; d = σ(βx)
  static constexpr const char* name = "softplus";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T beta, T) {
    const T bx = beta * x;
    return ((bx > T(0) ? bx : T(0)) + std::log1p(std::exp(-std::abs(bx)))) / beta;
  }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double beta, double) {
    return g * sigmoid(x * beta);
  }
};
struct ErfOp {  // d erf = 2/√π e^(-x²)
  static constexpr const char* name = "erf";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T, T) { return std::erf(x); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double, double) {
    return g * (exp(-(x * x)) * (2.0 / std::sqrt(std::numbers::pi)));
  }
};
struct GeluOp {  // x Φ(x) ; d = Φ(x) + x φ(x)
  static constexpr const char* name = "gelu";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T, T) {
    return T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
  }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double, double) {
    const Tensor cdf = 0.5 * (1.0 + erf(x * (std::numbers::sqrt2 / 2)));
    const Tensor pdf = exp(-0.5 * (x * x)) * (1.0 / std::sqrt(2.0 * std::numbers::pi));
    return g * (cdf + x * pdf);
  }
};
struct SquareOp {  // d x² = 2x
  static constexpr const char* name = "square";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T, T) { return x * x; }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double, double) { return g * (2.0 * x); }
};
struct PowScalarOp {  // d x^p = p x^(p-1)
  static constexpr const char* name = "pow";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T p, T) { return p == T(2) ? x * x : std::pow(x, p); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double p, double) {
    if (p == 0.0) return zeros_like(g);
    return g * (p * pow(x, p - 1.0));
  }
};
struct RpowOp {  // d a^x = a^x ln a
  static constexpr const char* name = "pow";
  static constexpr int saves = kY;
  template <class T> static T f(T x, T a, T) { return std::pow(a, x); }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor& y, double a, double) {
    return g * (y * std::log(a));
  }
};
struct ClampOp {  // d = 1 on [lo, hi], 0 outside
  static constexpr const char* name = "clamp";
  static constexpr int saves = kX;
  template <class T> static T f(T x, T lo, T hi) { return x < lo ? lo : (x > hi ? hi : x); }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor&, double lo, double hi) {
    return where(logical_and(x >= lo, x <= hi), g, 0.0);
  }
};
struct AddScalarOp {  // d(x + s) = dx
  static constexpr const char* name = "add";
  static constexpr int saves = 0;
  template <class T> static T f(T x, T s, T) { return x + s; }
  static constexpr bool passes_grad = true;
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor&, double, double) { return g; }
};
struct MulScalarOp {  // d(s x) = s dx
  static constexpr const char* name = "mul";
  static constexpr int saves = 0;
  template <class T> static T f(T x, T s, T) { return x * s; }
  template <class T> static T df(T g, T, T, T s, T) { return g * s; }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor&, double s, double) { return g * s; }
};
struct DivScalarOp {  // d(x/s) = dx/s
  static constexpr const char* name = "div";
  static constexpr int saves = 0;
  template <class T> static T f(T x, T s, T) { return x / s; }
  template <class T> static T df(T g, T, T, T s, T) { return g / s; }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor&, double s, double) { return g / s; }
};
struct RsubScalarOp {  // d(s - x) = -dx
  static constexpr const char* name = "sub";
  static constexpr int saves = 0;
  template <class T> static T f(T x, T s, T) { return s - x; }
  template <class T> static T df(T g, T, T, T, T) { return -g; }
  static Tensor grad(const Tensor& g, const Tensor&, const Tensor&, double, double) { return neg(g); }
};
struct RdivScalarOp {  // d(s/x) = -(s/x)/x dx
  static constexpr const char* name = "div";
  static constexpr int saves = kX | kY;
  template <class T> static T f(T x, T s, T) { return s / x; }
  static Tensor grad(const Tensor& g, const Tensor& x, const Tensor& y, double, double) {
    return -(g * y / x);
  }
};

}  // namespace

Tensor neg(const Tensor& x) { return unary<NegOp>(x); }
Tensor exp(const Tensor& x) { return unary<ExpOp>(x); }
Tensor log(const Tensor& x) { return unary<LogOp>(x); }
Tensor sqrt(const Tensor& x) { return unary<SqrtOp>(x); }
Tensor abs(const Tensor& x) { return unary<AbsOp>(x); }
Tensor sin(const Tensor& x) { return unary<SinOp>(x); }
Tensor cos(const Tensor& x) { return unary<CosOp>(x); }
Tensor tanh(const Tensor& x) { return unary<TanhOp>(x); }
Tensor sigmoid(const Tensor& x) { return unary<SigmoidOp>(x); }
Tensor relu(const Tensor& x) { return unary<ReluOp>(x); }
Tensor leaky_relu(const Tensor& x, double slope) { return unary<LeakyReluOp>(x, slope); }
Tensor elu(const Tensor& x, double alpha) { return unary<EluOp>(x, alpha); }
Tensor softplus(const Tensor& x, double beta) {
  if (!(beta > 0.0)) throw ValueError("softplus: beta must be > 0, got " + std::to_string(beta));
  return unary<SoftplusOp>(x, beta);
}
Tensor erf(const Tensor& x) { return unary<ErfOp>(x); }
Tensor gelu(const Tensor& x) { return unary<GeluOp>(x); }
Tensor square(const Tensor& x) { return unary<SquareOp>(x); }
Tensor pow(const Tensor& x, double p) { return unary<PowScalarOp>(x, p); }
Tensor pow(double a, const Tensor& x) { return unary<RpowOp>(x, a); }

// Composites: their gradients follow from the ops they are made of.
Tensor selu(const Tensor& x) {
  constexpr double kAlpha = 1.6732632423543772848170429916717;
  constexpr double kScale = 1.0507009873554804934193349852946;
  return elu(x, kAlpha) * kScale;
}
Tensor silu(const Tensor& x) { return x * sigmoid(x); }

Tensor clamp(const Tensor& x, double lo, double hi) {
  if (lo > hi) {
    std::ostringstream os;
    os << "clamp: expected lo <= hi, got lo = " << lo << " and hi = " << hi;
    throw ValueError(os.str());
  }
  return unary<ClampOp>(x, lo, hi);
}
Tensor clamp_min(const Tensor& x, double lo) { return unary<ClampOp>(x, lo, HUGE_VAL); }
Tensor clamp_max(const Tensor& x, double hi) { return unary<ClampOp>(x, -HUGE_VAL, hi); }

Tensor sign(const Tensor& x) {
  detail::check_floating("sign", x);
  Tensor y = detail::new_tensor(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), "sign", [&]<class T>() {
    detail::map_unary<T, T>(*x.impl(), y.impl()->data<T>(),
                            [](T v) -> T { return static_cast<T>((v > T(0)) - (v < T(0))); });
  });
  return y;
}

Tensor operator+(const Tensor& a, double s) { return unary<AddScalarOp>(a, s); }
Tensor operator+(double s, const Tensor& a) { return unary<AddScalarOp>(a, s); }
Tensor operator-(const Tensor& a, double s) { return unary<AddScalarOp>(a, -s); }
Tensor operator-(double s, const Tensor& a) { return unary<RsubScalarOp>(a, s); }
Tensor operator*(const Tensor& a, double s) { return unary<MulScalarOp>(a, s); }
Tensor operator*(double s, const Tensor& a) { return unary<MulScalarOp>(a, s); }
Tensor operator/(const Tensor& a, double s) { return unary<DivScalarOp>(a, s); }
Tensor operator/(double s, const Tensor& a) { return unary<RdivScalarOp>(a, s); }

Tensor Tensor::exp() const { return tg::exp(*this); }
Tensor Tensor::log() const { return tg::log(*this); }
Tensor Tensor::sqrt() const { return tg::sqrt(*this); }
Tensor Tensor::abs() const { return tg::abs(*this); }
Tensor Tensor::tanh() const { return tg::tanh(*this); }
Tensor Tensor::sigmoid() const { return tg::sigmoid(*this); }
Tensor Tensor::relu() const { return tg::relu(*this); }
Tensor Tensor::pow(double p) const { return tg::pow(*this, p); }

}  // namespace tg
