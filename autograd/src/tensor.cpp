// Tensor basics: the caching allocator for storages and impls, views, element access, conversion,
// printing and the shared checks used by every op.
#include "tapegrad/tensor.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "ops/kernels.hpp"
#include "tapegrad/ops.hpp"
#include "tapegrad/tensor_node.hpp"

namespace tg {

const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::Float32:
      return "float32";
    case Dtype::Float64:
      return "float64";
    case Dtype::Int64:
      return "int64";
    case Dtype::Bool:
      return "bool";
  }
  return "?";
}

namespace detail {

namespace {

// Storages are cached per thread in power-of-two size classes, so that a training loop which frees and
// allocates the same sizes every step never reaches malloc after its first step. A storage freed on
// another thread simply joins that thread's cache (the blocks are plain malloc memory).
constexpr std::size_t kHeader = 64;
constexpr std::size_t kMinPayload = 64;
constexpr int kBuckets = 48;
constexpr std::size_t kCacheLimit = std::size_t{1} << 30;
constexpr std::size_t kImplPoolMax = 1 << 14;

// Plain data, so that each access is a bare TLS load (a thread_local with a destructor is reached through
// an init check); the Reaper below empties it when the thread ends.
struct Cache {
  Storage* free_list[kBuckets];
  std::size_t cached_bytes;
  void* impls;  // free TensorImpl blocks, linked through their first word
  std::size_t nimpls;
  bool reaper_armed;
  bool dead;  // set once the thread's cache was emptied at exit: later frees go straight to the heap
};

thread_local Cache tl_cache{};

struct Reaper {
  ~Reaper() {
    Cache& c = tl_cache;
    for (auto& head : c.free_list) {
      while (head != nullptr) {
        Storage* next = head->next_free;
        head->~Storage();
        ::operator delete(head, std::align_val_t{kHeader});
        head = next;
      }
    }
    while (c.impls != nullptr) {
      void* next = *static_cast<void**>(c.impls);
      ::operator delete(c.impls);
      c.impls = next;
    }
    c.dead = true;
  }
};

// Called before the first block enters the cache: constructing the thread_local Reaper schedules its
// destructor for thread exit.
void arm_reaper(Cache& c) {
  static thread_local Reaper reaper;
  (void)reaper;
  c.reaper_armed = true;
}

int bucket_of(std::size_t nbytes) {
  if (nbytes <= kMinPayload) return 0;
  return static_cast<int>(std::bit_width((nbytes - 1) / kMinPayload));
}

std::size_t bucket_bytes(int b) { return kMinPayload << b; }

}  // namespace

Storage* storage_new(std::size_t nbytes) {
  const int b = bucket_of(nbytes);
  if (b >= kBuckets) throw std::bad_alloc();
  Cache& c = tl_cache;
  if (!c.dead) {
    if (Storage* s = c.free_list[b]) {
      c.free_list[b] = s->next_free;
      c.cached_bytes -= bucket_bytes(b);
      s->refs.store(1, std::memory_order_relaxed);
      s->version = 0;
      s->nbytes = nbytes;
      s->next_free = nullptr;
      return s;
    }
  }
  // Through operator new (not malloc) so that allocation counters in tests and benches see it.
  void* mem = ::operator new(kHeader + bucket_bytes(b), std::align_val_t{kHeader});
  auto* s = ::new (mem) Storage();
  s->bucket = static_cast<std::uint32_t>(b);
  s->nbytes = nbytes;
  s->data = static_cast<char*>(mem) + kHeader;
  return s;
}

void storage_free(Storage* s) noexcept {
  const int b = static_cast<int>(s->bucket);
  Cache& c = tl_cache;
  if (!c.dead) {
    if (!c.reaper_armed) arm_reaper(c);
    if (c.cached_bytes + bucket_bytes(b) <= kCacheLimit) {
      s->next_free = c.free_list[b];
      c.free_list[b] = s;
      c.cached_bytes += bucket_bytes(b);
      return;
    }
  }
  s->~Storage();
  ::operator delete(s, std::align_val_t{kHeader});
}

void* TensorImpl::operator new(std::size_t n) {
  Cache& c = tl_cache;
  if (n == sizeof(TensorImpl) && !c.dead) {
    if (c.impls != nullptr) {
      void* p = c.impls;
      c.impls = *static_cast<void**>(p);
      --c.nimpls;
      return p;
    }
  }
  return ::operator new(n);
}

void TensorImpl::operator delete(void* p) noexcept {
  Cache& c = tl_cache;
  if (!c.dead) {
    if (!c.reaper_armed) arm_reaper(c);
    if (c.nimpls < kImplPoolMax) {
      *static_cast<void**>(p) = c.impls;
      c.impls = p;
      ++c.nimpls;
      return;
    }
  }
  ::operator delete(p);
}

void impl_free(TensorImpl* t) noexcept { delete t; }

void TensorImpl::refresh() {
  numel = shape_numel(shape);
  bool c = true;
  std::int64_t expect = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expect) c = false;
    expect *= shape[i];
  }
  contiguous = c;
}

