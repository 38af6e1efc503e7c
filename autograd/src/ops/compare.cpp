// Comparisons and logic (bool masks, never differentiated) and where(cond, a, b), which is.
#include <cmath>

#include "kernels.hpp"

namespace tg {

namespace {

template <class F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  detail::check_same_dtype(op, a, b);
  const Shape shape = detail::broadcast_shapes(op, a, b);
  Tensor out = detail::new_tensor(shape, kBool);
  detail::dispatch_all(a.dtype(), [&]<class T>() {
    detail::map_binary<T, T, bool>(*a.impl(), *b.impl(), shape, out.numel(), out.impl()->data<bool>(),
                                   [&](T x, T y) -> bool { return f(x, y); });
  });
  return out;
}

template <class F>
Tensor compare_scalar(const char* op, const Tensor& a, double s, F f) {
  detail::check_defined(op, a);
  Tensor out = detail::new_tensor(a.shape(), kBool);
  detail::dispatch_all(a.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      detail::map_unary<T, bool>(*a.impl(), out.impl()->data<bool>(),
                                 [&](T x) -> bool { return f(x ? 1.0 : 0.0, s); });
    } else {
      detail::map_unary<T, bool>(*a.impl(), out.impl()->data<bool>(),
                                 [&](T x) -> bool { return f(static_cast<double>(x), s); });
    }
  });
  return out;
}

void check_bool(const char* op, const Tensor& t) {
  detail::check_defined(op, t);
  if (t.dtype() != kBool) {
    throw DtypeError(std::string(op) + ": expected a bool tensor (a comparison's result), got " +
                     dtype_name(t.dtype()));
  }
}

// d where(c, a, b) = where(c, g, 0) da + where(c, 0, g) db
class WhereNode final : public TensorNode {
 public:
  const char* name() const override { return "where"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& c = saved(0);
    if (needs(0)) push(0, where(c, g, 0.0));
    if (needs(1)) push(1, where(c, 0.0, g));
  }
};

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", a, b, [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", a, b, [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", a, b, [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", a, b, [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", a, b, [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", a, b, [](auto x, auto y) { return x >= y; }); }
Tensor eq(const Tensor& a, double s) { return compare_scalar("eq", a, s, [](double x, double y) { return x == y; }); }
Tensor ne(const Tensor& a, double s) { return compare_scalar("ne", a, s, [](double x, double y) { return x != y; }); }
Tensor lt(const Tensor& a, double s) { return compare_scalar("lt", a, s, [](double x, double y) { return x < y; }); }
Tensor le(const Tensor& a, double s) { return compare_scalar("le", a, s, [](double x, double y) { return x <= y; }); }
Tensor gt(const Tensor& a, double s) { return compare_scalar("gt", a, s, [](double x, double y) { return x > y; }); }
Tensor ge(const Tensor& a, double s) { return compare_scalar("ge", a, s, [](double x, double y) { return x >= y; }); }

Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, double s) { return eq(a, s); }
Tensor operator!=(const Tensor& a, double s) { return ne(a, s); }
Tensor operator<(const Tensor& a, double s) { return lt(a, s); }
Tensor operator<=(const Tensor& a, double s) { return le(a, s); }
Tensor operator>(const Tensor& a, double s) { return gt(a, s); }
Tensor operator>=(const Tensor& a, double s) { return ge(a, s); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  check_bool("logical_and", a);
  check_bool("logical_and", b);
  return compare("logical_and", a, b, [](auto x, auto y) { return x && y; });
}

Tensor logical_or(const Tensor& a, const Tensor& b) {
  check_bool("logical_or", a);
  check_bool("logical_or", b);
  return compare("logical_or", a, b, [](auto x, auto y) { return x || y; });
}

Tensor logical_not(const Tensor& a) {
  check_bool("logical_not", a);
  Tensor out = detail::new_tensor(a.shape(), kBool);
  detail::map_unary<bool, bool>(*a.impl(), out.impl()->data<bool>(), [](bool x) { return !x; });
  return out;
}

bool equal(const Tensor& a, const Tensor& b) {
  detail::check_defined("equal", a);
  detail::check_defined("equal", b);
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return a.to_vector<double>() == b.to_vector<double>();
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  detail::check_defined("allclose", a);
  detail::check_defined("allclose", b);
  if (a.shape() != b.shape()) {
    throw ShapeError("allclose: shapes " + detail::operand_str(a) + " and " + detail::operand_str(b) + " differ");
  }
  const std::vector<double> x = a.to_vector<double>();
  const std::vector<double> y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  }
  return true;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_bool("where", cond);
  detail::check_same_dtype("where", a, b);
  const Shape ab = detail::broadcast_shapes("where", a, b);
  const Shape shape = detail::broadcast_shapes("where", cond.shape(), ab, cond.label());
  Tensor out = detail::new_tensor(shape, a.dtype());
  const Shape sc = detail::broadcast_strides(*cond.impl(), shape);
  const Shape sa = detail::broadcast_strides(*a.impl(), shape);
  const Shape sb = detail::broadcast_strides(*b.impl(), shape);
  detail::dispatch_all(a.dtype(), [&]<class T>() {
    const bool* pc = cond.impl()->data<bool>();
    const T* pa = a.impl()->data<T>();
    const T* pb = b.impl()->data<T>();
    T* o = out.impl()->data<T>();
    detail::for_each_run<3>(shape, {&sc, &sa, &sb}, [&](const auto& off, const auto& in, std::int64_t n) {
      for (std::int64_t j = 0; j < n; ++j) {
        *o++ = pc[off[0] + j * in[0]] ? pa[off[1] + j * in[1]] : pb[off[2] + j * in[2]];
      }
    });
  });
  if (!detail::any_requires_grad({&a, &b})) return out;
  auto* n = detail::make_node<WhereNode>();
  n->add_input(a);
  n->add_input(b);
  n->save(cond);
  n->finish(out);
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, double b) {
  detail::check_defined("where", a);
  return where(cond, a, detail::scalar_like(b, a.dtype()));
}

Tensor where(const Tensor& cond, double a, const Tensor& b) {
  detail::check_defined("where", b);
  return where(cond, detail::scalar_like(a, b.dtype()), b);
}

}  // namespace tg
