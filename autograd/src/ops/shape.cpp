// Shape ops: views (reshape, transpose, permute, expand, slice) that share storage, and the copying
// joins (cat, stack, pad), plus contiguous/clone/to. The backward of each view is the matching inverse.
#include <algorithm>
#include <limits>
#include <optional>
#include <sstream>

#include "kernels.hpp"

namespace tg {

namespace detail {

// Copies src (broadcast to dst's shape) into the view dst, converting the dtype.
void copy_into(const Tensor& dst, const Tensor& src) {
  const Shape ss = broadcast_strides(*src.impl(), dst.shape());
  dispatch_all(dst.dtype(), [&]<class D>() {
    dispatch_all(src.dtype(), [&]<class S>() {
      D* pd = dst.impl()->data<D>();
      const S* ps = src.impl()->data<S>();
      for_each_run<2>(dst.shape(), {&dst.strides(), &ss}, [&](const auto& off, const auto& in, std::int64_t n) {
        for (std::int64_t j = 0; j < n; ++j) pd[off[0] + j * in[0]] = convert<D>(ps[off[1] + j * in[1]]);
      });
    });
  });
}

}  // namespace detail

namespace {

Tensor record_view(Tensor out, const Tensor& x, TensorNode* n) {
  n->add_input(x);
  n->finish(out);
  return out;
}

// Strides that let a tensor with (shape, strides) be seen with new_shape without copying, if any exist:
// dims are matched in chunks whose elements are evenly spaced in memory.
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
  if (shape.empty() || detail::shape_numel(shape) == 0) return detail::contiguous_strides(new_shape);
  Shape out(new_shape.size(), 1);
  std::int64_t view_d = static_cast<std::int64_t>(new_shape.size()) - 1;
  std::int64_t base = strides.back();
  std::int64_t chunk = 1;
  std::int64_t view_chunk = 1;
  for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 1; d >= 0; --d) {
    const auto u = static_cast<std::size_t>(d);
    chunk *= shape[u];
    if (d == 0 || (shape[u - 1] != 1 && strides[u - 1] != chunk * base)) {
      while (view_d >= 0 && (view_chunk < chunk || new_shape[static_cast<std::size_t>(view_d)] == 1)) {
        out[static_cast<std::size_t>(view_d)] = view_chunk * base;
        view_chunk *= new_shape[static_cast<std::size_t>(view_d)];
        --view_d;
      }
      if (view_chunk != chunk) return std::nullopt;
      if (d > 0) {
        base = strides[u - 1];
        chunk = 1;
        view_chunk = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Shape infer_shape(const char* op, const Tensor& x, const Shape& shape) {
  Shape out = shape;
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) throw ShapeError(std::string(op) + ": only one size may be -1, got " + shape_str(shape));
      infer = static_cast<int>(i);
    } else if (out[i] < 0) {
      throw ShapeError(std::string(op) + ": invalid size in " + shape_str(shape));
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0 && known != 0 && x.numel() % known == 0) out[static_cast<std::size_t>(infer)] = x.numel() / known;
  if (detail::shape_numel(out) != x.numel() || (infer >= 0 && known == 0)) {
    std::ostringstream os;
    os << op << ": cannot reshape a tensor " << detail::label_prefix(x) << "of shape " << shape_str(x.shape()) << " ("
       << x.numel()
       << " elements) into " << shape_str(shape);
    throw ShapeError(os.str());
  }
  return out;
}

class ReshapeNode final : public TensorNode {
 public:
  const char* name() const override { return "reshape"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override { push(0, reshape(g, input(0).shape)); }
};

class PermuteNode final : public TensorNode {
 public:
  explicit PermuteNode(const Shape& inverse) : inverse_(inverse) {}
  const char* name() const override { return "permute"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override { push(0, permute(g, inverse_)); }
  // g is dropped before the push: the gradient of a weight used transposed (x·Wᵀ) arrives here as a
  // transposed view of a fresh matrix (see matmul's backward), and its permuted-back view, contiguous and
  // then the storage's only owner, becomes the weight's .grad() without a copy.
  void apply_owned(BackwardContext&, Tensor g) override {
    Tensor v = permute(g, inverse_);
    g = Tensor();
    push(0, std::move(v));
  }

 private:
  Shape inverse_;
};

// The gradient of a broadcast view is summed back by push().
class ExpandNode final : public TensorNode {
 public:
  const char* name() const override { return "expand"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override { push(0, g); }
};

// d slice = the gradient placed back at the sliced positions, zeros elsewhere
class SliceNode final : public TensorNode {
 public:
  SliceNode(std::int64_t dim, std::int64_t start, std::int64_t step) : dim_(dim), start_(start), step_(step) {}
  const char* name() const override { return "slice"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Shape& in = input(0).shape;
    const std::int64_t n = g.shape()[static_cast<std::size_t>(dim_)];
    if (step_ == 1) {
      Shape pads(2 * (in.size() - static_cast<std::size_t>(dim_)), 0);
      const std::size_t k = 2 * (in.size() - 1 - static_cast<std::size_t>(dim_));
      pads[k] = start_;
      pads[k + 1] = in[static_cast<std::size_t>(dim_)] - start_ - n;
      push(0, pad(g, pads));
      return;
    }
    const Tensor idx = arange(static_cast<double>(start_), static_cast<double>(start_ + n * step_),
                              static_cast<double>(step_), {.dtype = kInt64});
    push(0, index_add(zeros(in, {.dtype = g.dtype()}), dim_, idx, g));
  }

 private:
  std::int64_t dim_;
  std::int64_t start_;
  std::int64_t step_;
};

class CatNode final : public TensorNode {
 public:
  explicit CatNode(std::int64_t dim) : dim_(dim) {}
  const char* name() const override { return "cat"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    std::int64_t off = 0;
    for (std::size_t i = 0; i < num_inputs(); ++i) {
      const std::int64_t len = input(i).shape[static_cast<std::size_t>(dim_)];
      if (needs(i)) push(i, narrow(g, dim_, off, len));
      off += len;
    }
  }

 private:
  std::int64_t dim_;
};

class PadNode final : public TensorNode {
 public:
  explicit PadNode(const Shape& pads) : pads_(pads) {}
  const char* name() const override { return "pad"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    Tensor s = g;
    const std::size_t nd = input(0).shape.size();
    for (std::size_t k = 0; 2 * k < pads_.size(); ++k) {
      const auto d = static_cast<std::int64_t>(nd - 1 - k);
      s = narrow(s, d, pads_[2 * k], input(0).shape[nd - 1 - k]);
    }
    push(0, s);
  }

 private:
  Shape pads_;
};

class CopyNode final : public TensorNode {
 public:
  const char* name() const override { return "clone"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override { push(0, g); }
};

// d to(x) = the gradient converted back to x's dtype
class ToNode final : public TensorNode {
 public:
  explicit ToNode(Dtype from) : from_(from) {}
  const char* name() const override { return "to"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override { push(0, g.to(from_)); }

 private:
  Dtype from_;
};

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined("reshape", x);
  const Shape s = infer_shape("reshape", x, shape);
  std::optional<Shape> st = view_strides(x.shape(), x.strides(), s);
  Tensor out = st ? detail::make_view(x, s, *st, x.storage_offset())
                  : detail::make_view(detail::copy_contiguous(x), s, detail::contiguous_strides(s), 0);
  if (!detail::any_requires_grad({&x})) return out;
  return record_view(std::move(out), x, detail::make_node<ReshapeNode>());
}

Tensor view(const Tensor& x, const Shape& shape) {
  detail::check_defined("view", x);
  const Shape s = infer_shape("view", x, shape);
  if (!view_strides(x.shape(), x.strides(), s)) {
    throw ShapeError("view: a tensor " + detail::label_prefix(x) + "of shape " + shape_str(x.shape()) +
                     " with strides " + shape_str(x.strides()) + " cannot be viewed as " + shape_str(shape) +
                     " without a copy; use reshape() (or contiguous() first)");
  }
  return reshape(x, s);
}

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  detail::check_defined("flatten", x);
  if (x.dim() == 0) return reshape(x, {1});
  const std::int64_t s = detail::wrap_dim("flatten", start_dim, x.dim());
  const std::int64_t e = detail::wrap_dim("flatten", end_dim, x.dim());
  if (s > e) throw IndexError("flatten: start_dim must not come after end_dim");
  Shape out;
  std::int64_t merged = 1;
  for (std::int64_t i = 0; i < x.dim(); ++i) {
    const std::int64_t n = x.shape()[static_cast<std::size_t>(i)];
    if (i < s || i > e) {
      out.push_back(n);
    } else {
      merged *= n;
      if (i == e) out.push_back(merged);
    }
  }
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x) {
  detail::check_defined("squeeze", x);
  Shape out;
  for (std::int64_t n : x.shape()) {
    if (n != 1) out.push_back(n);
  }
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  detail::check_defined("squeeze", x);
  if (x.dim() == 0) return x;
  const auto d = static_cast<std::size_t>(detail::wrap_dim("squeeze", dim, x.dim()));
  if (x.shape()[d] != 1) return x;
  Shape out = x.shape();
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(d));
  return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  detail::check_defined("unsqueeze", x);
  const std::int64_t d = detail::wrap_dim("unsqueeze", dim, x.dim() + 1);
  Shape out = x.shape();
  out.insert(out.begin() + d, 1);
  return reshape(x, out);
}

Tensor permute(const Tensor& x, const Shape& dims) {
  detail::check_defined("permute", x);
  const std::int64_t nd = x.dim();
  if (static_cast<std::int64_t>(dims.size()) != nd) {
    throw IndexError("permute: got " + std::to_string(dims.size()) + " dims for a tensor " + detail::label_prefix(x) +
                     "of shape " +
                     shape_str(x.shape()));
  }
  Shape shape(dims.size());
  Shape strides(dims.size());
  Shape inverse(dims.size(), -1);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto d = static_cast<std::size_t>(detail::wrap_dim("permute", dims[i], nd));
    if (inverse[d] != -1) throw IndexError("permute: dimension " + std::to_string(dims[i]) + " repeats");
    inverse[d] = static_cast<std::int64_t>(i);
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = detail::make_view(x, shape, strides, x.storage_offset());
  if (!detail::any_requires_grad({&x})) return out;
  return record_view(std::move(out), x, detail::make_node<PermuteNode>(inverse));
}

Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1) {
  detail::check_defined("transpose", x);
  // A 0-d tensor accepts dims -1 and 0 only, as in PyTorch, and is its own transpose.
  const std::int64_t a = detail::wrap_dim("transpose", d0, x.dim());
  const std::int64_t b = detail::wrap_dim("transpose", d1, x.dim());
  if (x.dim() == 0) return x;
  Shape dims(static_cast<std::size_t>(x.dim()));
  for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = static_cast<std::int64_t>(i);
  std::swap(dims[static_cast<std::size_t>(a)], dims[static_cast<std::size_t>(b)]);
  return permute(x, dims);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  detail::check_defined("expand", x);
  if (shape.size() < x.shape().size()) {
    throw ShapeError("expand: cannot expand shape " + detail::operand_str(x) + " to fewer dims " + shape_str(shape));
  }
  const std::size_t lead = shape.size() - x.shape().size();
  Shape out(shape.size());
  Shape strides(shape.size(), 0);
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::int64_t have = i < lead ? 1 : x.shape()[i - lead];
    std::int64_t want = shape[i] == -1 ? have : shape[i];
    if (i < lead && shape[i] == -1) want = -1;
    if (want < 0 || (have != want && have != 1)) {
      throw ShapeError("expand: shape " + detail::operand_str(x) + " cannot be expanded to " + shape_str(shape) +
                       " (only size-1 dims can grow)");
    }
    out[i] = want;
    if (i >= lead && have == want) strides[i] = x.strides()[i - lead];
  }
  if (out == x.shape()) return x;
  Tensor v = detail::make_view(x, out, strides, x.storage_offset());
  if (!detail::any_requires_grad({&x})) return v;
  return record_view(std::move(v), x, detail::make_node<ExpandNode>());
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  detail::check_defined("slice", x);
  if (x.dim() == 0) throw IndexError("slice: a 0-d tensor cannot be sliced");
  if (step <= 0) throw ValueError("slice: step must be positive, got " + std::to_string(step));
  const auto d = static_cast<std::size_t>(detail::wrap_dim("slice", dim, x.dim()));
  const std::int64_t n = x.shape()[d];
  auto clampi = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
  const std::int64_t s = clampi(start);
  const std::int64_t e = std::max(clampi(end), s);
  Shape shape = x.shape();
  Shape strides = x.strides();
  shape[d] = (e - s + step - 1) / step;
  strides[d] *= step;
  Tensor out = detail::make_view(x, shape, strides, x.storage_offset() + s * x.strides()[d]);
  if (!detail::any_requires_grad({&x})) return out;
  return record_view(std::move(out), x, detail::make_node<SliceNode>(static_cast<std::int64_t>(d), s, step));
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  detail::check_defined("narrow", x);
  if (x.dim() == 0) throw IndexError("narrow: a 0-d tensor cannot be narrowed");
  const auto d = static_cast<std::size_t>(detail::wrap_dim("narrow", dim, x.dim()));
  const std::int64_t n = x.shape()[d];
  if (start < 0 || length < 0 || start + length > n) {
    std::ostringstream os;
    os << "narrow: start " << start << " and length " << length << " do not fit dimension " << dim << " of size "
       << n << " (shape " << detail::operand_str(x) << ")";
    throw IndexError(os.str());
  }
  return slice(x, dim, start, start + length);
}

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  detail::check_defined("select", x);
  if (x.dim() == 0) throw IndexError("select: a 0-d tensor cannot be indexed");
  const auto d = static_cast<std::size_t>(detail::wrap_dim("select", dim, x.dim()));
  const std::int64_t n = x.shape()[d];
  if (index < -n || index >= n) {
    std::ostringstream os;
    os << "select: index " << index << " is out of range for dimension " << dim << " of size " << n;
    if (!x.label().empty()) os << " of tensor '" << x.label() << "'";
    throw IndexError(os.str());
  }
  const std::int64_t i = index < 0 ? index + n : index;
  return squeeze(slice(x, dim, i, i + 1), dim);
}

Tensor cat(const std::vector<Tensor>& xs, std::int64_t dim) {
  if (xs.empty()) throw ValueError("cat: expected at least one tensor");
  const Tensor& first = xs[0];
  detail::check_defined("cat", first);
  if (first.dim() == 0) throw IndexError("cat: 0-d tensors cannot be concatenated; use stack");
  const auto d = static_cast<std::size_t>(detail::wrap_dim("cat", dim, first.dim()));
  Shape shape = first.shape();
  shape[d] = 0;
  bool grad = false;
  for (const Tensor& t : xs) {
    detail::check_same_dtype("cat", first, t);
    bool ok = t.dim() == first.dim();
    for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = i == d || t.shape()[i] == first.shape()[i];
    if (!ok) {
      throw ShapeError("cat: shapes " + detail::operand_str(first) + " and " + detail::operand_str(t) +
                       " differ outside dimension " + std::to_string(dim));
    }
    shape[d] += t.shape()[d];
    grad = grad || (grad_enabled() && t.requires_grad());
  }
  Tensor out = detail::new_tensor(shape, first.dtype());
  std::int64_t off = 0;
  for (const Tensor& t : xs) {
    Shape part = shape;
    part[d] = t.shape()[d];
    detail::copy_into(detail::make_view(out, part, out.strides(), off * out.strides()[d]), t);
    off += t.shape()[d];
  }
  if (!grad) return out;
  auto* n = detail::make_node<CatNode>(static_cast<std::int64_t>(d));
  for (const Tensor& t : xs) n->add_input(t);
  n->finish(out);
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim) {
  if (xs.empty()) throw ValueError("stack: expected at least one tensor");
  detail::check_defined("stack", xs[0]);
  const std::int64_t d = detail::wrap_dim("stack", dim, xs[0].dim() + 1);
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& t : xs) {
    detail::check_defined("stack", t);
    if (t.shape() != xs[0].shape()) {
      throw ShapeError("stack: all tensors must have the same shape, got " + detail::operand_str(xs[0]) + " and " +
                       detail::operand_str(t));
    }
    parts.push_back(unsqueeze(t, d));
  }
  return cat(parts, d);
}

