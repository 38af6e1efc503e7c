// tg::Tensor: an n-d array (float32, float64, int64 or bool) whose differentiable ops are recorded on the
// same tape as the scalar tg::Var, with a LibTorch-like API.
#pragma once

#include <atomic>
// GCC 12 reports a false -Wstringop-overread inside small_vector's move constructor once inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
#include <boost/container/small_vector.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <limits>
#include <type_traits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/error.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tape.hpp"
#include "tapegrad/var.hpp"

namespace tg {

/// Element type of a tensor, chosen at run time as in LibTorch.
enum class Dtype : std::uint8_t { Float32, Float64, Int64, Bool };
inline constexpr Dtype kFloat32 = Dtype::Float32;
inline constexpr Dtype kFloat = Dtype::Float32;
inline constexpr Dtype kFloat64 = Dtype::Float64;
inline constexpr Dtype kDouble = Dtype::Float64;
inline constexpr Dtype kInt64 = Dtype::Int64;
inline constexpr Dtype kLong = Dtype::Int64;
inline constexpr Dtype kBool = Dtype::Bool;

/// "float32", "float64", "int64" or "bool".
const char* dtype_name(Dtype d);
/// Bytes per element.
inline std::size_t dtype_size(Dtype d) { return d == Dtype::Float32 ? 4 : (d == Dtype::Bool ? 1 : 8); }
/// True for float32 and float64 (the dtypes gradients flow through).
inline bool is_floating(Dtype d) { return d == Dtype::Float32 || d == Dtype::Float64; }

/// The dtype that stores C++ type T (float, double, int64_t, bool).
template <class T>
constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return kFloat32;
  else if constexpr (std::is_same_v<T, double>) return kFloat64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return kInt64;
  else {
    static_assert(std::is_same_v<T, bool>, "tensor element types are float, double, int64_t and bool");
    return kBool;
  }
}

/// A list of sizes (or of axes); stays on the stack up to 4 entries.
using Shape = boost::container::small_vector<std::int64_t, 4>;

/// Formats a shape as "[2, 3]" for error messages.
inline std::string shape_str(const Shape& shape) {
  return shape_str(std::span<const std::int64_t>(shape.data(), shape.size()));
}

/// Options of a new tensor: `tg::zeros({2, 3}, {.dtype = tg::kFloat64, .requires_grad = true})`.
struct TensorOptions {
  Dtype dtype = kFloat32;
  bool requires_grad = false;
};

class Tensor;
class TensorNode;

namespace detail {

/// Reference-counted bytes of a tensor (and its views), with the version counter that in-place ops bump.
/// Allocated by a per-thread caching allocator: a steady-state loop reuses freed blocks.
struct Storage {
  std::atomic<std::int32_t> refs{1};
  std::uint32_t bucket = 0;
  std::uint64_t version = 0;
  std::size_t nbytes = 0;
  void* data = nullptr;
  Storage* next_free = nullptr;  // link in the allocator's cache while unused
};
/// A storage of nbytes bytes (uninitialised), refcount 1.
Storage* storage_new(std::size_t nbytes);
/// Returns a storage whose refcount reached 0 to the cache.
void storage_free(Storage* s) noexcept;

struct TensorImpl;
/// Destroys an impl whose refcount reached 0 (out of line, so that decref stays small enough to inline).
void impl_free(TensorImpl* t) noexcept;

inline void incref(Storage* s) { s->refs.fetch_add(1, std::memory_order_relaxed); }
/// Drops a reference. The last owner (the common case: a temporary) frees without an atomic
/// read-modify-write: while the count is 1 and the caller holds that reference, no other thread holds one
/// to copy, and the acquire load orders this free after every other owner's release.
inline void decref(Storage* s) {
  if (s->refs.load(std::memory_order_acquire) == 1 || s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    storage_free(s);
  }
}

/// An intrusive reference-counting pointer (T has `refs`; incref/decref are found by lookup).
template <class T>
class Ref {
 public:
  Ref() = default;
  /// Adopts p, whose refcount already counts this reference.
  explicit Ref(T* p) : p_(p) {}
  Ref(const Ref& o) : p_(o.p_) {
    if (p_) incref(p_);
  }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(const Ref& o) {
    Ref(o).swap(*this);
    return *this;
  }
  Ref& operator=(Ref&& o) noexcept {
    Ref(std::move(o)).swap(*this);
    return *this;
  }
  ~Ref() {
    if (p_) decref(p_);
  }
  /// Shares p (increments its refcount).
  static Ref share(T* p) {
    if (p) incref(p);
    return Ref(p);
  }
  void swap(Ref& o) noexcept { std::swap(p_, o.p_); }
  void reset() { Ref().swap(*this); }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  /// True when this is the only reference.
  bool unique() const { return p_ && p_->refs.load(std::memory_order_relaxed) == 1; }

