// Checks and reductions shared by the loss implementations (private to the library).
#pragma once

#include "tapegrad/nn/loss.hpp"
#include "tapegrad/ops.hpp"

namespace tg::nn::loss_detail {

/// Throws unless input is a float tensor and target has its shape and dtype (errors name op).
void check_pair(const char* op, const Tensor& input, const Tensor& target);
/// Applies the reduction to per-element losses.
Tensor reduce(const Tensor& per_element, Reduction r);

}  // namespace tg::nn::loss_detail
