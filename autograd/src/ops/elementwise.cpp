// Binary elementwise ops with numpy broadcasting: forward kernels and backward formulas side by side.
// Input gradients are summed back to each input's shape by TensorNode::push (unbroadcast).
#include <cmath>

#include "kernels.hpp"

namespace tg {

using detail::dispatch_float;
using detail::make_node;

namespace {

template <class F>
Tensor binary_forward(const char* op, const Tensor& a, const Tensor& b, F f) {
  detail::check_same_dtype(op, a, b);
  detail::check_floating(op, a);
  // Equal shapes (the usual case) skip the broadcast and its copy of the shape.
  Tensor out = detail::same_shape(a.shape(), b.shape())
                   ? detail::new_tensor(a.shape(), a.dtype())
                   : detail::new_tensor(detail::broadcast_shapes(op, a, b), a.dtype());
  const Shape& shape = out.shape();
  dispatch_float(a.dtype(), op, [&]<class T>() {
    detail::map_binary<T, T, T>(*a.impl(), *b.impl(), shape, out.numel(), out.impl()->data<T>(),
                                [&](T x, T y) -> T { return f(x, y); });
  });
  return out;
}

template <class N>
Tensor record_binary(Tensor out, const Tensor& a, const Tensor& b, bool save_inputs, bool save_out) {
  if (!detail::any_requires_grad({&a, &b})) return out;
  N* n = make_node<N>();
  n->add_input(a);
  n->add_input(b);
  if (save_inputs) {
    n->save(a);
    n->save(b);
  }
  if (save_out) n->save(out);
  n->finish(out);
  return out;
}

// d(a + b) = da + db
class AddNode final : public TensorNode {
 public:
  const char* name() const override { return "add"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    push(0, g);
    push(1, g);
  }
};

// d(a - b) = da - db
class SubNode final : public TensorNode {
 public:
  const char* name() const override { return "sub"; }

 protected:
  void apply_owned(BackwardContext& ctx, Tensor g) override {
    // Only b wants a gradient (a - b with a constant a): negate g in place when nothing else sees it.
    if (!creating() && !needs(0) && needs(1) && g.defined() && detail::exclusive(g)) {
      dispatch_float(g.dtype(), "sub", [&]<class T>() {
        T* p = g.impl()->data<T>();
        const std::int64_t n = g.numel();
        for (std::int64_t i = 0; i < n; ++i) p[i] = -p[i];
      });
      ++g.impl()->storage->version;
      push(1, std::move(g));
      return;
    }
    apply(ctx, g);
  }
  void apply(BackwardContext&, const Tensor& g) override {
    push(0, g);
    if (needs(1)) push(1, neg(g));
  }
};

// d(ab) = b da + a db
class MulNode final : public TensorNode {
 public:
  const char* name() const override { return "mul"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& a = saved(0);
    const Tensor& b = saved(1);
    if (!creating() && a.impl() == b.impl() && detail::same_shape(a.shape(), g.shape())) {
      // x * x: both contributions 2 g x in one pass.
      push(0, detail::map2(g, a, [](auto gv, auto xv) { return 2 * gv * xv; }));
      return;
    }
    if (needs(0)) push(0, mul(g, b));
    if (needs(1)) push(1, mul(g, a));
  }
};

// d(a/b) = da/b - (a/b) db/b ; saved: a, b, out
class DivNode final : public TensorNode {
 public:
  const char* name() const override { return "div"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& b = saved(1);
    if (needs(0)) push(0, div(g, b));
    if (needs(1)) push(1, neg(div(mul(g, saved(2)), b)));
  }
};

// d(a^b) = b a^(b-1) da + a^b ln a db, with the db term 0 where a = 0 (as PyTorch)
class PowNode final : public TensorNode {
 public:
  const char* name() const override { return "pow"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& a = saved(0);
    const Tensor& b = saved(1);
    if (needs(0)) push(0, mul(g, mul(b, pow(a, sub(b, ones_like(b))))));
    if (needs(1)) push(1, where(eq(a, 0.0), 0.0, mul(g, mul(saved(2), log(a)))));
  }
};

// Gradient to the larger input; split 0.5/0.5 on a tie (as the scalar max and PyTorch).
class MaximumNode final : public TensorNode {
 public:
  explicit MaximumNode(bool is_max) : is_max_(is_max) {}
  const char* name() const override { return is_max_ ? "maximum" : "minimum"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& a = saved(0);
    const Tensor& b = saved(1);
    const Tensor tie = eq(a, b);
    const Tensor half = g * 0.5;
    const Tensor a_wins = is_max_ ? gt(a, b) : lt(a, b);
    if (needs(0)) push(0, where(a_wins, g, where(tie, half, 0.0)));
    if (needs(1)) push(1, where(logical_or(a_wins, tie), where(tie, half, 0.0), g));
  }

 private:
  bool is_max_;
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("add", a, b, [](auto x, auto y) { return x + y; });
  return record_binary<AddNode>(std::move(out), a, b, false, false);
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("sub", a, b, [](auto x, auto y) { return x - y; });
  return record_binary<SubNode>(std::move(out), a, b, false, false);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("mul", a, b, [](auto x, auto y) { return x * y; });
  return record_binary<MulNode>(std::move(out), a, b, true, false);
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("div", a, b, [](auto x, auto y) { return x / y; });
  return record_binary<DivNode>(std::move(out), a, b, true, true);
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("pow", a, b, [](auto x, auto y) { return std::pow(x, y); });
  return record_binary<PowNode>(std::move(out), a, b, true, true);
}

namespace {

// maximum and minimum share one node; both operands are saved to find the winner in backward.
Tensor record_extremum(Tensor out, const Tensor& a, const Tensor& b, bool is_max) {
  if (!detail::any_requires_grad({&a, &b})) return out;
  auto* n = make_node<MaximumNode>(is_max);
  n->add_input(a);
  n->add_input(b);
  n->save(a);
  n->save(b);
  n->finish(out);
  return out;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  // A NaN in either operand wins (y != y tests for NaN), as PyTorch's maximum propagates it.
  Tensor out = binary_forward("maximum", a, b, [](auto x, auto y) { return (x < y || y != y) ? y : x; });
  return record_extremum(std::move(out), a, b, true);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("minimum", a, b, [](auto x, auto y) { return (y < x || y != y) ? y : x; });
  return record_extremum(std::move(out), a, b, false);
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace tg