 private:
  T* p_ = nullptr;
};

/// The data behind a Tensor handle: a view (shape, strides, offset) of a storage, plus autograd state.
struct TensorImpl {
  std::atomic<std::int32_t> refs{1};
  Dtype dtype = kFloat32;
  bool requires_grad = false;
  bool retains_grad = false;
  bool contiguous = true;
  std::int64_t offset = 0;  // in elements
  std::int64_t numel = 0;
  Shape shape;
  Shape strides;  // in elements
  Ref<Storage> storage;
  TensorNode* node = nullptr;  // the op that produced this tensor, valid while its tape has `stamp`
  std::uint64_t stamp = 0;
  Ref<TensorImpl> grad;        // .grad() of a leaf or of a tensor that called retain_grad()
  std::string label;

  /// Pointer to element 0 of this view.
  template <class T>
  T* data() const {
    return static_cast<T*>(storage->data) + offset;
  }
  /// Recomputes numel and the contiguity flag after shape/strides changed.
  void refresh();
  static void* operator new(std::size_t n);
  static void operator delete(void* p) noexcept;
};

inline void incref(TensorImpl* t) { t->refs.fetch_add(1, std::memory_order_relaxed); }
/// Drops a reference; the last owner skips the atomic read-modify-write, as decref(Storage*).
inline void decref(TensorImpl* t) {
  if (t->refs.load(std::memory_order_acquire) == 1 || t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    impl_free(t);
  }
}

/// dst = src, without the generic container machinery (shapes are copied on every op): for the usual
/// 1 to 4 sizes an element-wise push into the inline buffer beats assign()'s two memmove calls.
inline void copy_shape(Shape& dst, const Shape& src) {
  if (&dst == &src) return;  // clear() would empty the source too
  dst.clear();
  for (std::int64_t v : src) dst.push_back(v);
}
/// a == b as a plain loop: Shape's operator== calls memcmp, a library call for one to four sizes.
inline bool same_shape(const Shape& a, const Shape& b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const std::int64_t* pa = a.data();
  const std::int64_t* pb = b.data();
  for (std::size_t i = 0; i < n; ++i) {
    if (pa[i] != pb[i]) return false;
  }
  return true;
}
/// Row-major (C order) strides of a shape.
Shape contiguous_strides(const Shape& shape);
/// Product of the sizes.
std::int64_t shape_numel(const Shape& shape);
/// A fresh contiguous tensor with uninitialised data.
Tensor empty_impl(const Shape& shape, Dtype dtype);

}  // namespace detail

