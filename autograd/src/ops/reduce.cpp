// Reductions over any set of axes with keepdim: sum, mean, amax/amin, var/std, argmax/argmin.
#include <cmath>
#include <limits>
#include <sstream>

#include "kernels.hpp"

namespace tg {

namespace {

// Which dims are reduced, and the result's shape with and without the reduced dims kept as size 1.
struct Reduction {
  boost::container::small_vector<bool, 6> reduced;
  Shape keep;
  Shape out;
  std::int64_t count = 1;  // elements folded into each result
};

Reduction plan(const char* op, const Tensor& x, const Shape& dims, bool keepdim) {
  detail::check_defined(op, x);
  Reduction r;
  const std::int64_t nd = x.dim();
  r.reduced.assign(static_cast<std::size_t>(nd), dims.empty());
  for (std::int64_t d : dims) {
    const std::int64_t w = detail::wrap_dim(op, d, nd);
    if (nd == 0) continue;
    if (r.reduced[static_cast<std::size_t>(w)]) {
      std::ostringstream os;
      os << op << ": dimension " << d << " appears more than once in the reduction dims";
      throw IndexError(os.str());
    }
    r.reduced[static_cast<std::size_t>(w)] = true;
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(nd); ++i) {
    const std::int64_t s = x.shape()[i];
    r.keep.push_back(r.reduced[i] ? 1 : s);
    if (r.reduced[i]) {
      r.count *= s;
    } else {
      r.out.push_back(s);
    }
  }
  if (keepdim) r.out = r.keep;
  return r;
}

// Strides into the keepdim-shaped result for each input dim (0 on reduced dims).
Shape result_strides(const Reduction& r) {
  Shape s = detail::contiguous_strides(r.keep);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (r.reduced[i]) s[i] = 0;
  }
  return s;
}

// out[j] = fold over the reduced elements of x, starting from init.
template <class T, class F>
Tensor fold(const Tensor& x, const Reduction& r, T init, F f) {
  Tensor out = detail::new_tensor(r.out, x.dtype());
  T* o = out.impl()->data<T>();
  const std::int64_t n = out.numel();
  const T* px = x.impl()->data<T>();
  if (n == 1 && x.is_contiguous()) {
    T acc = init;
    for (std::int64_t i = 0; i < x.numel(); ++i) acc = f(acc, px[i]);
    o[0] = acc;
    return out;
  }
  for (std::int64_t i = 0; i < n; ++i) o[i] = init;
  const Shape rs = result_strides(r);
  detail::for_each_run<2>(x.shape(), {&x.strides(), &rs}, [&](const auto& off, const auto& in, std::int64_t m) {
    const T* p = px + off[0];
    T* q = o + off[1];
    if (in[1] == 0) {
      T acc = *q;
      for (std::int64_t j = 0; j < m; ++j) acc = f(acc, p[j * in[0]]);
      *q = acc;
    } else {
      for (std::int64_t j = 0; j < m; ++j) q[j * in[1]] = f(q[j * in[1]], p[j * in[0]]);
    }
  });
  return out;
}

// d Σx = g broadcast back over the reduced dims
class SumNode final : public TensorNode {
 public:
  SumNode(const Shape& keep, std::uint64_t mask) : keep_(keep), mask_(mask) {}
  const char* name() const override { return "sum"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Shape& in = input(0).shape;
    if (creating() || in.size() > 64) {
      push(0, expand(reshape(g, keep_), in));
      return;
    }
    // The same broadcast as one stride-0 view of g (mask_ marks the reduced dims).
    Shape st(in.size(), 0);
    const bool aligned = g.shape().size() == in.size();
    std::size_t j = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if ((mask_ >> i) & 1u) {
        j += aligned ? 1 : 0;
      } else {
        st[i] = g.strides()[j++];
      }
    }
    push(0, detail::make_view(g, in, st, g.storage_offset()));
  }

 private:
  Shape keep_;
  std::uint64_t mask_;
};

