// libFuzzer target for the tensor ops: the input bytes describe a few float64 leaves and a short program
// of ops on them (broadcast arithmetic, unary math, reductions, matmul, reshape/transpose/slice, softmax,
// log_softmax). Each op must either match a float64 reference computed here in plain loops, or throw the
// tg::Error subclass its documentation names; then the gradient of a weighted sum of the last result must
// match central differences of the same reference program. Anything else aborts (a finding).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace {

using Dims = std::vector<std::int64_t>;

// A reference array: row-major values and a bound on the magnitude of the terms each value sums, so
// that comparisons allow for rounding in sums and products.
struct Arr {
  Dims shape;
  std::vector<double> v;
  double scale = 1;
};

enum class Err { None, Shape, Index, Value };

struct Step {
  int op = 0;
  int a = 0;
  int b = 0;
  std::int64_t i0 = 0;
  std::int64_t i1 = 0;
  std::int64_t i2 = 0;
  std::int64_t i3 = 0;
  Dims dims;
};

[[noreturn]] void fail(const char* what, int op) {
  std::fprintf(stderr, "fuzz_tensor_ops: %s (op %d)\n", what, op);
  std::abort();
}

std::int64_t numel(const Dims& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Dims strides_of(const Dims& s) {
  Dims st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Multi-index of flat position i in shape s.
Dims unravel(std::int64_t i, const Dims& s) {
  Dims idx(s.size(), 0);
  for (std::size_t k = s.size(); k-- > 0;) {
    idx[k] = i % s[k];
    i /= s[k];
  }
  return idx;
}

// Flat position in shape s of the index `out` taken in a broadcast shape (trailing alignment).
std::int64_t bcast_pos(const Dims& out, const Dims& s) {
  const Dims st = strides_of(s);
  std::int64_t p = 0;
  const std::size_t lead = out.size() - s.size();
  for (std::size_t k = 0; k < s.size(); ++k) p += (s[k] == 1 ? 0 : out[lead + k]) * st[k];
  return p;
}

std::optional<Dims> broadcast(const Dims& a, const Dims& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Dims out(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Wraps an axis as the library documents: ndim 0 accepts -1 and 0.
std::optional<std::int64_t> wrap(std::int64_t d, std::int64_t nd) {
  const std::int64_t lo = nd == 0 ? -1 : -nd;
  const std::int64_t hi = nd == 0 ? 0 : nd - 1;
  if (d < lo || d > hi) return std::nullopt;
  return d < 0 ? d + std::max<std::int64_t>(nd, 1) : d;
}

double maxabs(const Arr& x) {
  double m = 0;
  for (double v : x.v) m = std::max(m, std::fabs(v));
  return m;
}

Arr elementwise(const Arr& a, const Arr& b, const Dims& out, int op) {
  Arr r{out, std::vector<double>(static_cast<std::size_t>(numel(out))), 1};
  for (std::int64_t i = 0; i < numel(out); ++i) {
    const Dims idx = unravel(i, out);
    const double x = a.v[static_cast<std::size_t>(bcast_pos(idx, a.shape))];
    const double y = b.v[static_cast<std::size_t>(bcast_pos(idx, b.shape))];
    double z = 0;
    if (op == 0) z = x + y;
    if (op == 1) z = x - y;
    if (op == 2) z = x * y;
    if (op == 3) z = x / y;
    r.v[static_cast<std::size_t>(i)] = z;
  }
  r.scale = op <= 1 ? maxabs(a) + maxabs(b) : 1;
  return r;
}

// Reduces dim d (all dims when d is empty): kind 0 sum, 1 mean, 2 max.
Arr reduce(const Arr& x, std::optional<std::int64_t> d, bool keep, int kind) {
  Dims out;
  for (std::size_t k = 0; k < x.shape.size(); ++k) {
    const bool red = !d || static_cast<std::int64_t>(k) == *d;
    if (!red) out.push_back(x.shape[k]);
    else if (keep) out.push_back(1);
  }
  const std::int64_t n = numel(out);
  std::vector<double> acc(static_cast<std::size_t>(n), kind == 2 ? -INFINITY : 0.0);
  std::vector<std::int64_t> cnt(static_cast<std::size_t>(n), 0);
  for (std::int64_t i = 0; i < numel(x.shape); ++i) {
    const Dims idx = unravel(i, x.shape);
    std::int64_t p = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) {
      const bool red = !d || static_cast<std::int64_t>(k) == *d;
      if (!red) p = p * x.shape[k] + idx[k];
    }
    const double v = x.v[static_cast<std::size_t>(i)];
    double& a = acc[static_cast<std::size_t>(p)];
    a = kind == 2 ? (v > a || std::isnan(v) ? v : a) : a + v;
    ++cnt[static_cast<std::size_t>(p)];
  }
  if (kind == 1) {
    for (std::size_t i = 0; i < acc.size(); ++i) acc[i] /= static_cast<double>(cnt[i]);
  }
  return Arr{out, acc, kind == 2 ? 1 : maxabs(x) * static_cast<double>(std::max<std::int64_t>(numel(x.shape), 1))};
}

std::optional<Arr> matmul(const Arr& a, const Arr& b) {
  if (a.shape.empty() || b.shape.empty()) return std::nullopt;
  Dims as = a.shape;
  Dims bs = b.shape;
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const std::int64_t m = as[as.size() - 2];
  const std::int64_t k = as.back();
  const std::int64_t n = bs.back();
  if (bs[bs.size() - 2] != k) return std::nullopt;
  const Dims ba(as.begin(), as.end() - 2);
  const Dims bb(bs.begin(), bs.end() - 2);
  const auto batch = broadcast(ba, bb);
  if (!batch) return std::nullopt;
  Dims full = *batch;
  full.push_back(m);
  full.push_back(n);
  Arr r{{}, std::vector<double>(static_cast<std::size_t>(numel(full))), maxabs(a) * maxabs(b) * double(k + 1)};
  for (std::int64_t i = 0; i < numel(full); ++i) {
    const Dims idx = unravel(i, full);
    Dims ia(idx.begin(), idx.end() - 2);
    Dims ib = ia;
    ia.push_back(idx[idx.size() - 2]);
    ia.push_back(0);
    ib.push_back(0);
    ib.push_back(idx.back());
    double s = 0;
    for (std::int64_t t = 0; t < k; ++t) {
      ia.back() = t;
      ib[ib.size() - 2] = t;
      s += a.v[static_cast<std::size_t>(bcast_pos(ia, as))] * b.v[static_cast<std::size_t>(bcast_pos(ib, bs))];
    }
    r.v[static_cast<std::size_t>(i)] = s;
  }
  r.shape = *batch;
  if (a.shape.size() > 1) r.shape.push_back(m);
  if (b.shape.size() > 1) r.shape.push_back(n);
  return r;
}

Arr permuted(const Arr& x, std::size_t d0, std::size_t d1) {
  Dims out = x.shape;
  std::swap(out[d0], out[d1]);
  Arr r{out, std::vector<double>(x.v.size()), 1};
  const Dims st = strides_of(x.shape);
  for (std::int64_t i = 0; i < numel(out); ++i) {
    Dims idx = unravel(i, out);
    std::swap(idx[d0], idx[d1]);
    std::int64_t p = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) p += idx[k] * st[k];
    r.v[static_cast<std::size_t>(i)] = x.v[static_cast<std::size_t>(p)];
  }
  return r;
}

Arr sliced(const Arr& x, std::size_t d, std::int64_t start, std::int64_t end, std::int64_t step) {
  const std::int64_t n = x.shape[d];
  auto clampi = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
  const std::int64_t s = clampi(start);
  const std::int64_t e = std::max(clampi(end), s);
  Dims out = x.shape;
  out[d] = (e - s + step - 1) / step;
  Arr r{out, std::vector<double>(static_cast<std::size_t>(numel(out))), 1};
  const Dims st = strides_of(x.shape);
  for (std::int64_t i = 0; i < numel(out); ++i) {
    Dims idx = unravel(i, out);
    idx[d] = s + idx[d] * step;
    std::int64_t p = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) p += idx[k] * st[k];
    r.v[static_cast<std::size_t>(i)] = x.v[static_cast<std::size_t>(p)];
  }
  return r;
}

Arr softmax(const Arr& x, std::size_t d, bool log_form) {
  Arr r{x.shape, x.v, 1};
  if (x.v.empty()) return r;
  const std::int64_t len = x.shape.empty() ? 1 : x.shape[d];
  const std::int64_t stride = x.shape.empty() ? 1 : strides_of(x.shape)[d];
  for (std::int64_t i = 0; i < numel(x.shape); ++i) {
    if (!x.shape.empty() && unravel(i, x.shape)[d] != 0) continue;
    double m = -INFINITY;
    for (std::int64_t j = 0; j < len; ++j) m = std::max(m, x.v[static_cast<std::size_t>(i + j * stride)]);
    double total = 0;
    for (std::int64_t j = 0; j < len; ++j) total += std::exp(x.v[static_cast<std::size_t>(i + j * stride)] - m);
    for (std::int64_t j = 0; j < len; ++j) {
      const double z = x.v[static_cast<std::size_t>(i + j * stride)] - m;
      r.v[static_cast<std::size_t>(i + j * stride)] = log_form ? z - std::log(total) : std::exp(z) / total;
    }
  }
  r.scale = log_form ? maxabs(x) + 1 : 1;
  return r;
}

// The reference of one step; `err` tells which error the library must throw instead. `smooth` is cleared
// when the op is not differentiable near these values (ties, kinks, poles), so that central differences
// would not be a fair truth.
std::optional<Arr> reference(const Step& s, const Arr& a, const Arr& b, Err& err, bool& smooth) {
  const auto nd = static_cast<std::int64_t>(a.shape.size());
  err = Err::None;
  auto unary = [&](auto f) {
    Arr r{a.shape, a.v, 1};
    for (double& v : r.v) v = f(v);
    return r;
  };
  switch (s.op) {
    case 0: case 1: case 2: case 3: {
      const auto out = broadcast(a.shape, b.shape);
      if (!out) break;
      if (s.op == 3) {
        for (double v : b.v) smooth = smooth && std::fabs(v) > 0.25;
      }
      return elementwise(a, b, *out, s.op);
    }
    case 4: return unary([](double v) { return -v; });
    case 5: return unary([](double v) { return std::exp(v); });
    case 6: return unary([](double v) { return std::tanh(v); });
    case 7: return unary([](double v) { return 1 / (1 + std::exp(-v)); });
    case 8: return unary([](double v) { return v * v; });
    case 9:
      for (double v : a.v) smooth = smooth && std::fabs(v) > 1e-3;
      return unary([](double v) { return v > 0 ? v : 0.0; });
    case 10: case 11: case 12: {
      std::optional<std::int64_t> d;
      if (s.i0 >= -4) {
        d = wrap(s.i0, nd);
        if (!d) { err = Err::Index; return std::nullopt; }
        if (nd == 0) d.reset();
      }
      if (s.op == 12) {
        if (a.v.empty()) { err = Err::Index; return std::nullopt; }
        smooth = false;  // ties among small-integer inputs are common
      }
      return reduce(a, d, s.i1 != 0, s.op - 10);
    }
    case 13: {
      auto r = matmul(a, b);
      if (!r) err = Err::Shape;
      return r;
    }
    case 14: {
      int infer = -1;
      std::int64_t known = 1;
      for (std::size_t i = 0; i < s.dims.size(); ++i) {
        if (s.dims[i] != -1) known *= s.dims[i];
        else if (infer >= 0) { err = Err::Shape; return std::nullopt; }  // only one size may be -1
        else infer = static_cast<int>(i);
      }
      Dims out = s.dims;
      if (infer >= 0 && known != 0 && numel(a.shape) % known == 0) out[static_cast<std::size_t>(infer)] = numel(a.shape) / known;
      if (numel(out) != numel(a.shape) || (infer >= 0 && known == 0)) break;
      return Arr{out, a.v, 1};
    }
    case 15: {
      // A 0-d tensor is its own transpose, and accepts dims -1 and 0 only (as PyTorch).
      if (nd == 0) {
        if (s.i0 < -1 || s.i0 > 0 || s.i1 < -1 || s.i1 > 0) { err = Err::Index; return std::nullopt; }
        return a;
      }
      const auto d0 = wrap(s.i0, nd);
      const auto d1 = wrap(s.i1, nd);
      if (!d0 || !d1) { err = Err::Index; return std::nullopt; }
      return permuted(a, static_cast<std::size_t>(*d0), static_cast<std::size_t>(*d1));
    }
    case 16: {
      if (nd == 0) { err = Err::Index; return std::nullopt; }
      if (s.i3 <= 0) { err = Err::Value; return std::nullopt; }
      const auto d = wrap(s.i0, nd);
      if (!d) { err = Err::Index; return std::nullopt; }
      return sliced(a, static_cast<std::size_t>(*d), s.i1, s.i2, s.i3);
    }
    case 17: case 18: {
      const auto d = wrap(s.i0, nd);
      if (!d) { err = Err::Index; return std::nullopt; }
      return softmax(a, static_cast<std::size_t>(*d), s.op == 18);
    }
    default: break;
  }
  err = Err::Shape;
  return std::nullopt;
}

tg::Tensor run_op(const Step& s, const tg::Tensor& a, const tg::Tensor& b) {
  switch (s.op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return -a;
    case 5: return tg::exp(a);
    case 6: return tg::tanh(a);
    case 7: return tg::sigmoid(a);
    case 8: return tg::square(a);
    case 9: return tg::relu(a);
    case 10: case 11: case 12: {
      const tg::Shape dims = s.i0 >= -4 ? tg::Shape{s.i0} : tg::Shape{};
      if (s.op == 10) return tg::sum(a, dims, s.i1 != 0);
      if (s.op == 11) return tg::mean(a, dims, s.i1 != 0);
      return tg::amax(a, dims, s.i1 != 0);
    }
    case 13: return tg::matmul(a, b);
    case 14: return tg::reshape(a, tg::Shape(s.dims.begin(), s.dims.end()));
    case 15: return tg::transpose(a, s.i0, s.i1);
    case 16: return tg::slice(a, s.i0, s.i1, s.i2, s.i3);
    case 17: return tg::softmax(a, s.i0);
    default: return tg::log_softmax(a, s.i0);
  }
}

Arr to_arr(const tg::Tensor& t) {
  return Arr{Dims(t.shape().begin(), t.shape().end()), t.to_vector<double>(), 1};
}

bool all_finite(const Arr& x) {
  return std::all_of(x.v.begin(), x.v.end(), [](double v) { return std::isfinite(v); });
}

void compare(const tg::Tensor& got, const Arr& want, int op) {
  if (Dims(got.shape().begin(), got.shape().end()) != want.shape) fail("shape differs from the reference", op);
  const std::vector<double> g = got.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double w = want.v[i];
    if (std::isnan(w) != std::isnan(g[i])) fail("NaN where the reference has none (or the reverse)", op);
    if (std::isnan(w) || g[i] == w) continue;
    if (std::fabs(g[i] - w) > 1e-10 * (std::fabs(w) + want.scale) + 1e-300) fail("value differs from the reference", op);
  }
}

