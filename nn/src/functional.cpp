// The functional forms of activations and layers, written as compositions of tensor ops (no backward).
#include "tapegrad/nn/functional.hpp"

#include <cmath>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

namespace tg::nn::functional {

namespace {

void check_float(const char* op, const Tensor& x) {
  if (!x.defined()) throw ValueError(std::string(op) + ": the input is undefined");
  if (!is_floating(x.dtype())) {
    throw DtypeError(std::string(op) + ": needs a float tensor, got " + dtype_name(x.dtype()));
  }
}

void check_same_dtype(const char* op, const Tensor& x, const Tensor& p, const char* what) {
  if (p.defined() && p.dtype() != x.dtype()) {
    throw DtypeError(std::string(op) + ": input dtype " + dtype_name(x.dtype()) + " does not match the " + what +
                     " dtype " + dtype_name(p.dtype()));
  }
}

// [1, C] for a 2-d input, [1, C, 1, ...] for more dims: a per-channel tensor broadcast against x.
Shape channel_shape(const Tensor& x) {
  Shape s(static_cast<std::size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return s;
}

}  // namespace

Tensor sigmoid(const Tensor& x) { return tg::sigmoid(x); }
Tensor tanh(const Tensor& x) { return tg::tanh(x); }
Tensor relu(const Tensor& x) { return tg::relu(x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) { return tg::leaky_relu(x, negative_slope); }
Tensor elu(const Tensor& x, double alpha) { return tg::elu(x, alpha); }
Tensor selu(const Tensor& x) { return tg::selu(x); }
Tensor silu(const Tensor& x) { return tg::silu(x); }
Tensor softmax(const Tensor& x, std::int64_t dim) { return tg::softmax(x, dim); }
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return tg::log_softmax(x, dim); }

Tensor prelu(const Tensor& x, const Tensor& weight) {
  check_float("prelu", x);
  check_float("prelu", weight);
  check_same_dtype("prelu", x, weight, "weight");
  const std::int64_t n = weight.numel();
  if (n == 1) return where(x > 0.0, x, x * weight.reshape({1}));
  if (x.dim() < 2 || x.size(1) != n) {
    std::ostringstream os;
    os << "prelu: a weight of " << n << " elements needs the input's dim 1 to have " << n << " channels, got "
       << shape_str(x.shape());
    throw ShapeError(os.str());
  }
  return where(x > 0.0, x, x * weight.reshape(channel_shape(x)));
}

Tensor gelu(const Tensor& x, GeluApproximation approximate) {
  if (approximate == GeluApproximation::None) return tg::gelu(x);
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + tg::tanh(k * (x + 0.044715 * tg::pow(x, 3.0))));
}

Tensor mish(const Tensor& x) { return x * tg::tanh(tg::softplus(x)); }

Tensor softplus(const Tensor& x, double beta, double threshold) {
  check_float("softplus", x);
  return where(x * beta > threshold, x, tg::softplus(x, beta));
}

Tensor softsign(const Tensor& x) { return x / (tg::abs(x) + 1.0); }

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  check_float("hardtanh", x);
  if (!(min_val <= max_val)) {
    std::ostringstream os;
    os << "hardtanh: min_val must be <= max_val, got " << min_val << " and " << max_val;
    throw ValueError(os.str());
  }
  // Two selections rather than clamp, so that the gradient is 0 at the limits as in PyTorch.
  return where(x <= min_val, min_val, where(x >= max_val, max_val, x));
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_float("linear", x);
  check_float("linear", weight);
  check_same_dtype("linear", x, weight, "weight");
  check_same_dtype("linear", x, bias, "bias");
  if (weight.dim() != 2) throw ShapeError("linear: weight must be 2-d [out, in], got " + shape_str(weight.shape()));
  if (x.dim() == 0 || x.size(-1) != weight.size(1)) {
    std::ostringstream os;
    os << "linear: input last dimension must be " << weight.size(1) << ", got " << shape_str(x.shape());
    throw ShapeError(os.str());
  }
  Tensor y = tg::matmul(x, weight.t());
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_float("dropout", x);
  if (!(p >= 0.0 && p <= 1.0)) {
    std::ostringstream os;
    os << "dropout: p must be in [0, 1], got " << p;
    throw ValueError(os.str());
  }
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * zeros_like(x);
  Tensor mask = tg::bernoulli(x.shape(), 1.0 - p, {.dtype = x.dtype()}, gen);
  mask.mul_(1.0 / (1.0 - p));
  return x * mask;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  check_float("layer_norm", x);
  check_same_dtype("layer_norm", x, weight, "weight");
  check_same_dtype("layer_norm", x, bias, "bias");
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  bool fits = k > 0 && x.dim() >= k;
  for (std::int64_t i = 0; fits && i < k; ++i) fits = x.size(x.dim() - k + i) == normalized_shape[static_cast<std::size_t>(i)];
  if (!fits) {
    throw ShapeError("layer_norm: input must end with the normalized shape " + shape_str(normalized_shape) +
                     ", got " + shape_str(x.shape()));
  }
  Shape dims;
  for (std::int64_t i = -k; i < 0; ++i) dims.push_back(i);
  const Tensor centred = x - tg::mean(x, dims, true);
  const Tensor var = tg::mean(tg::square(centred), dims, true);
  Tensor y = centred / tg::sqrt(var + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  check_float("batch_norm", x);
  if (x.dim() < 2) throw ShapeError("batch_norm: input must be [N, C] or [N, C, L], got " + shape_str(x.shape()));
  const std::int64_t c = x.size(1);
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias}) {
    if (!t->defined()) continue;
    check_same_dtype("batch_norm", x, *t, "parameter/statistic");
    if (t->dim() != 1 || t->size(0) != c) {
      throw ShapeError("batch_norm: per-channel tensors must be [" + std::to_string(c) + "] for input " +
                       shape_str(x.shape()) + ", got " + shape_str(t->shape()));
    }
  }
  const Shape cs = channel_shape(x);
  Shape dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const bool batch_stats = training || !running_mean.defined() || !running_var.defined();
  Tensor y;
  if (batch_stats) {
    const std::int64_t n = x.numel() / (c == 0 ? 1 : c);
    if (training && n <= 1) {
      throw ValueError("batch_norm: expected more than 1 value per channel when training, got input " +
                       shape_str(x.shape()));
    }
    const Tensor mean = tg::mean(x, dims, true);
    const Tensor centred = x - mean;
    const Tensor var = tg::mean(tg::square(centred), dims, true);
    y = centred / tg::sqrt(var + eps);
    if (training && running_mean.defined() && running_var.defined()) {
      NoGradGuard ng;
      const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
      Tensor rm = running_mean;
      Tensor rv = running_var;
      rm.mul_(1.0 - momentum).add_(mean.detach().reshape({c}), momentum);
      rv.mul_(1.0 - momentum).add_(var.detach().reshape({c}), momentum * unbias);
    }
  } else {
    y = (x - running_mean.reshape(cs)) / tg::sqrt(running_var.reshape(cs) + eps);
  }
  if (weight.defined()) y = y * weight.reshape(cs);
  if (bias.defined()) y = y + bias.reshape(cs);
  return y;
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx) {
  if (!indices.defined() || indices.dtype() != kInt64) {
    throw DtypeError(std::string("embedding: indices must be an int64 tensor, got ") +
                     (indices.defined() ? dtype_name(indices.dtype()) : "an undefined tensor"));
  }
  check_float("embedding", weight);
  if (weight.dim() != 2) throw ShapeError("embedding: weight must be 2-d [num, dim], got " + shape_str(weight.shape()));
  const std::int64_t num = weight.size(0);
  const Tensor flat = indices.reshape({-1});
  for (const std::int64_t i : flat.to_vector<std::int64_t>()) {
    if (i < 0 || i >= num) {
      throw IndexError("embedding: index " + std::to_string(i) + " is out of range [0, " + std::to_string(num) + ")");
    }
  }
  Shape shape = indices.shape();
  shape.push_back(weight.size(1));
  Tensor out = tg::index_select(weight, 0, flat).reshape(shape);
  if (padding_idx && out.requires_grad()) {
    // The padding row keeps its value in the forward pass but receives no gradient.
    out = where((indices != static_cast<double>(*padding_idx)).unsqueeze(-1), out, out.detach());
  }
  return out;
}

}  // namespace tg::nn::functional
