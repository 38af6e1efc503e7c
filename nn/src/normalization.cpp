// LayerNorm and BatchNorm1d: options, parameters and running-statistic buffers; the arithmetic is in
// functional::layer_norm / batch_norm.
#include <ostream>
#include <sstream>
#include <string>

#include "tapegrad/nn/functional.hpp"
#include "tapegrad/nn/layers.hpp"

namespace tg::nn {

LayerNorm::LayerNorm(LayerNormOptions o) : options_(std::move(o)) {
  const LayerNormOptions& op = options_;
  if (op.normalized_shape.empty()) throw ValueError("LayerNorm: normalized_shape must not be empty");
  for (const std::int64_t s : op.normalized_shape) {
    if (s <= 0) {
      throw ValueError("LayerNorm: normalized_shape sizes must be positive, got " + shape_str(op.normalized_shape));
    }
  }
  if (!(op.eps > 0.0)) throw ValueError("LayerNorm: eps must be > 0, got " + std::to_string(op.eps));
  if (!is_floating(op.dtype)) throw DtypeError(std::string("LayerNorm: dtype must be float, got ") + dtype_name(op.dtype));
  if (op.elementwise_affine) {
    weight = register_parameter("weight", tg::ones(op.normalized_shape, {.dtype = op.dtype}));
    if (op.bias) bias = register_parameter("bias", tg::zeros(op.normalized_shape, {.dtype = op.dtype}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  const Shape& ns = options_.normalized_shape;
  const auto k = static_cast<std::int64_t>(ns.size());
  bool fits = x.defined() && x.dim() >= k;
  for (std::int64_t i = 0; fits && i < k; ++i) fits = x.size(x.dim() - k + i) == ns[static_cast<std::size_t>(i)];
  if (!fits) {
    throw ShapeError("LayerNorm(" + shape_str(ns) + "): input must end with dims " + shape_str(ns) + ", got " +
                     (x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor")));
  }
  return functional::layer_norm(x, ns, weight, bias, options_.eps);
}

void LayerNorm::pretty_print(std::ostream& os) const {
  os << "LayerNorm(" << shape_str(options_.normalized_shape) << ", eps=" << options_.eps
     << ", elementwise_affine=" << (options_.elementwise_affine ? "true" : "false") << ")";
}

BatchNorm1d::BatchNorm1d(BatchNormOptions o) : options_(o) {
  if (o.num_features <= 0) {
    throw ValueError("BatchNorm1d: num_features must be positive, got " + std::to_string(o.num_features));
  }
  if (!(o.eps > 0.0)) throw ValueError("BatchNorm1d: eps must be > 0, got " + std::to_string(o.eps));
  if (o.momentum && !(*o.momentum >= 0.0 && *o.momentum <= 1.0)) {
    throw ValueError("BatchNorm1d: momentum must be in [0, 1], got " + std::to_string(*o.momentum));
  }
  if (!is_floating(o.dtype)) throw DtypeError(std::string("BatchNorm1d: dtype must be float, got ") + dtype_name(o.dtype));
  const Shape c{o.num_features};
  if (o.affine) {
    weight = register_parameter("weight", tg::ones(c, {.dtype = o.dtype}));
    bias = register_parameter("bias", tg::zeros(c, {.dtype = o.dtype}));
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", tg::zeros(c, {.dtype = o.dtype}));
    running_var = register_buffer("running_var", tg::ones(c, {.dtype = o.dtype}));
    num_batches_tracked = register_buffer("num_batches_tracked", tg::zeros({}, {.dtype = kInt64}));
  }
}

void BatchNorm1d::reset_running_stats() {
  if (!options_.track_running_stats) return;
  NoGradGuard ng;
  running_mean.zero_();
  running_var.fill_(1.0);
  num_batches_tracked.zero_();
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  const std::int64_t c = options_.num_features;
  if (!x.defined() || (x.dim() != 2 && x.dim() != 3) || x.size(1) != c) {
    std::ostringstream os;
    os << "BatchNorm1d(" << c << "): input must be [N, " << c << "] or [N, " << c << ", L], got "
       << (x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
    throw ShapeError(os.str());
  }
  const bool training = is_training();
  if (training && x.numel() / c <= 1) {
    throw ValueError("BatchNorm1d(" + std::to_string(c) + "): expected more than 1 value per channel when training, got input " +
                     shape_str(x.shape()) + " (use eval() for single samples)");
  }
  double momentum = 0.0;
  if (training && options_.track_running_stats) {
    NoGradGuard ng;
    // add_(double) refuses int64 tensors, so the counter is rewritten.
    const double batches = num_batches_tracked.item() + 1.0;
    num_batches_tracked.fill_(batches);
    // Without a momentum the running statistics are the cumulative average over all batches.
    momentum = options_.momentum ? *options_.momentum : 1.0 / batches;
  }
  return functional::batch_norm(x, running_mean, running_var, weight, bias, training, momentum, options_.eps);
}

void BatchNorm1d::pretty_print(std::ostream& os) const {
  os << "BatchNorm1d(" << options_.num_features << ", eps=" << options_.eps << ", momentum=";
  if (options_.momentum) {
    os << *options_.momentum;
  } else {
    os << "none";
  }
  os << ", affine=" << (options_.affine ? "true" : "false")
     << ", track_running_stats=" << (options_.track_running_stats ? "true" : "false") << ")";
}

}  // namespace tg::nn
