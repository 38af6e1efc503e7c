// Index ops: index_select ↔ index_add and gather ↔ scatter_add are each other's backward; one_hot.
#include <algorithm>
#include <sstream>

#include "kernels.hpp"

namespace tg {

namespace {

[[noreturn]] void out_of_range(const char* op, const Tensor& x, std::int64_t i, std::int64_t dim, std::int64_t n) {
  std::ostringstream os;
  os << op << ": index " << i << " is out of range for dimension " << dim << " of size " << n;
  if (!x.label().empty()) os << " of tensor '" << x.label() << "'";
  throw IndexError(os.str());
}

// The indices of a 0-d or 1-d int64 tensor, range-checked (negative ones wrap).
std::vector<std::int64_t> index_list(const char* op, const Tensor& x, const Tensor& index, std::int64_t dim,
                                     std::int64_t n) {
  detail::check_index_dtype(op, index);
  if (index.dim() > 1) {
    throw ShapeError(std::string(op) + ": index must be 0-d or 1-d, got shape " + detail::operand_str(index));
  }
  std::vector<std::int64_t> v = index.to_vector<std::int64_t>();
  for (std::int64_t& i : v) {
    if (i < -n || i >= n) out_of_range(op, x, i, dim, n);
    if (i < 0) i += n;
  }
  return v;
}

Tensor slice_at(const Tensor& t, std::size_t d, std::int64_t i) {
  Shape shape = t.shape();
  shape[d] = 1;
  return detail::make_view(t, shape, t.strides(), t.storage_offset() + i * t.strides()[d]);
}

// d index_select = the gradient rows added back at the selected indices
class IndexSelectNode final : public TensorNode {
 public:
  explicit IndexSelectNode(std::int64_t dim) : dim_(dim) {}
  const char* name() const override { return "index_select"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    push(0, index_add(zeros(input(0).shape, {.dtype = g.dtype()}), dim_, saved(0), g));
  }

 private:
  std::int64_t dim_;
};

// d index_add = g for x, g's selected rows for src
class IndexAddNode final : public TensorNode {
 public:
  explicit IndexAddNode(std::int64_t dim) : dim_(dim) {}
  const char* name() const override { return "index_add"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    push(0, g);
    if (needs(1)) push(1, index_select(g, dim_, saved(0)));
  }

 private:
  std::int64_t dim_;
};

class GatherNode final : public TensorNode {
 public:
  explicit GatherNode(std::int64_t dim) : dim_(dim) {}
  const char* name() const override { return "gather"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    push(0, scatter_add(zeros(input(0).shape, {.dtype = g.dtype()}), dim_, saved(0), g));
  }

 private:
  std::int64_t dim_;
};

class ScatterAddNode final : public TensorNode {
 public:
  explicit ScatterAddNode(std::int64_t dim) : dim_(dim) {}
  const char* name() const override { return "scatter_add"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    push(0, g);
    if (needs(1)) push(1, gather(g, dim_, saved(0)));
  }

