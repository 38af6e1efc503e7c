// Internal helpers shared by the tensor ops: dtype dispatch, axis and broadcast checks, strided loops.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <sstream>
#include <string>
#include <string_view>

#include "tapegrad/ops.hpp"
#include "tapegrad/tensor.hpp"
#include "tapegrad/tensor_node.hpp"

namespace tg::detail {

/// Calls f.template operator()<T>() with T the C++ type of a float dtype; DtypeError for others.
template <class F>
decltype(auto) dispatch_float(Dtype d, const char* op, F&& f) {
  switch (d) {
    case Dtype::Float32:
      return f.template operator()<float>();
    case Dtype::Float64:
      return f.template operator()<double>();
    default:
      throw DtypeError(std::string(op) + ": expected a float32 or float64 tensor, got " + dtype_name(d) +
                       "; convert it with .to(tg::kFloat32)");
  }
}

/// Same over every dtype.
template <class F>
decltype(auto) dispatch_all(Dtype d, F&& f) {
  switch (d) {
    case Dtype::Float32:
      return f.template operator()<float>();
    case Dtype::Float64:
      return f.template operator()<double>();
    case Dtype::Int64:
      return f.template operator()<std::int64_t>();
    default:
      return f.template operator()<bool>();
  }
}

/// static_cast, except that a float outside an integer type's range (UB in C++) saturates and NaN gives 0.
template <class D, class S>
D convert(S v) {
  if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool> && std::is_floating_point_v<S>) {
    if (v != v) return D(0);
    if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
    if (v <= static_cast<S>(std::numeric_limits<D>::min())) return std::numeric_limits<D>::min();
  }
  return static_cast<D>(v);
}

// The throwing halves of the checks below, out of line so that every op inlines only the tests.
[[noreturn]] void throw_undefined(const char* op);
[[noreturn]] void throw_dtype_mismatch(const char* op, const Tensor& a, const Tensor& b);
[[noreturn]] void throw_not_floating(const char* op, const Tensor& t);
/// Throws ValueError for an undefined tensor.
inline void check_defined(const char* op, const Tensor& t) {
  if (!t.defined()) [[unlikely]] throw_undefined(op);
}
/// Throws DtypeError unless both tensors have the same dtype.
inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, a);
  check_defined(op, b);
  if (a.dtype() != b.dtype()) [[unlikely]] throw_dtype_mismatch(op, a, b);
}
/// Throws DtypeError unless t is float32/float64.
inline void check_floating(const char* op, const Tensor& t) {
  check_defined(op, t);
  if (!is_floating(t.dtype())) [[unlikely]] throw_not_floating(op, t);
}
/// Throws DtypeError unless t is int64 (index tensors).
void check_index_dtype(const char* op, const Tensor& t);
/// Maps a possibly negative axis into [0, ndim); IndexError naming the op otherwise.
std::int64_t wrap_dim(const char* op, std::int64_t dim, std::int64_t ndim);
/// How an error message names an operand: "'A' [2, 3]" for a tensor labelled A, "[2, 3]" unlabelled, so
/// a user who labelled their tensors sees which one is at fault.
std::string operand_str(const Tensor& t);
/// "'A' " for a tensor labelled A, "" otherwise; goes in front of what a message says about the operand.
std::string label_prefix(const Tensor& t);
/// The numpy broadcast of two shapes; ShapeError naming both shapes (each after its label la / lb, when
/// given) otherwise.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b, std::string_view la = {},
                       std::string_view lb = {});
/// The numpy broadcast of two operands' shapes; ShapeError naming both operands (labels and shapes).
inline Shape broadcast_shapes(const char* op, const Tensor& a, const Tensor& b) {
  return broadcast_shapes(op, a.shape(), b.shape(), a.label(), b.label());
}
/// Strides of t viewed with shape `out` (which t broadcasts to): 0 on broadcast dimensions.
Shape broadcast_strides(const TensorImpl& t, const Shape& out);
/// Records nothing: a contiguous copy of t's elements (same dtype).
Tensor copy_contiguous(const Tensor& t);
/// A view of t with new shape/strides/offset (shares storage; no recording).
Tensor make_view(const Tensor& t, const Shape& shape, const Shape& strides, std::int64_t offset);
/// A fresh tensor with data uninitialised.
inline Tensor new_tensor(const Shape& shape, Dtype dtype) { return empty_impl(shape, dtype); }
/// Makes a node of type N in the active tape's arena.
template <class N, class... A>
N* make_node(A&&... args) {
  return Tape::active().arena().make<N>(std::forward<A>(args)...);
}

