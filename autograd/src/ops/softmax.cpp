// The softmax family, each computed stably by subtracting the running maximum. softmax and log_softmax
// are primitives (one fused pass each way); logsumexp is composed from differentiable ops.
#include <cmath>
#include <limits>

#include "kernels.hpp"

namespace tg {

namespace {

// Calls f(x_row, out_row, len, x_step, out_step) for every 1-d row of x along dim.
template <class T, class F>
void for_each_row(const Tensor& x, const Tensor& out, std::size_t d, F f) {
  Shape rest;
  Shape sx;
  Shape so;
  for (std::size_t i = 0; i < x.shape().size(); ++i) {
    if (i == d) continue;
    rest.push_back(x.shape()[i]);
    sx.push_back(x.strides()[i]);
    so.push_back(out.strides()[i]);
  }
  const bool scalar = x.dim() == 0;
  const std::int64_t len = scalar ? 1 : x.shape()[d];
  const std::int64_t xstep = scalar ? 0 : x.strides()[d];
  const std::int64_t ostep = scalar ? 0 : out.strides()[d];
  const T* px = x.impl()->data<T>();
  T* po = out.impl()->data<T>();
  detail::for_each_run<2>(rest, {&sx, &so}, [&](const auto& off, const auto& in, std::int64_t m) {
    for (std::int64_t j = 0; j < m; ++j) f(px + off[0] + j * in[0], po + off[1] + j * in[1], len, xstep, ostep);
  });
}

template <class T>
T row_max(const T* x, std::int64_t n, std::int64_t s) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t i = 0; i < n; ++i) m = x[i * s] > m ? x[i * s] : m;
  // An all -inf row would give (-inf) - (-inf) = NaN; shifting by 0 keeps exp(-inf) = 0 instead.
  return std::isinf(m) ? T(0) : m;
}

// d softmax: gx = y (g - Σ g y)
class SoftmaxNode final : public TensorNode {
 public:
  explicit SoftmaxNode(std::int64_t dim) : dim_(dim) {}
  const char* name() const override { return "softmax"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& y = saved(0);
    push(0, y * (g - sum(g * y, {dim_}, true)));
  }

 private:
  std::int64_t dim_;
};

// d log_softmax: gx = g - e^y Σ g
class LogSoftmaxNode final : public TensorNode {
 public:
  explicit LogSoftmaxNode(std::int64_t dim) : dim_(dim) {}
  const char* name() const override { return "log_softmax"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& y = saved(0);
    push(0, g - exp(y) * sum(g, {dim_}, true));
  }

 private:
  std::int64_t dim_;
};

template <class N>
Tensor softmax_impl(const char* op, const Tensor& x, std::int64_t dim, bool log_form) {
  detail::check_floating(op, x);
  const std::int64_t d = detail::wrap_dim(op, dim, x.dim());
  Tensor out = detail::new_tensor(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), op, [&]<class T>() {
    for_each_row<T>(x, out, static_cast<std::size_t>(d),
                    [&](const T* xr, T* yr, std::int64_t n, std::int64_t sx, std::int64_t sy) {
                      const T m = row_max(xr, n, sx);
                      T total = 0;
                      for (std::int64_t i = 0; i < n; ++i) {
                        const T e = std::exp(xr[i * sx] - m);
                        if (!log_form) yr[i * sy] = e;
                        total += e;
                      }
                      if (log_form) {
                        const T lse = m + std::log(total);
                        for (std::int64_t i = 0; i < n; ++i) yr[i * sy] = xr[i * sx] - lse;
                      } else {
                        const T inv = T(1) / total;
                        for (std::int64_t i = 0; i < n; ++i) yr[i * sy] *= inv;
                      }
                    });
  });
  if (!detail::any_requires_grad({&x})) return out;
  auto* n = detail::make_node<N>(x.dim() == 0 ? 0 : d);
  n->add_input(x);
  n->save(out);
  n->finish(out);
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_impl<SoftmaxNode>("softmax", x, dim, false); }

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  return softmax_impl<LogSoftmaxNode>("log_softmax", x, dim, true);
}

// m + ln Σ e^(x - m) with m = max x held constant: the value is exact for any m, so its gradient is
// still softmax(x); m is replaced by 0 where it is infinite to avoid inf - inf.
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim) {
  detail::check_floating("logsumexp", x);
  if (x.numel() == 0) return log(sum(exp(x), dims, keepdim));
  Tensor m;
  {
    NoGradGuard no_grad;
    const Tensor mx = amax(x, dims, true);
    m = where(logical_not(eq(abs(mx), HUGE_VAL)), mx, 0.0);
  }
  Tensor out = log(sum(exp(x - m), dims, true)) + m;
  if (keepdim) return out;
  Shape shape;
  for (std::int64_t i = 0; i < x.dim(); ++i) {
    bool reduced = dims.empty();
    for (std::int64_t d : dims) reduced = reduced || detail::wrap_dim("logsumexp", d, x.dim()) == i;
    if (!reduced) shape.push_back(x.shape()[static_cast<std::size_t>(i)]);
  }
  return reshape(out, shape);
}

Tensor Tensor::softmax(std::int64_t dim) const { return tg::softmax(*this, dim); }
Tensor Tensor::log_softmax(std::int64_t dim) const { return tg::log_softmax(*this, dim); }

}  // namespace tg
