// Recorded tensor ops as LocalOps: the table of built-in ops that their name and inputs determine, and the
// float64 forward/backward wrappers gradcheck's fault localisation calls.
#include <cmath>
#include <cstring>
#include <span>

#include "tapegrad/ops.hpp"
#include "tensor_local.hpp"

namespace tg::detail {

namespace {

using Unary = Tensor (*)(const Tensor&);
using Binary = Tensor (*)(const Tensor&, const Tensor&);

struct UnaryEntry {
  const char* name;
  Unary f;
};
struct BinaryEntry {
  const char* name;
  Binary f;
};

Tensor clone_fn(const Tensor& x) { return x.clone(); }

// Parameter-free ops of one tensor: the name alone fixes the function.
const UnaryEntry kUnary[] = {
    {"neg", neg},   {"exp", exp},         {"log", log},   {"sqrt", sqrt},     {"abs", abs},
    {"sin", sin},   {"cos", cos},         {"tanh", tanh}, {"sigmoid", sigmoid}, {"relu", relu},
    {"erf", erf},   {"gelu", gelu},       {"square", square}, {"clone", clone_fn},
};
// Ops of two tensors (a one-input "mul" is x * constant, whose constant is not recorded).
const BinaryEntry kBinary[] = {
    {"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}, {"pow", pow}, {"maximum", maximum},
    {"minimum", minimum}, {"matmul", matmul},
};

constexpr double kKink = 1e-4;

// The smallest |t| (t float), or +inf for an empty tensor.
double min_abs(const Tensor& t) {
  double m = INFINITY;
  for (double v : t.to_vector<double>()) m = std::min(m, std::abs(v));
  return m;
}

Tensor as_f64(const Tensor& t) {
  NoGradGuard off;
  return t.detach().to(kFloat64);
}

std::vector<Tensor> unflatten(std::span<const double> x, const std::vector<std::vector<std::int64_t>>& shapes) {
  std::vector<Tensor> ts;
  std::size_t at = 0;
  for (const auto& s : shapes) {
    const Shape shape(s.begin(), s.end());
    const auto n = static_cast<std::size_t>(shape_numel(shape));
    ts.push_back(tensor(x.subspan(at, n), shape, {.dtype = kFloat64}));
    at += n;
  }
  return ts;
}

void append_flat(std::vector<double>& out, const Tensor& g, std::size_t numel) {
  if (!g.defined()) {
    out.insert(out.end(), numel, 0.0);
    return;
  }
  const std::vector<double> v = g.to(kFloat64).to_vector<double>();
  // A gradient of the wrong size reads as NaN, so the check fails visibly.
  const bool fits = v.size() == numel;
  for (std::size_t k = 0; k < numel; ++k) out.push_back(fits ? v[k] : std::nan(""));
}

}  // namespace

bool builtin_rerun(const char* name, const std::vector<Tensor>& inputs, const Shape& out_shape, TensorRerun& rerun,
                   std::string& why) {
  const std::size_t n = inputs.size();
  if (n == 1) {
    for (const UnaryEntry& e : kUnary) {
      if (std::strcmp(e.name, name) != 0) continue;
      if ((std::strcmp(name, "relu") == 0 || std::strcmp(name, "abs") == 0) && min_abs(as_f64(inputs[0])) < kKink) {
        why = "an input element is at its kink (|x| < 1e-4), where differences cannot confirm the derivative";
        return false;
      }
      const Unary f = e.f;
      rerun = [f](const std::vector<Tensor>& x) { return f(x[0]); };
      return true;
    }
    if (std::strcmp(name, "reshape") == 0 || std::strcmp(name, "expand") == 0) {
      const bool is_reshape = name[0] == 'r';
      rerun = [out_shape, is_reshape](const std::vector<Tensor>& x) {
        return is_reshape ? reshape(x[0], out_shape) : expand(x[0], out_shape);
      };
      return true;
    }
    if (std::strcmp(name, "sum") == 0 && shape_numel(out_shape) == 1) {
      rerun = [out_shape](const std::vector<Tensor>& x) { return reshape(sum(x[0]), out_shape); };
      return true;
    }
  }
  if (n == 2) {
    for (const BinaryEntry& e : kBinary) {
      if (std::strcmp(e.name, name) != 0) continue;
      if (std::strcmp(name, "maximum") == 0 || std::strcmp(name, "minimum") == 0) {
        if (min_abs(sub(as_f64(inputs[0]), as_f64(inputs[1]))) < kKink) {
          why = "two compared elements tie (within 1e-4), where the gradient split is a convention";
          return false;
        }
      }
      const Binary f = e.f;
      rerun = [f](const std::vector<Tensor>& x) { return f(x[0], x[1]); };
      return true;
    }
  }
  why = "its parameters (a constant operand, dims, a slope...) are not recorded, so it cannot be re-run alone";
  return false;
}

bool local_op_from_rerun(const std::vector<Tensor>& inputs, const Shape& out_shape, TensorRerun rerun,
                         const CustomTensorOp::Backward* direct, LocalOp& out) {
  out.input_shapes.clear();
  out.inputs.clear();
  for (const Tensor& t : inputs) {
    if (!t.defined() || !is_floating(t.dtype())) {
      out.unavailable = "an input is not a float tensor";
      return false;
    }
    out.input_shapes.emplace_back(t.shape().begin(), t.shape().end());
    const std::vector<double> v = as_f64(t).to_vector<double>();
    out.inputs.insert(out.inputs.end(), v.begin(), v.end());
  }
  out.output_shape.assign(out_shape.begin(), out_shape.end());
  const auto shapes = out.input_shapes;
  out.forward = [rerun, shapes](std::span<const double> x) {
    NoGradGuard off;
    return rerun(unflatten(x, shapes)).to(kFloat64).to_vector<double>();
  };
  CustomTensorOp::Backward bwd = direct ? *direct : CustomTensorOp::Backward();
  out.backward = [rerun, shapes, bwd](std::span<const double> x, std::span<const double> g) {
    std::vector<double> flat;
    std::vector<Tensor> grads;
    if (bwd) {
      NoGradGuard off;
      const std::vector<Tensor> ts = unflatten(x, shapes);
      const Tensor y = rerun(ts);
      grads = bwd(ts, y, tensor(g, y.shape(), {.dtype = y.dtype()}));
    } else {
      ScopedTape scope;
      std::vector<Tensor> ts = unflatten(x, shapes);
      for (Tensor& t : ts) t.requires_grad_(true);
      const Tensor y = rerun(ts);
      if (y.requires_grad()) grads = grad({y}, ts, {tensor(g, y.shape(), {.dtype = y.dtype()})});
    }
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      std::size_t numel = 1;
      for (std::int64_t d : shapes[i]) numel *= static_cast<std::size_t>(d);
      append_flat(flat, i < grads.size() ? grads[i] : Tensor(), numel);
    }
    return flat;
  };
  return true;
}

}  // namespace tg::detail
