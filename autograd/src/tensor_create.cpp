// Tensor creation: constants, ranges, identity, from C++ data, and random tensors from tg::Generator.
#include <cmath>
#include <cstring>
#include <sstream>

#include "ops/kernels.hpp"
#include "tapegrad/tensor.hpp"

namespace tg {

namespace {

Tensor finish(Tensor t, const TensorOptions& opts) {
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}

// Fills t (contiguous, fresh) with f(i) for each flat index i, converted to its dtype.
template <class F>
void fill_with(Tensor& t, F f) {
  detail::dispatch_all(t.dtype(), [&]<class T>() {
    T* p = t.impl()->data<T>();
    const std::int64_t n = t.numel();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(i));
  });
}

Generator& gen_or_default(Generator* g) { return g != nullptr ? *g : default_generator(); }

}  // namespace

Tensor empty(const Shape& shape, TensorOptions opts) {
  return finish(detail::empty_impl(shape, opts.dtype), opts);
}

Tensor zeros(const Shape& shape, TensorOptions opts) {
  Tensor t = detail::empty_impl(shape, opts.dtype);
  if (t.numel() > 0) {
    std::memset(t.impl()->storage->data, 0, static_cast<std::size_t>(t.numel()) * dtype_size(opts.dtype));
  }
  return finish(std::move(t), opts);
}

Tensor ones(const Shape& shape, TensorOptions opts) { return full(shape, 1.0, opts); }

Tensor full(const Shape& shape, double v, TensorOptions opts) {
  Tensor t = detail::empty_impl(shape, opts.dtype);
  detail::dispatch_all(opts.dtype, [&]<class T>() {
    T* p = t.impl()->data<T>();
    const T c = static_cast<T>(v);
    const std::int64_t n = t.numel();
    for (std::int64_t i = 0; i < n; ++i) p[i] = c;
  });
  return finish(std::move(t), opts);
}

Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {.dtype = t.dtype()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {.dtype = t.dtype()}); }
Tensor full_like(const Tensor& t, double v) { return full(t.shape(), v, {.dtype = t.dtype()}); }

Tensor arange(double start, double end, double step, TensorOptions opts) {
  if (step == 0.0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(end)) {
    std::ostringstream os;
    os << "arange: start, end and step must be finite and step nonzero, got " << start << ", " << end
       << ", " << step;
    throw ValueError(os.str());
  }
  const double count = std::ceil((end - start) / step);
  if (count > 9.0e15) {
    std::ostringstream os;
    os << "arange: " << count << " elements are too many";
    throw ValueError(os.str());
  }
  const auto n = static_cast<std::int64_t>(count > 0 ? count : 0);
  Tensor t = detail::empty_impl({n}, opts.dtype);
  fill_with(t, [&](std::int64_t i) { return start + static_cast<double>(i) * step; });
  return finish(std::move(t), opts);
}

Tensor arange(double end, TensorOptions opts) { return arange(0.0, end, 1.0, opts); }

Tensor linspace(double start, double end, std::int64_t n, TensorOptions opts) {
  if (n < 0) throw ValueError("linspace: the number of points must be >= 0, got " + std::to_string(n));
  Tensor t = detail::empty_impl({n}, opts.dtype);
  const double step = n > 1 ? (end - start) / static_cast<double>(n - 1) : 0.0;
  // The second half counts back from `end`, so both endpoints are exact.
  fill_with(t, [&](std::int64_t i) {
    if (n == 1) return start;
    return i < n / 2 ? start + step * static_cast<double>(i) : end - step * static_cast<double>(n - 1 - i);
  });
  return finish(std::move(t), opts);
}

Tensor eye(std::int64_t n, TensorOptions opts) {
  if (n < 0) throw ValueError("eye: size must be >= 0, got " + std::to_string(n));
  Tensor t = detail::empty_impl({n, n}, opts.dtype);
  fill_with(t, [&](std::int64_t i) { return i / n == i % n ? 1.0 : 0.0; });
  return finish(std::move(t), opts);
}

namespace {

template <class S>
Tensor from_values(std::span<const S> values, const Shape& shape, TensorOptions opts) {
  const std::int64_t n = detail::shape_numel(shape);
  if (n != static_cast<std::int64_t>(values.size())) {
    std::ostringstream os;
    os << "tensor: " << values.size() << " values do not fill shape " << shape_str(shape) << " (" << n
       << " elements)";
    throw ShapeError(os.str());
  }
  Tensor t = detail::empty_impl(shape, opts.dtype);
  fill_with(t, [&](std::int64_t i) { return values[static_cast<std::size_t>(i)]; });
  return finish(std::move(t), opts);
}

}  // namespace