Tensor pad(const Tensor& x, const Shape& pads, double value) {
  detail::check_defined("pad", x);
  if (pads.size() % 2 != 0 || pads.size() > 2 * static_cast<std::size_t>(x.dim())) {
    throw ValueError("pad: expected (before, after) pairs for at most " + std::to_string(x.dim()) +
                     " dims, got " + shape_str(pads));
  }
  Shape shape = x.shape();
  std::int64_t offset = 0;
  for (std::int64_t p : pads) {
    if (p < 0) throw ValueError("pad: negative padding is not supported, got " + shape_str(pads));
  }
  const std::size_t nd = shape.size();
  for (std::size_t k = 0; 2 * k < pads.size(); ++k) shape[nd - 1 - k] += pads[2 * k] + pads[2 * k + 1];
  Tensor out = full(shape, value, {.dtype = x.dtype()});
  for (std::size_t k = 0; 2 * k < pads.size(); ++k) offset += pads[2 * k] * out.strides()[nd - 1 - k];
  detail::copy_into(detail::make_view(out, x.shape(), out.strides(), offset), x);
  if (!detail::any_requires_grad({&x})) return out;
  auto* n = detail::make_node<PadNode>(pads);
  n->add_input(x);
  n->finish(out);
  return out;
}

Tensor Tensor::contiguous() const {
  detail::check_defined("contiguous", *this);
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  detail::check_defined("clone", *this);
  Tensor out = detail::copy_contiguous(*this);
  if (!detail::any_requires_grad({this})) return out;
  auto* n = detail::make_node<CopyNode>();
  n->add_input(*this);
  n->finish(out);
  return out;
}