Shape contiguous_strides(const Shape& shape) {
  Shape s(shape.size(), 1);
  std::int64_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= std::max<std::int64_t>(shape[i], 1);
  }
  return s;
}

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

Tensor empty_impl(const Shape& shape, Dtype dtype) {
  std::int64_t numel = 1;
  bool negative = false;
  for (std::int64_t s : shape) {
    negative |= s < 0;
    numel *= s;
  }
  if (negative) [[unlikely]] throw ShapeError("empty: negative size in shape " + shape_str(shape));
  Ref<Storage> storage(storage_new(static_cast<std::size_t>(numel) * dtype_size(dtype)));
  auto* t = new TensorImpl;
  Ref<TensorImpl> ref(t);
  t->storage = std::move(storage);
  t->dtype = dtype;
  t->numel = numel;
  copy_shape(t->shape, shape);
  const std::size_t nd = shape.size();
  for (std::size_t i = 0; i < nd; ++i) t->strides.push_back(1);
  std::int64_t acc = 1;
  std::int64_t* st = t->strides.data();
  for (std::size_t i = nd; i-- > 0;) {
    st[i] = acc;
    acc *= std::max<std::int64_t>(shape[i], 1);
  }
  return Tensor(std::move(ref));
}

void throw_undefined(const char* op) {
  throw ValueError(std::string(op) + ": the tensor is undefined (default-constructed)");
}

void throw_dtype_mismatch(const char* op, const Tensor& a, const Tensor& b) {
  throw DtypeError(std::string(op) + ": dtype mismatch, " + label_prefix(a) + dtype_name(a.dtype()) + " and " +
                   label_prefix(b) + dtype_name(b.dtype()) + "; convert one with .to(dtype) first");
}

void throw_not_floating(const char* op, const Tensor& t) {
  throw DtypeError(std::string(op) + ": expected a float32 or float64 tensor, got " + dtype_name(t.dtype()) +
                   "; convert it with .to(tg::kFloat32)");
}

void check_index_dtype(const char* op, const Tensor& t) {
  check_defined(op, t);
  if (t.dtype() != kInt64) {
    throw DtypeError(std::string(op) + ": indices must be an int64 tensor, got " + dtype_name(t.dtype()));
  }
}

std::int64_t wrap_dim(const char* op, std::int64_t dim, std::int64_t ndim) {
  const std::int64_t lo = ndim == 0 ? -1 : -ndim;
  const std::int64_t hi = ndim == 0 ? 0 : ndim - 1;
  if (dim < lo || dim > hi) {
    std::ostringstream os;
    os << op << ": dimension " << dim << " is out of range for a tensor with " << ndim
       << " dimensions (expected " << lo << " to " << hi << ")";
    throw IndexError(os.str());
  }
  return dim < 0 ? dim + std::max<std::int64_t>(ndim, 1) : dim;
}

namespace {
std::string quoted_prefix(std::string_view label) {
  return label.empty() ? std::string() : "'" + std::string(label) + "' ";
}
}  // namespace

std::string label_prefix(const Tensor& t) { return t.defined() ? quoted_prefix(t.label()) : std::string(); }