// d max = g shared equally among the elements equal to the maximum (as PyTorch's amax)
class ExtremumNode final : public TensorNode {
 public:
  ExtremumNode(const Shape& keep, const Shape& dims, bool is_max) : keep_(keep), dims_(dims), max_(is_max) {}
  const char* name() const override { return max_ ? "amax" : "amin"; }

 protected:
  void apply(BackwardContext&, const Tensor& g) override {
    const Tensor& x = saved(0);
    const Tensor y = reshape(saved(1), keep_);
    const Tensor mask = eq(x, y).to(x.dtype());
    const Tensor count = sum(mask, dims_, true);
    push(0, reshape(g, keep_) * mask / count);
  }

 private:
  Shape keep_;
  Shape dims_;
  bool max_;
};

Tensor extremum(const char* op, const Tensor& x, const Shape& dims, bool keepdim, bool is_max) {
  detail::check_floating(op, x);
  const Reduction r = plan(op, x, dims, keepdim);
  if (x.numel() == 0) {
    throw IndexError(std::string(op) + ": cannot reduce a tensor with 0 elements (shape " +
                     detail::operand_str(x) + "); the result would have no value");
  }
  Tensor out = detail::dispatch_float(x.dtype(), op, [&]<class T>() {
    const T inf = std::numeric_limits<T>::infinity();
    if (is_max) {
      return fold<T>(x, r, -inf, [](T a, T b) { return (b > a || b != b) ? b : a; });
    }
    return fold<T>(x, r, inf, [](T a, T b) { return (b < a || b != b) ? b : a; });
  });
  if (!detail::any_requires_grad({&x})) return out;
  Shape all_dims;
  for (std::size_t i = 0; i < r.reduced.size(); ++i) {
    if (r.reduced[i]) all_dims.push_back(static_cast<std::int64_t>(i));
  }
  auto* n = detail::make_node<ExtremumNode>(r.keep, all_dims, is_max);
  n->add_input(x);
  n->save(x);
  n->save(out);
  n->finish(out);
  return out;
}

Tensor arg_extremum(const char* op, const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
  detail::check_defined(op, x);
  const std::int64_t nd = x.dim();
  const auto d = static_cast<std::size_t>(detail::wrap_dim(op, dim, nd));
  // As PyTorch: only the reduced dim must be non-empty; [0, 3] along dim 1 gives an empty [0] result.
  if (nd > 0 && x.shape()[d] == 0) {
    throw IndexError(std::string(op) + ": cannot reduce an empty dimension (shape " + detail::operand_str(x) + ")");
  }
  Shape rest;
  Shape rest_strides;
  Shape keep;
  for (std::size_t i = 0; i < static_cast<std::size_t>(nd); ++i) {
    keep.push_back(i == d ? 1 : x.shape()[i]);
    if (i != d) {
      rest.push_back(x.shape()[i]);
      rest_strides.push_back(x.strides()[i]);
    }
  }
  const std::int64_t len = nd == 0 ? 1 : x.shape()[d];
  const std::int64_t step = nd == 0 ? 0 : x.strides()[d];
  Tensor out = detail::new_tensor(keepdim ? keep : rest, kInt64);
  std::int64_t* o = out.impl()->data<std::int64_t>();
  detail::dispatch_all(x.dtype(), [&]<class T>() {
    const T* px = x.impl()->data<T>();
    detail::for_each_run<1>(rest, {&rest_strides}, [&](const auto& off, const auto& in, std::int64_t m) {
      for (std::int64_t j = 0; j < m; ++j) {
        const T* p = px + off[0] + j * in[0];
        std::int64_t best = 0;
        for (std::int64_t k = 1; k < len; ++k) {
          const T v = p[k * step];
          const T b = p[best * step];
          if (b != b) break;
          if (v != v || (is_max ? v > b : v < b)) best = k;
        }
        *o++ = best;
      }
    });
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  detail::check_floating("sum", x);
  const std::size_t nd = x.shape().size();
  if (dims.empty() && !keepdim && x.is_contiguous() && nd < 64) {
    // The sum of everything (a loss): no reduction plan, the same additions in the same order as fold().
    Tensor out = detail::new_tensor({}, x.dtype());
    detail::dispatch_float(x.dtype(), "sum", [&]<class T>() {
      const T* px = x.impl()->data<T>();
      T acc = T(0);
      for (std::int64_t i = 0; i < x.numel(); ++i) acc = acc + px[i];
      *out.impl()->data<T>() = acc;
    });
    if (!detail::any_requires_grad({&x})) return out;
    auto* n = detail::make_node<SumNode>(Shape(nd, 1), (std::uint64_t{1} << nd) - 1);
    n->add_input(x);
    n->finish(out);
    return out;
  }
  const Reduction r = plan("sum", x, dims, keepdim);
  Tensor out = detail::dispatch_float(x.dtype(), "sum", [&]<class T>() {
    return fold<T>(x, r, T(0), [](T a, T b) { return a + b; });
  });
  if (!detail::any_requires_grad({&x})) return out;
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < r.reduced.size() && i < 64; ++i) mask |= std::uint64_t{r.reduced[i]} << i;
  auto* n = detail::make_node<SumNode>(r.keep, mask);
  n->add_input(x);
  n->finish(out);
  return out;
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  const Reduction r = plan("mean", x, dims, keepdim);
  return sum(x, dims, keepdim) * (1.0 / static_cast<double>(r.count));
}

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) { return extremum("amax", x, dims, keepdim, true); }
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) { return extremum("amin", x, dims, keepdim, false); }