/// An n-d array. A Tensor is a cheap handle (one pointer): copies share data, as in LibTorch; use
/// clone() for a deep copy. Ops on tensors that require a gradient are recorded on the active tape, and
/// `backward()` fills `.grad()` of the leaf tensors they came from (accumulating until zero_grad()).
class Tensor {
 public:
  /// An undefined tensor (no data); most calls on it throw ValueError.
  Tensor() = default;
  /// Wraps an impl (used by ops).
  explicit Tensor(detail::Ref<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  /// True when this handle refers to data.
  bool defined() const { return static_cast<bool>(impl_); }
  /// The element type.
  Dtype dtype() const { return impl_->dtype; }
  /// The sizes of each dimension.
  const Shape& shape() const { return impl_->shape; }
  /// Same as shape(), as LibTorch's sizes().
  const Shape& sizes() const { return impl_->shape; }
  /// Size of dimension `dim` (negative counts from the end). Throws IndexError for a bad axis.
  std::int64_t size(std::int64_t dim) const;
  /// Number of dimensions.
  std::int64_t dim() const { return static_cast<std::int64_t>(impl_->shape.size()); }
  /// Number of elements.
  std::int64_t numel() const { return impl_->numel; }
  /// Strides in elements.
  const Shape& strides() const { return impl_->strides; }
  /// Stride of dimension `dim` in elements.
  std::int64_t stride(std::int64_t dim) const;
  /// Offset of element 0 in the storage, in elements.
  std::int64_t storage_offset() const { return impl_->offset; }
  /// True when the elements lie in row-major order without gaps.
  bool is_contiguous() const { return impl_->contiguous; }
  /// This tensor if contiguous, else a contiguous copy (differentiable).
  Tensor contiguous() const;

  // --- autograd --------------------------------------------------------------------------------------
  /// True when gradients flow to or through this tensor.
  bool requires_grad() const { return impl_->requires_grad; }
  /// Marks a leaf as a parameter that collects gradients. Throws ValueError on a non-leaf.
  Tensor& requires_grad_(bool on = true);
  /// True when no recorded op produced this tensor (parameters, inputs, detached tensors).
  bool is_leaf() const { return impl_->node == nullptr; }
  /// The accumulated gradient of a leaf (or of a tensor after retain_grad()); undefined before backward.
  Tensor grad() const;
  /// Sets the accumulated gradient to zero in place (keeps its memory), as `grad().zero_()`.
  void zero_grad() const;
  /// Asks a non-leaf tensor to keep its gradient in grad() during backward.
  Tensor& retain_grad();
  /// Backpropagates from a one-element tensor (seed 1). Throws ShapeError for more elements.
  void backward(BackwardOptions opts = {}) const;
  /// Backpropagates with the gradient `grad` of this tensor (same shape and dtype).
  void backward(const Tensor& grad, BackwardOptions opts = {}) const;
  /// The recorded op that produced this tensor, or nullptr for a leaf or a stale tensor.
  TensorNode* grad_fn() const;
  /// A tensor sharing the data but cut from the graph (requires_grad false).
  Tensor detach() const;
  /// The version counter of the storage: in-place ops increment it.
  std::uint64_t version() const { return impl_->storage->version; }

  // --- values ----------------------------------------------------------------------------------------
  /// The value of a one-element tensor, as double. Throws ShapeError for more elements.
  double item() const;
  /// The value of a one-element tensor converted to T.
  template <class T>
  T item() const {
    const double v = item();
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Out-of-range float-to-int conversion is UB in C++: saturate instead, NaN gives 0.
      if (v != v) return T(0);
      if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
      if (v <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    }
    return static_cast<T>(v);
  }
  /// The element at a full index (negative indices count from the end), as double.
  double at(std::initializer_list<std::int64_t> index) const;
  /// Writes one element (an in-place change: bumps the version).
  void set(std::initializer_list<std::int64_t> index, double value);
  /// Pointer to element 0; T must match the dtype (DtypeError otherwise). Mind the strides.
  template <class T>
  T* data_ptr() const;
  /// The elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;
  /// A copy converted to dtype d (this tensor itself when it already has dtype d). Differentiable
  /// between float dtypes.
  Tensor to(Dtype d) const;
  /// A deep, contiguous copy (differentiable).
  Tensor clone() const;
  /// Names this tensor in reports. Returns *this. The label appears in op errors next to the operand's
  /// shape or dtype ("matmul: inner dimensions must match, got 'A' [2, 3] and 'B' [4, 5]"), in anomaly-mode
  /// and in-place/version errors, in gradcheck's fault reports and in graph exports (to_dot). Not in
  /// explain(): it explains scalar Var graphs and sees a tensor op only as one opaque step, so its paths
  /// never pass through tensor nodes.
  Tensor& label(std::string name);
  /// The name given with label(), or "".
  const std::string& label() const { return impl_->label; }

  // --- scalar bridge ---------------------------------------------------------------------------------
  /// A Var on the same tape holding the value of this one-element tensor; gradients flow back from the
  /// Var into the tensor. A constant Var when nothing requires grad.
  Var to_var() const;
  /// A float tensor of the given shape whose elements are the Vars (gradients flow back to them).
  static Tensor from_vars(std::span<const Var> vars, const Shape& shape, Dtype dtype = kFloat64);

  // --- in-place (bump the version; refused on tensors that need a gradient while recording) ---------
  /// this += alpha * other (other broadcast to this shape).
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  /// this += s.
  Tensor& add_(double s);
  /// this -= alpha * other.
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  /// this -= s.
  Tensor& sub_(double s);
  /// this *= other (broadcast).
  Tensor& mul_(const Tensor& other);
  /// this *= s.
  Tensor& mul_(double s);
  /// this /= other (broadcast).
  Tensor& div_(const Tensor& other);
  /// this /= s.
  Tensor& div_(double s);
  /// Sets every element to 0.
  Tensor& zero_();
  /// Sets every element to v.
  Tensor& fill_(double v);
  /// Copies src (broadcast, converted to this dtype) into this tensor.
  Tensor& copy_(const Tensor& src);

  // --- common ops as members (the free functions in ops.hpp document the semantics) -------------------
  /// Sum of all elements (0-d).
  Tensor sum() const;
  /// Sum over one dim.
  Tensor sum(std::int64_t dim, bool keepdim = false) const;
  /// Sum over several dims.
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  /// Mean of all elements (0-d).
  Tensor mean() const;
  /// Mean over one dim.
  Tensor mean(std::int64_t dim, bool keepdim = false) const;
  /// Mean over several dims.
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  /// Largest element (0-d); the values only, as amax (use argmax for the index).
  Tensor max() const;
  /// Largest values along dim (as amax).
  Tensor max(std::int64_t dim, bool keepdim = false) const;
  /// Smallest element (0-d).
  Tensor min() const;
  /// Smallest values along dim (as amin).
  Tensor min(std::int64_t dim, bool keepdim = false) const;
  /// Flat index of the largest element (int64, 0-d).
  Tensor argmax() const;
  /// Indices of the largest values along dim (int64).
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;
  /// Flat index of the smallest element.
  Tensor argmin() const;
  /// Indices of the smallest values along dim.
  Tensor argmin(std::int64_t dim, bool keepdim = false) const;
  /// Same elements in a new shape (a view when possible); one size may be -1.
  Tensor reshape(const Shape& shape) const;
  /// Same elements in a new shape, never copying (ShapeError when impossible).
  Tensor view(const Shape& shape) const;
  /// Merges dims start_dim..end_dim.
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  /// Drops every size-1 dim.
  Tensor squeeze() const;
  /// Drops dim if its size is 1.
  Tensor squeeze(std::int64_t dim) const;
  /// Inserts a size-1 dim.
  Tensor unsqueeze(std::int64_t dim) const;
  /// Swaps two dims (a view).
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  /// Transpose of a 2-d tensor (a 0-d or 1-d tensor is returned as is).
  Tensor t() const;
  /// Reorders the dims (a view).
  Tensor permute(const Shape& dims) const;
  /// Broadcasts size-1 dims to the given sizes (a view).
  Tensor expand(const Shape& shape) const;
  /// length elements of dim from start (a view).
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// Elements start, start+step, ... below end of dim (a view, Python-style clamped bounds).
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  /// The sub-tensor at index i of dimension 0 (a view, as t[i] in LibTorch).
  Tensor operator[](std::int64_t i) const;
  /// The sub-tensor at index of dim, with dim removed (a view).
  Tensor select(std::int64_t dim, std::int64_t index) const;
  /// e^x
  Tensor exp() const;
  /// ln x
  Tensor log() const;
  /// √x
  Tensor sqrt() const;
  /// |x|
  Tensor abs() const;
  /// tanh x
  Tensor tanh() const;
  /// The logistic function.
  Tensor sigmoid() const;
  /// max(x, 0)
  Tensor relu() const;
  /// x^p
  Tensor pow(double p) const;
  /// Matrix product (see tg::matmul).
  Tensor matmul(const Tensor& other) const;
  /// Softmax along dim.
  Tensor softmax(std::int64_t dim) const;
  /// Log-softmax along dim.
  Tensor log_softmax(std::int64_t dim) const;

  /// The impl (for ops and tooling).
  detail::TensorImpl* impl() const { return impl_.get(); }
  /// The impl reference (for ops and tooling).
  const detail::Ref<detail::TensorImpl>& impl_ref() const { return impl_; }

 private:
  detail::Ref<detail::TensorImpl> impl_;
};

// --- creation --------------------------------------------------------------------------------------------
/// Uninitialised data of the given shape.
Tensor empty(const Shape& shape, TensorOptions opts = {});
/// All zeros.
Tensor zeros(const Shape& shape, TensorOptions opts = {});
/// All ones.
Tensor ones(const Shape& shape, TensorOptions opts = {});
/// Every element equal to v.
Tensor full(const Shape& shape, double v, TensorOptions opts = {});
/// Zeros with the shape and dtype of t.
Tensor zeros_like(const Tensor& t);
/// Ones with the shape and dtype of t.
Tensor ones_like(const Tensor& t);
/// v with the shape and dtype of t.
Tensor full_like(const Tensor& t, double v);
/// start, start+step, ... below end (1-d). Throws ValueError for step 0.
Tensor arange(double start, double end, double step = 1.0, TensorOptions opts = {});
/// 0, 1, ..., end-1.
Tensor arange(double end, TensorOptions opts = {});
/// n points from start to end inclusive. Throws ValueError for n < 0.
Tensor linspace(double start, double end, std::int64_t n, TensorOptions opts = {});
/// The n×n identity matrix.
Tensor eye(std::int64_t n, TensorOptions opts = {});
/// A 1-d tensor from a braced list: `tg::tensor({1.0, 2.0}, tg::kFloat64)`.
Tensor tensor(std::initializer_list<double> values, TensorOptions opts = {});
/// A 2-d tensor from nested braced lists; rows must have equal lengths (ShapeError otherwise).
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions opts = {});
/// A 3-d tensor from nested braced lists.
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> values,
              TensorOptions opts = {});