std::string operand_str(const Tensor& t) { return label_prefix(t) + shape_str(t.shape()); }

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b, std::string_view la, std::string_view lb) {
  if (same_shape(a, b)) return a;
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      std::ostringstream os;
      os << op << ": shapes " << quoted_prefix(la) << shape_str(a) << " and " << quoted_prefix(lb) << shape_str(b)
         << " cannot be broadcast (dimension " << i << ": " << da << " vs " << db << ")";
      throw ShapeError(os.str());
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const TensorImpl& t, const Shape& out) {
  Shape s(out.size(), 0);
  const std::size_t lead = out.size() - t.shape.size();
  for (std::size_t i = 0; i < t.shape.size(); ++i) {
    s[lead + i] = t.shape[i] == 1 ? 0 : t.strides[i];
  }
  return s;
}

Tensor copy_contiguous(const Tensor& t) {
  Tensor out = empty_impl(t.shape(), t.dtype());
  dispatch_all(t.dtype(), [&]<class T>() {
    const TensorImpl& x = *t.impl();
    T* o = out.impl()->data<T>();
    if (x.contiguous) {
      if (x.numel > 0) std::memcpy(o, x.data<T>(), static_cast<std::size_t>(x.numel) * sizeof(T));
      return;
    }
    map_unary<T, T>(x, o, [](T v) { return v; });
  });
  return out;
}

Tensor make_view(const Tensor& t, const Shape& shape, const Shape& strides, std::int64_t offset) {
  auto* v = new TensorImpl;
  Ref<TensorImpl> ref(v);
  v->dtype = t.dtype();
  copy_shape(v->shape, shape);
  copy_shape(v->strides, strides);
  v->offset = offset;
  v->storage = t.impl()->storage;
  v->refresh();
  return Tensor(std::move(ref));
}

Tensor scalar_like(double v, Dtype d) { return full({}, v, {.dtype = d}); }

}  // namespace detail

using detail::check_defined;

std::int64_t Tensor::size(std::int64_t d) const {
  check_defined("size", *this);
  if (dim() == 0) throw IndexError("size: a 0-d tensor has no dimensions");
  return impl_->shape[static_cast<std::size_t>(detail::wrap_dim("size", d, dim()))];
}

std::int64_t Tensor::stride(std::int64_t d) const {
  check_defined("stride", *this);
  if (dim() == 0) throw IndexError("stride: a 0-d tensor has no dimensions");
  return impl_->strides[static_cast<std::size_t>(detail::wrap_dim("stride", d, dim()))];
}

Tensor& Tensor::requires_grad_(bool on) {
  check_defined("requires_grad_", *this);
  if (!is_leaf()) {
    throw ValueError("requires_grad_: can only be changed on a leaf tensor, and this one was computed by "
                     "a recorded op (use .detach().requires_grad_() for a new leaf)");
  }
  if (on && !is_floating(dtype())) {
    throw DtypeError(std::string("requires_grad_: only float tensors can require gradients, got ") +
                     dtype_name(dtype()));
  }
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  check_defined("grad", *this);
  return Tensor(detail::Ref<detail::TensorImpl>::share(impl_->grad.get()));
}

void Tensor::zero_grad() const {
  check_defined("zero_grad", *this);
  detail::TensorImpl* g = impl_->grad.get();
  if (g == nullptr) return;
  if (g->contiguous && !(grad_enabled() && g->requires_grad)) {
    // What zero_() does here, without a handle copy of the gradient (two atomic refcount updates).
    if (g->numel > 0) {
      const std::size_t esize = dtype_size(g->dtype);
      std::memset(static_cast<char*>(g->storage->data) + static_cast<std::size_t>(g->offset) * esize, 0,
                  static_cast<std::size_t>(g->numel) * esize);
    }
    ++g->storage->version;
    return;
  }
  Tensor(impl_->grad).zero_();
}

Tensor& Tensor::retain_grad() {
  check_defined("retain_grad", *this);
  if (is_leaf()) return *this;
  TensorNode* n = grad_fn();
  if (n == nullptr) throw TapeError("retain_grad: this tensor's tape was reset; its graph is gone");
  impl_->retains_grad = true;
  n->retained = impl_;
  return *this;
}

TensorNode* Tensor::grad_fn() const {
  if (!defined() || impl_->node == nullptr) return nullptr;
  return Tape::find(impl_->stamp) != nullptr ? impl_->node : nullptr;
}

