// Gradient clipping in place, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#pragma once

#include <limits>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tg::nn {

/// The p-norm `norm_type` used for an infinity norm (the largest absolute value).
inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

/// Scales the gradients of `params` in place so that their total norm (the norm of all gradient
/// elements taken together) is at most max_norm: each gradient is multiplied by
/// max_norm / (total + 1e-6) when that is below 1. Parameters without a gradient are skipped.
/// norm_type is any p > 0 or kInfNorm. Returns the total norm before clipping. With
/// error_if_nonfinite a NaN or infinite total norm throws ValueError (the gradients are left alone).
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// Clamps every gradient element of `params` to [-clip_value, clip_value] in place (ValueError when
/// clip_value < 0). Parameters without a gradient are skipped.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace tg::nn