/// A tensor of the given shape from values in row-major order (ShapeError if the count differs).
Tensor tensor(std::span<const double> values, const Shape& shape, TensorOptions opts = {});
/// From float values (dtype float32 unless opts say otherwise).
Tensor tensor(std::span<const float> values, const Shape& shape, TensorOptions opts = {});
/// From int64 values (dtype int64 unless opts say otherwise), e.g. class indices.
Tensor tensor(std::span<const std::int64_t> values, const Shape& shape, TensorOptions opts = {.dtype = kInt64});
/// From a std::vector<double>, dtype float64 unless opts say otherwise (as LibTorch).
inline Tensor tensor(const std::vector<double>& v, const Shape& shape,
                     TensorOptions opts = {.dtype = kFloat64}) {
  return tensor(std::span<const double>(v), shape, opts);
}
/// From a std::vector<float>, dtype float32.
inline Tensor tensor(const std::vector<float>& v, const Shape& shape, TensorOptions opts = {}) {
  return tensor(std::span<const float>(v), shape, opts);
}
/// From a std::vector<int64_t>, dtype int64.
inline Tensor tensor(const std::vector<std::int64_t>& v, const Shape& shape,
                     TensorOptions opts = {.dtype = kInt64}) {
  return tensor(std::span<const std::int64_t>(v), shape, opts);
}
/// A 0-d tensor holding v.
Tensor scalar_tensor(double v, TensorOptions opts = {});

