// In-place ops for optimizers and data preparation. Each bumps the storage's version counter, so a
// recorded backward that saved the old values notices the change and refuses to run.
#include <cstring>

#include "kernels.hpp"

namespace tg {

namespace {

void check_inplace(const char* op, const Tensor& self, const Tensor* other) {
  detail::check_defined(op, self);
  if (grad_enabled() && self.requires_grad()) {
    if (self.is_leaf()) {
      throw ValueError(std::string(op) + ": a leaf tensor that requires grad" +
                       (self.label().empty() ? "" : " ('" + self.label() + "')") +
                       " cannot be changed in place while recording; wrap the update in tg::NoGradGuard");
    }
    throw ValueError(std::string(op) + ": in-place changes to a tensor computed by recorded ops are not "
                     "supported; use the out-of-place op");
  }
  if (other != nullptr && grad_enabled() && other->requires_grad()) {
    throw ValueError(std::string(op) + ": the operand requires grad but in-place ops are not recorded; wrap the "
                     "update in tg::NoGradGuard or use the out-of-place op");
  }
  // An empty tensor has no memory to share, whatever its strides (contiguous strides of [3, 0] are [0, 1]).
  for (std::size_t i = 0; i < self.shape().size() && self.numel() > 0; ++i) {
    if (self.strides()[i] == 0 && self.shape()[i] > 1) {
      throw ValueError(std::string(op) + ": the tensor is an expanded view (several elements share memory); "
                       "clone() it first");
    }
  }
}

// self[i] = f(self[i], other[i]) with other broadcast to self's shape.
template <class F>
Tensor& update(const char* op, Tensor& self, const Tensor& other, F f) {
  check_inplace(op, self, &other);
  detail::check_same_dtype(op, self, other);
  if (self.is_contiguous() && other.is_contiguous() && detail::same_shape(self.shape(), other.shape())) {
    detail::dispatch_float(self.dtype(), op, [&]<class T>() {
      T* p = self.impl()->data<T>();
      const T* q = other.impl()->data<T>();
      const std::int64_t n = self.numel();
      for (std::int64_t i = 0; i < n; ++i) p[i] = f(p[i], q[i]);
    });
    ++self.impl()->storage->version;
    return self;
  }
  const Shape b = detail::broadcast_shapes(op, self, other);
  if (b != self.shape()) {
    const std::string target = self.label().empty() ? "the tensor's shape "
                                                    : "the tensor " + detail::label_prefix(self) + "of shape ";
    throw ShapeError(std::string(op) + ": operand " + detail::label_prefix(other) + "of shape " +
                     shape_str(other.shape()) + " cannot be broadcast to " + target + shape_str(self.shape()));
  }
  const Shape so = detail::broadcast_strides(*other.impl(), self.shape());
  detail::dispatch_float(self.dtype(), op, [&]<class T>() {
    T* p = self.impl()->data<T>();
    const T* q = other.impl()->data<T>();
    if (self.is_contiguous() && other.is_contiguous() && other.numel() == self.numel()) {
      const std::int64_t n = self.numel();
      for (std::int64_t i = 0; i < n; ++i) p[i] = f(p[i], q[i]);
      return;
    }
    detail::for_each_run<2>(self.shape(), {&self.strides(), &so}, [&](const auto& off, const auto& in, std::int64_t m) {
      for (std::int64_t j = 0; j < m; ++j) p[off[0] + j * in[0]] = f(p[off[0] + j * in[0]], q[off[1] + j * in[1]]);
    });
  });
  ++self.impl()->storage->version;
  return self;
}

template <class F>
Tensor& update_scalar(const char* op, Tensor& self, F f) {
  check_inplace(op, self, nullptr);
  detail::dispatch_all(self.dtype(), [&]<class T>() {
    T* p = self.impl()->data<T>();
    if (self.is_contiguous()) {
      const std::int64_t n = self.numel();
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(p[i]));
      return;
    }
    detail::for_each_run<1>(self.shape(), {&self.strides()}, [&](const auto& off, const auto& in, std::int64_t m) {
      for (std::int64_t j = 0; j < m; ++j) p[off[0] + j * in[0]] = static_cast<T>(f(p[off[0] + j * in[0]]));
    });
  });
  ++self.impl()->storage->version;
  return self;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  if (alpha == 1.0) return update("add_", *this, other, [](auto a, auto b) { return a + b; });
  return update("add_", *this, other, [alpha](auto a, auto b) { return a + static_cast<decltype(a)>(alpha) * b; });
}
Tensor& Tensor::sub_(const Tensor& other, double alpha) {
  return update("sub_", *this, other, [alpha](auto a, auto b) { return a - static_cast<decltype(a)>(alpha) * b; });
}
Tensor& Tensor::mul_(const Tensor& other) {
  return update("mul_", *this, other, [](auto a, auto b) { return a * b; });
}
Tensor& Tensor::div_(const Tensor& other) {
  return update("div_", *this, other, [](auto a, auto b) { return a / b; });
}
Tensor& Tensor::add_(double s) {
  detail::check_floating("add_", *this);
  return update_scalar("add_", *this, [s](auto a) { return a + s; });
}
Tensor& Tensor::sub_(double s) {
  detail::check_floating("sub_", *this);
  return update_scalar("sub_", *this, [s](auto a) { return a - s; });
}
Tensor& Tensor::mul_(double s) {
  detail::check_floating("mul_", *this);
  return update_scalar("mul_", *this, [s](auto a) { return a * s; });
}
Tensor& Tensor::div_(double s) {
  detail::check_floating("div_", *this);
  return update_scalar("div_", *this, [s](auto a) { return a / s; });
}
Tensor& Tensor::zero_() { return fill_(0.0); }
Tensor& Tensor::fill_(double v) {
  return update_scalar("fill_", *this, [v](auto) { return v; });
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_", *this, &src);
  detail::check_defined("copy_", src);
  const Shape b = detail::broadcast_shapes("copy_", *this, src);
  if (b != shape()) {
    throw ShapeError("copy_: source " + detail::label_prefix(src) + "of shape " + shape_str(src.shape()) +
                     " cannot be broadcast to " + detail::operand_str(*this));
  }
  // A source that overlaps this tensor's memory is copied first, so the result is as if read at once.
  const Tensor s = src.impl()->storage.get() == impl()->storage.get() ? detail::copy_contiguous(src) : src;
  detail::copy_into(*this, s);
  ++impl()->storage->version;
  return *this;
}

}  // namespace tg