Tensor Tensor::detach() const {
  check_defined("detach", *this);
  return detail::make_view(*this, impl_->shape, impl_->strides, impl_->offset);
}

namespace {

std::int64_t element_offset(const detail::TensorImpl& t, std::initializer_list<std::int64_t> index,
                            const char* op) {
  if (index.size() != t.shape.size()) {
    std::ostringstream os;
    os << op << ": got " << index.size() << " indices for a tensor " << detail::quoted_prefix(t.label)
       << "of shape " << shape_str(t.shape);
    throw IndexError(os.str());
  }
  std::int64_t off = t.offset;
  std::size_t d = 0;
  for (std::int64_t i : index) {
    const std::int64_t n = t.shape[d];
    if (i < -n || i >= n) {
      std::ostringstream os;
      os << op << ": index " << i << " is out of range for dimension " << d << " of size " << n
         << " (shape " << detail::quoted_prefix(t.label) << shape_str(t.shape) << ")";
      throw IndexError(os.str());
    }
    off += (i < 0 ? i + n : i) * t.strides[d];
    ++d;
  }
  return off;
}

double read_at(const detail::TensorImpl& t, std::int64_t off) {
  return detail::dispatch_all(t.dtype, [&]<class T>() -> double {
    return static_cast<double>(static_cast<const T*>(t.storage->data)[off]);
  });
}

}  // namespace

double Tensor::item() const {
  check_defined("item", *this);
  if (numel() != 1) {
    throw ShapeError("item: only a one-element tensor converts to a number, got shape " +
                     shape_str(shape()));
  }
  return read_at(*impl_, impl_->offset);
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  check_defined("at", *this);
  return read_at(*impl_, element_offset(*impl_, index, "at"));
}

void Tensor::set(std::initializer_list<std::int64_t> index, double value) {
  check_defined("set", *this);
  if (grad_enabled() && requires_grad()) {
    throw ValueError("set: writing into a tensor that requires grad would corrupt its gradient; do it "
                     "inside a tg::NoGradGuard scope");
  }
  const std::int64_t off = element_offset(*impl_, index, "set");
  detail::dispatch_all(dtype(), [&]<class T>() { static_cast<T*>(impl_->storage->data)[off] = static_cast<T>(value); });
  ++impl_->storage->version;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  check_defined("to_vector", *this);
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(numel()));
  detail::dispatch_all(dtype(), [&]<class S>() {
    const S* base = impl_->data<S>();
    detail::for_each_run<1>(impl_->shape, {&impl_->strides},
                            [&](const auto& off, const auto& inner, std::int64_t n) {
                              for (std::int64_t j = 0; j < n; ++j) {
                                out.push_back(detail::convert<T>(base[off[0] + j * inner[0]]));
                              }
                            });
  });
  return out;
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

Tensor& Tensor::label(std::string name) {
  check_defined("label", *this);
  impl_->label = std::move(name);
  return *this;
}

namespace {

void print_rec(std::ostream& os, const detail::TensorImpl& t, std::size_t d, std::int64_t off, int indent) {
  if (d == t.shape.size()) {
    const double v = read_at(t, off);
    if (t.dtype == kBool) {
      os << (v != 0.0 ? "true" : "false");
    } else if (t.dtype == kInt64) {
      os << static_cast<std::int64_t>(v);
    } else {
      os << v;
    }
    return;
  }
  const std::int64_t n = t.shape[d];
  const bool elide = t.numel > 1000 && n > 6;
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (elide && i == 3) {
      os << ", ...";
      i = n - 3;
    }
    if (i > 0) {
      os << ',';
      if (d + 1 < t.shape.size()) {
        os << '\n' << std::string(static_cast<std::size_t>(indent + 1), ' ');
      } else {
        os << ' ';
      }
    }
    print_rec(os, t, d + 1, off + i * t.strides[d], indent + 1);
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::ostringstream body;
  body << std::setprecision(6);
  print_rec(body, *t.impl(), 0, t.storage_offset(), 7);
  os << "tensor(" << body.str();
  if (t.dim() != 1 || t.numel() == 0) os << ", shape=" << shape_str(t.shape());
  os << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) os << ", requires_grad=true";
  if (!t.label().empty()) os << ", label=\"" << t.label() << '"';
  return os << ')';
}

}  // namespace tg