struct Program {
  std::vector<Arr> inputs;
  std::vector<Step> steps;
};

Dims read_shape(FuzzedDataProvider& fdp, const std::vector<Arr>& previous) {
  const int mode = fdp.ConsumeIntegralInRange(0, 3);
  if (mode == 0 || previous.empty()) {
    Dims s(static_cast<std::size_t>(fdp.ConsumeIntegralInRange(0, 3)));
    for (auto& d : s) d = fdp.ConsumeIntegralInRange(0, 4);
    return s;
  }
  Dims s = previous.back().shape;  // a related shape, so that broadcasting and matmul often fit
  if (mode == 1 && !s.empty()) s[fdp.ConsumeIntegralInRange<std::size_t>(0, s.size() - 1)] = 1;
  if (mode == 2 && s.size() >= 2) std::swap(s[s.size() - 1], s[s.size() - 2]);
  if (mode == 3 && !s.empty()) s.erase(s.begin());
  return s;
}

Program parse(FuzzedDataProvider& fdp) {
  Program p;
  const int n_inputs = fdp.ConsumeIntegralInRange(1, 3);
  for (int i = 0; i < n_inputs; ++i) {
    Arr x;
    x.shape = read_shape(fdp, p.inputs);
    x.v.resize(static_cast<std::size_t>(numel(x.shape)));
    for (double& v : x.v) v = fdp.ConsumeIntegral<std::int8_t>() / 40.0;
    p.inputs.push_back(std::move(x));
  }
  const int n_steps = fdp.ConsumeIntegralInRange(1, 6);
  for (int k = 0; k < n_steps && fdp.remaining_bytes() > 0; ++k) {
    Step s;
    const auto pool = static_cast<int>(p.inputs.size() + p.steps.size());
    s.op = fdp.ConsumeIntegralInRange(0, 18);
    s.a = fdp.ConsumeIntegralInRange(0, pool - 1);
    s.b = fdp.ConsumeIntegralInRange(0, pool - 1);
    s.i0 = fdp.ConsumeIntegralInRange<std::int64_t>(-5, 3);
    s.i1 = fdp.ConsumeIntegralInRange<std::int64_t>(-5, 5);
    s.i2 = fdp.ConsumeIntegralInRange<std::int64_t>(-5, 6);
    s.i3 = fdp.ConsumeIntegralInRange<std::int64_t>(0, 3);
    s.dims.resize(fdp.ConsumeIntegralInRange<std::size_t>(0, 3));
    for (auto& d : s.dims) d = fdp.ConsumeIntegralInRange<std::int64_t>(-1, 6);
    p.steps.push_back(s);
  }
  return p;
}