Tensor tensor(std::span<const double> values, const Shape& shape, TensorOptions opts) {
  return from_values(values, shape, opts);
}
Tensor tensor(std::span<const float> values, const Shape& shape, TensorOptions opts) {
  return from_values(values, shape, opts);
}
Tensor tensor(std::span<const std::int64_t> values, const Shape& shape, TensorOptions opts) {
  return from_values(values, shape, opts);
}

Tensor tensor(std::initializer_list<double> values, TensorOptions opts) {
  return from_values(std::span<const double>(values.begin(), values.size()),
                     {static_cast<std::int64_t>(values.size())}, opts);
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions opts) {
  std::vector<double> flat;
  const std::size_t cols = rows.size() ? rows.begin()->size() : 0;
  for (const auto& r : rows) {
    if (r.size() != cols) {
      throw ShapeError("tensor: nested lists must have equal lengths, got rows of " + std::to_string(cols) +
                       " and " + std::to_string(r.size()) + " elements");
    }
    flat.insert(flat.end(), r.begin(), r.end());
  }
  return from_values(std::span<const double>(flat),
                     {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(cols)}, opts);
}

Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> values,
              TensorOptions opts) {
  std::vector<double> flat;
  const std::size_t rows = values.size() ? values.begin()->size() : 0;
  const std::size_t cols = rows ? values.begin()->begin()->size() : 0;
  for (const auto& m : values) {
    if (m.size() != rows) throw ShapeError("tensor: nested lists must have equal lengths");
    for (const auto& r : m) {
      if (r.size() != cols) throw ShapeError("tensor: nested lists must have equal lengths");
      flat.insert(flat.end(), r.begin(), r.end());
    }
  }
  return from_values(std::span<const double>(flat),
                     {static_cast<std::int64_t>(values.size()), static_cast<std::int64_t>(rows),
                      static_cast<std::int64_t>(cols)},
                     opts);
}

Tensor scalar_tensor(double v, TensorOptions opts) { return full({}, v, opts); }

// Random tensors draw doubles and convert, so float32 and float64 tensors from the same seed agree.
Tensor rand(const Shape& shape, TensorOptions opts, Generator* gen) {
  return uniform(shape, 0.0, 1.0, opts, gen);
}

Tensor randn(const Shape& shape, TensorOptions opts, Generator* gen) {
  return normal(shape, 0.0, 1.0, opts, gen);
}

Tensor uniform(const Shape& shape, double lo, double hi, TensorOptions opts, Generator* gen) {
  if (!(lo <= hi)) {
    std::ostringstream os;
    os << "uniform: expected lo <= hi, got " << lo << " and " << hi;
    throw ValueError(os.str());
  }
  Generator& g = gen_or_default(gen);
  Tensor t = detail::empty_impl(shape, opts.dtype);
  fill_with(t, [&](std::int64_t) { return g.uniform(lo, hi); });
  return finish(std::move(t), opts);
}

Tensor normal(const Shape& shape, double mean, double std, TensorOptions opts, Generator* gen) {
  if (!(std >= 0.0)) {
    std::ostringstream os;
    os << "normal: the standard deviation must be >= 0, got " << std;
    throw ValueError(os.str());
  }
  Generator& g = gen_or_default(gen);
  Tensor t = detail::empty_impl(shape, opts.dtype);
  fill_with(t, [&](std::int64_t) { return g.normal(mean, std); });
  return finish(std::move(t), opts);
}

Tensor bernoulli(const Shape& shape, double p, TensorOptions opts, Generator* gen) {
  if (!(p >= 0.0 && p <= 1.0)) {
    std::ostringstream os;
    os << "bernoulli: the probability must lie in [0, 1], got " << p;
    throw ValueError(os.str());
  }
  Generator& g = gen_or_default(gen);
  Tensor t = detail::empty_impl(shape, opts.dtype);
  fill_with(t, [&](std::int64_t) { return g.bernoulli(p) ? 1.0 : 0.0; });
  return finish(std::move(t), opts);
}

Tensor randint(std::int64_t lo, std::int64_t hi, const Shape& shape, TensorOptions opts, Generator* gen) {
  if (lo >= hi) {
    throw ValueError("randint: expected lo < hi, got " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  Generator& g = gen_or_default(gen);
  Tensor t = detail::empty_impl(shape, opts.dtype);
  const auto range = static_cast<std::uint64_t>(hi - lo);
  fill_with(t, [&](std::int64_t) { return lo + static_cast<std::int64_t>(g.below(range)); });
  return finish(std::move(t), opts);
}

}  // namespace tg