/// Uniform in [0, 1) from gen (the thread's default generator when null).
Tensor rand(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);
/// Standard normal.
Tensor randn(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);
/// Uniform in [lo, hi).
Tensor uniform(const Shape& shape, double lo, double hi, TensorOptions opts = {}, Generator* gen = nullptr);
/// Normal with mean and standard deviation std (ValueError if std < 0).
Tensor normal(const Shape& shape, double mean, double std, TensorOptions opts = {}, Generator* gen = nullptr);
/// 1 with probability p, else 0 (ValueError unless 0 ≤ p ≤ 1).
Tensor bernoulli(const Shape& shape, double p, TensorOptions opts = {}, Generator* gen = nullptr);
/// Random integers in [lo, hi), dtype int64 unless opts say otherwise.
Tensor randint(std::int64_t lo, std::int64_t hi, const Shape& shape, TensorOptions opts = {.dtype = kInt64},
               Generator* gen = nullptr);

// LibTorch-style shorthands taking a dtype: `tg::zeros({2, 3}, tg::kFloat64)`.
/// empty() with a dtype.
inline Tensor empty(const Shape& shape, Dtype d) { return empty(shape, TensorOptions{.dtype = d}); }
/// zeros() with a dtype.
inline Tensor zeros(const Shape& shape, Dtype d) { return zeros(shape, TensorOptions{.dtype = d}); }
/// ones() with a dtype.
inline Tensor ones(const Shape& shape, Dtype d) { return ones(shape, TensorOptions{.dtype = d}); }
/// full() with a dtype.
inline Tensor full(const Shape& shape, double v, Dtype d) { return full(shape, v, TensorOptions{.dtype = d}); }
/// arange() with a dtype.
inline Tensor arange(double start, double end, double step, Dtype d) {
  return arange(start, end, step, TensorOptions{.dtype = d});
}
/// arange(end) with a dtype.
inline Tensor arange(double end, Dtype d) { return arange(end, TensorOptions{.dtype = d}); }
/// linspace() with a dtype.
inline Tensor linspace(double start, double end, std::int64_t n, Dtype d) {
  return linspace(start, end, n, TensorOptions{.dtype = d});
}
/// eye() with a dtype.
inline Tensor eye(std::int64_t n, Dtype d) { return eye(n, TensorOptions{.dtype = d}); }
/// A 1-d tensor of the given dtype from a braced list.
inline Tensor tensor(std::initializer_list<double> values, Dtype d) { return tensor(values, TensorOptions{.dtype = d}); }
/// A 2-d tensor of the given dtype from nested braced lists.
inline Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Dtype d) {
  return tensor(rows, TensorOptions{.dtype = d});
}
/// rand() with a dtype.
inline Tensor rand(const Shape& shape, Dtype d, Generator* gen = nullptr) {
  return rand(shape, TensorOptions{.dtype = d}, gen);
}
/// randn() with a dtype.
inline Tensor randn(const Shape& shape, Dtype d, Generator* gen = nullptr) {
  return randn(shape, TensorOptions{.dtype = d}, gen);
}

/// Prints `tensor([[1, 2], [3, 4]], dtype=float64, requires_grad=true)` (long tensors elided).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <class T>
T* Tensor::data_ptr() const {
  if (!defined() || impl_->dtype != dtype_of<T>()) {
    throw DtypeError(std::string("data_ptr: requested ") + dtype_name(dtype_of<T>()) + ", tensor is " +
                     (defined() ? dtype_name(impl_->dtype) : "undefined"));
  }
  return impl_->data<T>();
}

extern template std::vector<float> Tensor::to_vector<float>() const;
extern template std::vector<double> Tensor::to_vector<double>() const;
extern template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
extern template std::vector<bool> Tensor::to_vector<bool>() const;

}  // namespace tg