// Replays the program on reference arrays; returns the last result (nullopt if no step succeeded).
std::optional<Arr> replay(const Program& p, const std::vector<Arr>& inputs, bool& smooth) {
  std::vector<std::optional<Arr>> pool(inputs.begin(), inputs.end());
  std::optional<Arr> last;
  for (const Step& s : p.steps) {
    const auto& a = pool[static_cast<std::size_t>(s.a)];
    const auto& b = pool[static_cast<std::size_t>(s.b)];
    std::optional<Arr> r;
    Err err = Err::None;
    if (a && b) r = reference(s, *a, *b, err, smooth);
    // Large intermediates make central differences lose too many digits to serve as the truth.
    if (r && !(maxabs(*r) <= 1e3)) smooth = false;
    if (r) last = r;
    pool.push_back(std::move(r));
  }
  return last;
}

double weight(std::size_t i) { return 0.5 + 0.25 * static_cast<double>(i % 5) - 0.1 * static_cast<double>(i % 3); }

double weighted_sum(const Arr& x) {
  double s = 0;
  for (std::size_t i = 0; i < x.v.size(); ++i) s += weight(i) * x.v[i];
  return s;
}

void check_gradient(const Program& p, const std::vector<tg::Tensor>& leaves, const tg::Tensor& out) {
  bool smooth = true;
  const auto ref = replay(p, p.inputs, smooth);
  if (!ref || !smooth || !all_finite(*ref) || maxabs(*ref) > 1e3) return;
  std::vector<double> w(ref->v.size());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = weight(i);
  const tg::Tensor wt = tg::tensor(w, out.shape());
  tg::sum(out * wt).backward();
  for (std::size_t j = 0; j < leaves.size(); ++j) {
    const tg::Tensor g = leaves[j].grad();
    if (g.defined() && g.shape() != leaves[j].shape()) fail("gradient shape differs from its leaf", -1);
    const std::vector<double> gv = g.defined() ? g.to_vector<double>() : std::vector<double>(p.inputs[j].v.size(), 0.0);
    for (std::size_t i = 0; i < gv.size(); ++i) {
      const double h = 1e-6;
      std::vector<Arr> in = p.inputs;
      in[j].v[i] += h;
      const auto up = replay(p, in, smooth);
      in[j].v[i] -= 2 * h;
      const auto down = replay(p, in, smooth);
      const double fd = (weighted_sum(*up) - weighted_sum(*down)) / (2 * h);
      if (!smooth) return;  // a perturbation crossed a kink
      if (std::fabs(gv[i] - fd) > 1e-4 * (1 + std::fabs(fd))) fail("gradient differs from central differences", -1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  const Program p = parse(fdp);
  tg::ScopedTape scope;
  std::vector<tg::Tensor> pool;
  std::vector<tg::Tensor> leaves;
  for (const Arr& x : p.inputs) {
    tg::Tensor t = tg::tensor(x.v, tg::Shape(x.shape.begin(), x.shape.end()), {.dtype = tg::kFloat64});
    t.requires_grad_();
    leaves.push_back(t);
    pool.push_back(t);
  }
  tg::Tensor last;
  for (const Step& s : p.steps) {
    const tg::Tensor& a = pool[static_cast<std::size_t>(s.a)];
    const tg::Tensor& b = pool[static_cast<std::size_t>(s.b)];
    if (!a.defined() || !b.defined()) {
      pool.emplace_back();
      continue;
    }
    // Each op is checked against the reference applied to its actual operands, so errors do not pile up.
    const Arr ra = to_arr(a);
    const Arr rb = to_arr(b);
    Err want = Err::None;
    bool smooth = true;
    const std::optional<Arr> ref = reference(s, ra, rb, want, smooth);
    tg::Tensor got;
    try {
      got = run_op(s, a, b);
    } catch (const tg::ShapeError&) {
      if (want != Err::Shape) fail("unexpected ShapeError", s.op);
    } catch (const tg::IndexError&) {
      if (want != Err::Index) fail("unexpected IndexError", s.op);
    } catch (const tg::ValueError&) {
      if (want != Err::Value) fail("unexpected ValueError", s.op);
    }
    if (got.defined() != ref.has_value()) fail("succeeded where an error was documented", s.op);
    if (got.defined() && all_finite(ra) && all_finite(rb)) compare(got, *ref, s.op);
    if (got.defined()) last = got;
    pool.push_back(got);
  }
  if (last.defined() && !last.is_leaf()) check_gradient(p, leaves, last);
  return 0;
}