 private:
  std::int64_t dim_;
};

// Checks a gather/scatter index against x and returns x's strides with dim's stride set aside.
void check_gather(const char* op, const Tensor& x, std::size_t d, const Tensor& index) {
  detail::check_index_dtype(op, index);
  bool ok = index.dim() == x.dim();
  for (std::size_t i = 0; ok && i < x.shape().size(); ++i) ok = i == d || index.shape()[i] <= x.shape()[i];
  if (!ok) {
    throw ShapeError(std::string(op) + ": index " + detail::label_prefix(index) + "of shape " +
                     shape_str(index.shape()) + " does not fit a tensor " + detail::label_prefix(x) + "of shape " +
                     shape_str(x.shape()) +
                     " (same number of dims, no larger outside dimension " + std::to_string(d) + ")");
  }
}

// Visits each element of index: f(position in index order, offset in x of the element it names).
template <class F>
void walk_gather(const char* op, const Tensor& x, std::size_t d, const Tensor& index, F f) {
  Shape xs = x.strides();
  const std::int64_t step = xs[d];
  const std::int64_t n = x.shape()[d];
  xs[d] = 0;
  const std::int64_t* pi = index.impl()->data<std::int64_t>();
  std::int64_t pos = 0;
  detail::for_each_run<2>(index.shape(), {&index.strides(), &xs}, [&](const auto& off, const auto& in, std::int64_t m) {
    for (std::int64_t j = 0; j < m; ++j) {
      std::int64_t i = pi[off[0] + j * in[0]];
      if (i < -n || i >= n) out_of_range(op, x, i, static_cast<std::int64_t>(d), n);
      if (i < 0) i += n;
      f(pos++, x.storage_offset() + off[1] + j * in[1] + i * step);
    }
  });
}

}  // namespace

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  detail::check_defined("index_select", x);
  const auto d = static_cast<std::size_t>(detail::wrap_dim("index_select", dim, x.dim()));
  const Tensor xv = x.dim() == 0 ? detail::make_view(x, {1}, {1}, x.storage_offset()) : x;
  const std::vector<std::int64_t> idx =
      index_list("index_select", x, index, static_cast<std::int64_t>(d), xv.shape()[d]);
  Shape shape = xv.shape();
  shape[d] = static_cast<std::int64_t>(idx.size());
  Tensor out = detail::new_tensor(shape, x.dtype());
  for (std::size_t k = 0; k < idx.size(); ++k) {
    detail::copy_into(slice_at(out, d, static_cast<std::int64_t>(k)), slice_at(xv, d, idx[k]));
  }
  if (x.dim() == 0 && index.dim() == 0) out = detail::make_view(out, {}, {}, 0);
  if (!detail::any_requires_grad({&x})) return out;
  auto* n = detail::make_node<IndexSelectNode>(static_cast<std::int64_t>(d));
  n->add_input(x);
  n->save(index);
  n->finish(out);
  return out;
}

Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  detail::check_same_dtype("index_add", x, src);
  detail::check_floating("index_add", x);
  if (x.dim() == 0) throw IndexError("index_add: x must have at least 1 dimension");
  const auto d = static_cast<std::size_t>(detail::wrap_dim("index_add", dim, x.dim()));
  const std::vector<std::int64_t> idx = index_list("index_add", x, index, static_cast<std::int64_t>(d), x.shape()[d]);
  Shape want = x.shape();
  want[d] = static_cast<std::int64_t>(idx.size());
  if (src.shape() != want) {
    throw ShapeError("index_add: src " + detail::label_prefix(src) + "has shape " + shape_str(src.shape()) +
                     ", expected " + shape_str(want) + " for x " + detail::label_prefix(x) + "of shape " +
                     shape_str(x.shape()) + " and " + std::to_string(idx.size()) + " indices");
  }
  Tensor out = detail::copy_contiguous(x);
  detail::dispatch_float(x.dtype(), "index_add", [&]<class T>() {
    for (std::size_t k = 0; k < idx.size(); ++k) {
      const Tensor dst = slice_at(out, d, idx[k]);
      const Tensor s = slice_at(src, d, static_cast<std::int64_t>(k));
      T* pd = dst.impl()->data<T>();
      const T* ps = s.impl()->data<T>();
      detail::for_each_run<2>(dst.shape(), {&dst.strides(), &s.strides()}, [&](const auto& off, const auto& in, std::int64_t m) {
        for (std::int64_t j = 0; j < m; ++j) pd[off[0] + j * in[0]] += ps[off[1] + j * in[1]];
      });
    }
  });
  if (!detail::any_requires_grad({&x, &src})) return out;
  auto* n = detail::make_node<IndexAddNode>(static_cast<std::int64_t>(d));
  n->add_input(x);
  n->add_input(src);
  n->save(index);
  n->finish(out);
  return out;
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  detail::check_defined("gather", x);
  if (x.dim() == 0) throw IndexError("gather: x must have at least 1 dimension");
  const auto d = static_cast<std::size_t>(detail::wrap_dim("gather", dim, x.dim()));
  check_gather("gather", x, d, index);
  Tensor out = detail::new_tensor(index.shape(), x.dtype());
  detail::dispatch_all(x.dtype(), [&]<class T>() {
    const T* px = static_cast<const T*>(x.impl()->storage->data);
    T* o = out.impl()->data<T>();
    walk_gather("gather", x, d, index, [&](std::int64_t pos, std::int64_t off) { o[pos] = px[off]; });
  });
  if (!detail::any_requires_grad({&x})) return out;
  auto* n = detail::make_node<GatherNode>(static_cast<std::int64_t>(d));
  n->add_input(x);
  n->save(index);
  n->finish(out);
  return out;
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  detail::check_same_dtype("scatter_add", x, src);
  detail::check_floating("scatter_add", x);
  if (x.dim() == 0) throw IndexError("scatter_add: x must have at least 1 dimension");
  const auto d = static_cast<std::size_t>(detail::wrap_dim("scatter_add", dim, x.dim()));
  check_gather("scatter_add", x, d, index);
  if (src.shape() != index.shape()) {
    throw ShapeError("scatter_add: src " + detail::label_prefix(src) + "of shape " + shape_str(src.shape()) +
                     " must have the index's shape " + detail::operand_str(index));
  }
  Tensor out = detail::copy_contiguous(x);
  const Tensor s = detail::copy_contiguous(src);
  detail::dispatch_float(x.dtype(), "scatter_add", [&]<class T>() {
    T* po = static_cast<T*>(out.impl()->storage->data);
    const T* ps = s.impl()->data<T>();
    walk_gather("scatter_add", out, d, index, [&](std::int64_t pos, std::int64_t off) { po[off] += ps[pos]; });
  });
  if (!detail::any_requires_grad({&x, &src})) return out;
  auto* n = detail::make_node<ScatterAddNode>(static_cast<std::int64_t>(d));
  n->add_input(x);
  n->add_input(src);
  n->save(index);
  n->finish(out);
  return out;
}

Tensor one_hot(const Tensor& index, std::int64_t num_classes, Dtype dtype) {
  detail::check_index_dtype("one_hot", index);
  const std::vector<std::int64_t> v = index.to_vector<std::int64_t>();
  std::int64_t c = num_classes;
  if (c < 0) {
    if (v.empty()) throw ValueError("one_hot: cannot infer the number of classes from an empty tensor");
    c = *std::max_element(v.begin(), v.end()) + 1;
  }
  Shape shape = index.shape();
  shape.push_back(c);
  Tensor out = zeros(shape, {.dtype = dtype});
  detail::dispatch_all(dtype, [&]<class T>() {
    T* o = out.impl()->data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] < 0 || v[i] >= c) {
        std::ostringstream os;
        os << "one_hot: class index " << v[i] << " is out of range for " << c << " classes";
        throw IndexError(os.str());
      }
      o[static_cast<std::int64_t>(i) * c + v[i]] = T(1);
    }
  });
  return out;
}

}  // namespace tg
