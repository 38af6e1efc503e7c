// Jacobians, Hessians and derivative-vector products of tensor functions, all from tg::grad: a
// create_graph sweep records the backward, and a second sweep differentiates that recording.
#include "tapegrad/functional.hpp"

#include <string>

#include "ops/kernels.hpp"

namespace tg {

namespace {

void check_one_element(const char* op, const Tensor& y) {
  if (y.numel() != 1) {
    throw ShapeError(std::string(op) + ": f must return a one-element tensor, got shape " +
                     shape_str(y.shape()));
  }
}

void check_like(const char* op, const char* what, const Tensor& v, const Tensor& like) {
  detail::check_defined(op, v);
  if (v.shape() != like.shape()) {
    throw ShapeError(std::string(op) + ": v must have " + what + " shape " + shape_str(like.shape()) +
                     ", got " + detail::operand_str(v));
  }
  if (v.dtype() != like.dtype()) {
    throw DtypeError(std::string(op) + ": v must have " + what + " dtype " + dtype_name(like.dtype()) +
                     ", got " + dtype_name(v.dtype()));
  }
}

// The helpers record f even when called under NoGradGuard: without a recording there is nothing to
// differentiate, and zeros would be a wrong answer.
struct EnableGrad {
  bool prev = detail::tl_grad_enabled;
  EnableGrad() { detail::tl_grad_enabled = true; }
  EnableGrad(const EnableGrad&) = delete;
  EnableGrad& operator=(const EnableGrad&) = delete;
  ~EnableGrad() { detail::tl_grad_enabled = prev; }
};

// The point to differentiate at. When the results must stay differentiable, x itself (so they depend on
// whatever x depends on); otherwise a fresh leaf sharing x's data, so no gradient leaks into x.grad().
Tensor input_point(const char* op, const Tensor& x, const FunctionalOptions& opts) {
  detail::check_defined(op, x);
  detail::check_floating(op, x);
  if (opts.create_graph && x.requires_grad()) return x;
  Tensor p = x.detach();
  p.requires_grad_(true);
  return p;
}

Tensor finish(const Tensor& t, const FunctionalOptions& opts) { return opts.create_graph ? t : t.detach(); }

Shape concat(const Shape& a, const Shape& b) {
  Shape s = a;
  s.insert(s.end(), b.begin(), b.end());
  return s;
}

// Rows d y_i / d x for every element i of y, seeded one basis vector at a time.
Tensor jacobian_of(const Tensor& y, const Tensor& x, bool create_graph) {
  const auto m = static_cast<std::size_t>(y.numel());
  std::vector<Tensor> rows;
  rows.reserve(m);
  std::vector<double> e(m, 0.0);
  const BackwardOptions bo{.retain_graph = true, .create_graph = create_graph};
  for (std::size_t i = 0; i < m; ++i) {
    e[i] = 1.0;
    const Tensor seed = tensor(std::span<const double>(e), y.shape(), {.dtype = y.dtype()});
    e[i] = 0.0;
    rows.push_back(reshape(grad({y}, {x}, {seed}, bo)[0], {x.numel()}));
  }
  if (m == 0) return zeros(concat(y.shape(), x.shape()), {.dtype = x.dtype()});
  return reshape(stack(rows, 0), concat(y.shape(), x.shape()));
}

}  // namespace

Tensor jacobian(const TensorFunction& f, const Tensor& x, FunctionalOptions opts) {
  const EnableGrad enable;
  const Tensor p = input_point("jacobian", x, opts);
  const Tensor y = f(p);
  detail::check_defined("jacobian", y);
  return finish(jacobian_of(y, p, opts.create_graph), opts);
}

Tensor hessian(const TensorFunction& f, const Tensor& x, FunctionalOptions opts) {
  const EnableGrad enable;
  const Tensor p = input_point("hessian", x, opts);
  const Tensor y = f(p);
  detail::check_defined("hessian", y);
  check_one_element("hessian", y);
  const Tensor g = grad({y}, {p}, {}, {.retain_graph = true, .create_graph = true})[0];
  return finish(jacobian_of(g, p, opts.create_graph), opts);
}

ValueAndProduct vjp(const TensorFunction& f, const Tensor& x, const Tensor& v, FunctionalOptions opts) {
  const EnableGrad enable;
  const Tensor p = input_point("vjp", x, opts);
  const Tensor y = f(p);
  detail::check_defined("vjp", y);
  check_like("vjp", "f(x)'s", v, y);
  const Tensor prod = grad({y}, {p}, {v}, {.retain_graph = true, .create_graph = opts.create_graph})[0];
  return {finish(y, opts), finish(prod, opts)};
}

ValueAndProduct jvp(const TensorFunction& f, const Tensor& x, const Tensor& v, FunctionalOptions opts) {
  const EnableGrad enable;
  const Tensor p = input_point("jvp", x, opts);
  check_like("jvp", "x's", v, p);
  const Tensor y = f(p);
  detail::check_defined("jvp", y);
  // g(u) = Jᵀu is linear in the dummy u, so its vector-Jacobian product with v is (Jᵀ)ᵀ v = J v,
  // whatever u is; zeros keep the recorded formula cheap.
  Tensor u = zeros_like(y);
  u.requires_grad_(true);
  const Tensor g = grad({y}, {p}, {u}, {.retain_graph = true, .create_graph = true})[0];
  const Tensor prod = grad({g}, {u}, {v}, {.retain_graph = true, .create_graph = opts.create_graph})[0];
  return {finish(y, opts), finish(prod, opts)};
}

ValueAndProduct hvp(const TensorFunction& f, const Tensor& x, const Tensor& v, FunctionalOptions opts) {
  const EnableGrad enable;
  const Tensor p = input_point("hvp", x, opts);
  check_like("hvp", "x's", v, p);
  const Tensor y = f(p);
  detail::check_defined("hvp", y);
  check_one_element("hvp", y);
  const Tensor g = grad({y}, {p}, {}, {.retain_graph = true, .create_graph = true})[0];
  const Tensor prod = grad({g}, {p}, {v}, {.retain_graph = true, .create_graph = opts.create_graph})[0];
  return {finish(y, opts), finish(prod, opts)};
}

}  // namespace tg