Tensor Tensor::to(Dtype d) const {
  detail::check_defined("to", *this);
  if (d == dtype()) return *this;
  Tensor out = detail::new_tensor(shape(), d);
  detail::copy_into(out, *this);
  if (!detail::any_requires_grad({this})) return out;
  if (!is_floating(d)) return out;  // a cast to int64/bool has no gradient
  auto* n = detail::make_node<ToNode>(dtype());
  n->add_input(*this);
  n->finish(out);
  return out;
}

Tensor Tensor::reshape(const Shape& s) const { return tg::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return tg::view(*this, s); }
Tensor Tensor::flatten(std::int64_t s, std::int64_t e) const { return tg::flatten(*this, s, e); }
Tensor Tensor::squeeze() const { return tg::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t d) const { return tg::squeeze(*this, d); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return tg::unsqueeze(*this, d); }
Tensor Tensor::transpose(std::int64_t a, std::int64_t b) const { return tg::transpose(*this, a, b); }
Tensor Tensor::t() const {
  detail::check_defined("t", *this);
  if (dim() > 2) throw IndexError("t: expects a tensor with at most 2 dims, got shape " + shape_str(shape()));
  return dim() < 2 ? *this : tg::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& d) const { return tg::permute(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return tg::expand(*this, s); }
Tensor Tensor::narrow(std::int64_t d, std::int64_t s, std::int64_t l) const { return tg::narrow(*this, d, s, l); }
Tensor Tensor::slice(std::int64_t d, std::int64_t s, std::int64_t e, std::int64_t st) const {
  return tg::slice(*this, d, s, e, st);
}
Tensor Tensor::operator[](std::int64_t i) const { return tg::select(*this, 0, i); }
Tensor Tensor::select(std::int64_t d, std::int64_t i) const { return tg::select(*this, d, i); }

}  // namespace tg