/// Visits every element of `shape` in row-major order, a run of the innermost dimension at a time:
/// f(offsets, inner_strides, n), where offsets[k] is operand k's element offset at the run's start.
/// Each strides[k] has one entry per dimension of `shape`.
template <std::size_t K, class F>
void for_each_run(const Shape& shape, const std::array<const Shape*, K>& strides, F&& f) {
  const std::size_t nd = shape.size();
  std::array<std::int64_t, K> off{};
  std::array<std::int64_t, K> inner{};
  if (nd == 0) {
    f(off, inner, std::int64_t{1});
    return;
  }
  for (std::int64_t s : shape) {
    if (s == 0) return;
  }
  for (std::size_t k = 0; k < K; ++k) inner[k] = (*strides[k])[nd - 1];
  const std::int64_t n = shape[nd - 1];
  Shape idx(nd, 0);
  while (true) {
    f(off, inner, n);
    std::int64_t d = static_cast<std::int64_t>(nd) - 2;
    for (; d >= 0; --d) {
      const auto u = static_cast<std::size_t>(d);
      ++idx[u];
      for (std::size_t k = 0; k < K; ++k) off[k] += (*strides[k])[u];
      if (idx[u] < shape[u]) break;
      for (std::size_t k = 0; k < K; ++k) off[k] -= (*strides[k])[u] * shape[u];
      idx[u] = 0;
    }
    if (d < 0) break;
  }
}

/// True when every element of t is the same memory location (numel 1, or a stride-0 broadcast view).
inline bool single_location(const TensorImpl& t) {
  if (t.numel == 1) return true;
  for (std::int64_t s : t.strides) {
    if (s != 0) return false;
  }
  return true;
}

/// out[i] = f(x[i]) over x's elements in row-major order; out is contiguous.
template <class TI, class TO, class F>
void map_unary(const TensorImpl& x, TO* out, F f) {
  const TI* px = x.data<TI>();
  const std::int64_t n = x.numel;
  if (x.contiguous) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(px[i]);
    return;
  }
  for_each_run<1>(x.shape, {&x.strides}, [&](const auto& off, const auto& inner, std::int64_t m) {
    const TI* p = px + off[0];
    const std::int64_t s = inner[0];
    for (std::int64_t j = 0; j < m; ++j) *out++ = f(p[j * s]);
  });
}

/// out = f(a, b) broadcast to out_shape; out is contiguous with numel n.
template <class TA, class TB, class TO, class F>
void map_binary(const TensorImpl& a, const TensorImpl& b, const Shape& out_shape, std::int64_t n, TO* out,
                F f) {
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  if (a.contiguous && b.contiguous && a.numel == n && b.numel == n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(pa[i], pb[i]);
    return;
  }
  if (a.contiguous && a.numel == n && single_location(b)) {
    const TB s = pb[0];
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(pa[i], s);
    return;
  }
  if (b.contiguous && b.numel == n && single_location(a)) {
    const TA s = pa[0];
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(s, pb[i]);
    return;
  }
  const Shape sa = broadcast_strides(a, out_shape);
  const Shape sb = broadcast_strides(b, out_shape);
  for_each_run<2>(out_shape, {&sa, &sb}, [&](const auto& off, const auto& inner, std::int64_t m) {
    const TA* qa = pa + off[0];
    const TB* qb = pb + off[1];
    const std::int64_t ia = inner[0];
    const std::int64_t ib = inner[1];
    for (std::int64_t j = 0; j < m; ++j) *out++ = f(qa[j * ia], qb[j * ib]);
  });
}

/// Copies src (broadcast to dst's shape, converted to dst's dtype) into the view dst; records nothing.
void copy_into(const Tensor& dst, const Tensor& src);

/// A new float tensor f(a, b) with a and b broadcast together (same float dtype); records nothing. Used by
/// fused backward kernels.
template <class F>
Tensor map2(const Tensor& a, const Tensor& b, F f) {
  Tensor out = same_shape(a.shape(), b.shape()) ? new_tensor(a.shape(), a.dtype())
                                                : new_tensor(broadcast_shapes("map2", a.shape(), b.shape()), a.dtype());
  const Shape& shape = out.shape();
  dispatch_float(a.dtype(), "map2", [&]<class T>() {
    map_binary<T, T, T>(*a.impl(), *b.impl(), shape, out.numel(), out.impl()->data<T>(),
                        [&](T x, T y) -> T { return f(x, y); });
  });
  return out;
}

/// True when nothing else can see g's memory: its handle and storage are unshared and it is a plain
/// contiguous block. Such a gradient may be adopted without a copy, accumulated into, or overwritten in
/// place by the backward that owns it.
inline bool exclusive(const Tensor& g) {
  const TensorImpl* t = g.impl();
  return t->refs.load(std::memory_order_relaxed) == 1 && t->storage.unique() && t->contiguous &&
         t->offset == 0;
}

/// A 0-d tensor of dtype d holding v (for scalar operands).
Tensor scalar_like(double v, Dtype d);

}  // namespace tg::detail