// Composite: Σ (x - mean)² / (N - correction); the gradient comes from the parts.
Tensor var(const Tensor& x, const Shape& dims, std::int64_t correction, bool keepdim) {
  const Reduction r = plan("var", x, dims, keepdim);
  const Tensor centered = x - mean(x, dims, true);
  const double denom = static_cast<double>(r.count - correction);
  return sum(centered * centered, dims, keepdim) * (1.0 / std::max(denom, 0.0));
}

Tensor std(const Tensor& x, const Shape& dims, std::int64_t correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extremum("argmax", x, dim, keepdim, true); }
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extremum("argmin", x, dim, keepdim, false); }
Tensor argmax(const Tensor& x) {
  detail::check_defined("argmax", x);
  return arg_extremum("argmax", reshape(x.detach(), {-1}), 0, false, true);
}
Tensor argmin(const Tensor& x) {
  detail::check_defined("argmin", x);
  return arg_extremum("argmin", reshape(x.detach(), {-1}), 0, false, false);
}

Tensor Tensor::sum() const { return tg::sum(*this); }
Tensor Tensor::sum(std::int64_t dim, bool keepdim) const { return tg::sum(*this, {dim}, keepdim); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return tg::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return tg::mean(*this); }
Tensor Tensor::mean(std::int64_t dim, bool keepdim) const { return tg::mean(*this, {dim}, keepdim); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return tg::mean(*this, dims, keepdim); }
Tensor Tensor::max() const { return tg::amax(*this); }
Tensor Tensor::max(std::int64_t dim, bool keepdim) const { return tg::amax(*this, {dim}, keepdim); }
Tensor Tensor::min() const { return tg::amin(*this); }
Tensor Tensor::min(std::int64_t dim, bool keepdim) const { return tg::amin(*this, {dim}, keepdim); }
Tensor Tensor::argmax() const { return tg::argmax(*this); }
Tensor Tensor::argmax(std::int64_t dim, bool keepdim) const { return tg::argmax(*this, dim, keepdim); }
Tensor Tensor::argmin() const { return tg::argmin(*this); }
Tensor Tensor::argmin(std::int64_t dim, bool keepdim) const { return tg::argmin(*this, dim, keepdim); }

}  // namespace tg
