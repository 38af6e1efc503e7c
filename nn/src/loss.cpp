// Regression and binary losses as compositions of tensor ops; the loss modules' printing and validation.
#include "tapegrad/nn/loss.hpp"

#include <cmath>
#include <ostream>
#include <sstream>
#include <string>

#include "loss_common.hpp"

namespace tg::nn {

namespace loss_detail {

void check_pair(const char* op, const Tensor& input, const Tensor& target) {
  if (!input.defined() || !target.defined()) throw ValueError(std::string(op) + ": input and target must be defined");
  if (!is_floating(input.dtype())) {
    throw DtypeError(std::string(op) + ": input must be a float tensor, got " + dtype_name(input.dtype()));
  }
  if (input.shape() != target.shape()) {
    throw ShapeError(std::string(op) + ": input and target shapes must match, got " + shape_str(input.shape()) +
                     " and " + shape_str(target.shape()));
  }
  if (input.dtype() != target.dtype()) {
    throw DtypeError(std::string(op) + ": input and target dtypes must match, got " + dtype_name(input.dtype()) +
                     " and " + dtype_name(target.dtype()));
  }
}

Tensor reduce(const Tensor& per_element, Reduction r) {
  switch (r) {
    case Reduction::None:
      return per_element;
    case Reduction::Sum:
      return per_element.sum();
    case Reduction::Mean:
      return per_element.mean();
  }
  throw ValueError("loss: unknown reduction");
}

}  // namespace loss_detail

namespace functional {

Tensor mse_loss(const Tensor& input, const Tensor& target, LossOptions o) {
  loss_detail::check_pair("mse_loss", input, target);
  return loss_detail::reduce(tg::square(input - target), o.reduction);
}

Tensor half_squared_error(const Tensor& input, const Tensor& target, HalfSquaredErrorOptions o) {
  loss_detail::check_pair("half_squared_error", input, target);
  return loss_detail::reduce(0.5 * tg::square(target - input), o.reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, LossOptions o) {
  loss_detail::check_pair("l1_loss", input, target);
  return loss_detail::reduce(tg::abs(input - target), o.reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1Options o) {
  loss_detail::check_pair("smooth_l1_loss", input, target);
  if (!(o.beta >= 0.0)) throw ValueError("smooth_l1_loss: beta must be >= 0, got " + std::to_string(o.beta));
  const Tensor d = input - target;
  const Tensor ad = tg::abs(d);
  if (o.beta == 0.0) return loss_detail::reduce(ad, o.reduction);
  return loss_detail::reduce(where(ad < o.beta, (0.5 / o.beta) * tg::square(d), ad - 0.5 * o.beta), o.reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, HuberOptions o) {
  loss_detail::check_pair("huber_loss", input, target);
  if (!(o.delta > 0.0)) throw ValueError("huber_loss: delta must be > 0, got " + std::to_string(o.delta));
  const Tensor d = input - target;
  const Tensor ad = tg::abs(d);
  return loss_detail::reduce(where(ad <= o.delta, 0.5 * tg::square(d), o.delta * (ad - 0.5 * o.delta)), o.reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCEOptions& o) {
  loss_detail::check_pair("binary_cross_entropy", input, target);
  {
    // Values outside [0, 1] are a caller's mistake (often logits passed where probabilities belong).
    NoGradGuard ng;
    if (input.numel() > 0 && (input.min().item() < 0.0 || input.max().item() > 1.0)) {
      throw ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] (use "
                       "binary_cross_entropy_with_logits for logits)");
    }
  }
  // ln is floored at -100 as in PyTorch; the floor is applied to the argument (e^-100), so that p = 0
  // gives a zero rather than a 0·∞ gradient.
  const double floor = std::exp(-100.0);
  const Tensor log_p = tg::log(tg::clamp_min(input, floor));
  const Tensor log_1mp = tg::log(tg::clamp_min(1.0 - input, floor));
  Tensor per = -(target * log_p + (1.0 - target) * log_1mp);
  if (o.weight.defined()) per = per * o.weight;
  return loss_detail::reduce(per, o.reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const BCEWithLogitsOptions& o) {
  loss_detail::check_pair("binary_cross_entropy_with_logits", input, target);
  const Tensor sp = tg::softplus(-input);  // -ln σ(x), without overflow
  Tensor per;
  if (o.pos_weight.defined()) {
    per = (1.0 - target) * input + (1.0 + (o.pos_weight - 1.0) * target) * sp;
  } else {
    per = (1.0 - target) * input + sp;
  }
  if (o.weight.defined()) per = per * o.weight;
  return loss_detail::reduce(per, o.reduction);
}

}  // namespace functional

std::ostream& operator<<(std::ostream& os, Reduction r) {
  switch (r) {
    case Reduction::None:
      return os << "none";
    case Reduction::Mean:
      return os << "mean";
    case Reduction::Sum:
      return os << "sum";
  }
  return os << "?";
}

SmoothL1Loss::SmoothL1Loss(SmoothL1Options o) : options(o) {
  if (!(o.beta >= 0.0)) throw ValueError("SmoothL1Loss: beta must be >= 0, got " + std::to_string(o.beta));
}

HuberLoss::HuberLoss(HuberOptions o) : options(o) {
  if (!(o.delta > 0.0)) throw ValueError("HuberLoss: delta must be > 0, got " + std::to_string(o.delta));
}

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyOptions o) : options(std::move(o)) {
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0)) {
    throw ValueError("CrossEntropyLoss: label_smoothing must be in [0, 1], got " +
                     std::to_string(options.label_smoothing));
  }
}

void MSELoss::pretty_print(std::ostream& os) const { os << "MSELoss(reduction=" << options.reduction << ")"; }
void HalfSquaredErrorLoss::pretty_print(std::ostream& os) const {
  os << "HalfSquaredErrorLoss(reduction=" << options.reduction << ")";
}
void L1Loss::pretty_print(std::ostream& os) const { os << "L1Loss(reduction=" << options.reduction << ")"; }
void SmoothL1Loss::pretty_print(std::ostream& os) const {
  os << "SmoothL1Loss(reduction=" << options.reduction << ", beta=" << options.beta << ")";
}
void HuberLoss::pretty_print(std::ostream& os) const {
  os << "HuberLoss(reduction=" << options.reduction << ", delta=" << options.delta << ")";
}
void BCELoss::pretty_print(std::ostream& os) const { os << "BCELoss(reduction=" << options.reduction << ")"; }
void BCEWithLogitsLoss::pretty_print(std::ostream& os) const {
  os << "BCEWithLogitsLoss(reduction=" << options.reduction << ")";
}
void NLLLoss::pretty_print(std::ostream& os) const {
  os << "NLLLoss(reduction=" << options.reduction << ", ignore_index=" << options.ignore_index << ")";
}
void CrossEntropyLoss::pretty_print(std::ostream& os) const {
  os << "CrossEntropyLoss(reduction=" << options.reduction << ", ignore_index=" << options.ignore_index
     << ", label_smoothing=" << options.label_smoothing << ")";
}

}  // namespace tg::nn
