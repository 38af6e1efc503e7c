// tg::nn::functional: the stateless forms of activations and layers (the modules call these). Every one is
// a composition of tensor ops, so its gradient comes from the tape. As in LibTorch, alias it:
//
//     namespace F = tg::nn::functional;
//     tg::Tensor y = F::gelu(F::linear(x, w, b));
#pragma once

#include <cstdint>
#include <optional>

#include "tapegrad/ops.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn::functional {

// --- activations -----------------------------------------------------------------------------------
/// The logistic function 1 / (1 + e^-x).
Tensor sigmoid(const Tensor& x);
/// tanh x.
Tensor tanh(const Tensor& x);
/// max(x, 0).
Tensor relu(const Tensor& x);
/// x for x > 0, negative_slope·x otherwise.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// x for x > 0, a·x otherwise, with a learned `weight` of 1 element or one per channel (dim 1 of x).
Tensor prelu(const Tensor& x, const Tensor& weight);
/// x for x > 0, alpha·(e^x - 1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
/// scale·elu(x, alpha) with the self-normalising constants (alpha ≈ 1.6733, scale ≈ 1.0507).
Tensor selu(const Tensor& x);
/// How gelu evaluates the normal CDF.
enum class GeluApproximation { None, Tanh };
/// x·Φ(x): exact (erf), or PyTorch's tanh approximation 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
Tensor gelu(const Tensor& x, GeluApproximation approximate = GeluApproximation::None);
/// x·σ(x), also called swish.
Tensor silu(const Tensor& x);
/// x·tanh(softplus(x)).
Tensor mish(const Tensor& x);
/// ln(1 + e^(beta·x)) / beta, and x itself where beta·x > threshold (as PyTorch).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// x limited to [min_val, max_val]; gradient 1 strictly inside, 0 elsewhere (as PyTorch).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// e^x / Σ e^x along dim.
Tensor softmax(const Tensor& x, std::int64_t dim);
/// x - logsumexp(x) along dim.
Tensor log_softmax(const Tensor& x, std::int64_t dim);

// --- layers ----------------------------------------------------------------------------------------
/// x·weightᵀ + bias for weight [out, in] and bias [out] (bias may be undefined). The transpose is a view:
/// one matrix product and one broadcast add.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
/// Zeroes each element with probability p and scales the rest by 1/(1-p) in training; x itself otherwise.
/// The mask comes from gen (the default generator when null). ValueError unless 0 ≤ p ≤ 1.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);
/// (x - mean) / √(var + eps) over the trailing dims `normalized_shape` (biased variance), then ·weight
/// + bias when given.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
/// Batch normalisation of x [N, C] or [N, C, L] per channel. In training it normalises with the batch's
/// mean and biased variance and, when running_mean/running_var are given, updates them in place:
/// r ← (1 - momentum)·r + momentum·batch statistic (the unbiased variance for running_var). Otherwise it
/// normalises with the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);
/// Rows of weight [num, dim] picked by the int64 indices: shape indices.shape + [dim]. No gradient
/// reaches the padding_idx row.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx = {});

}  // namespace tg::nn::functional
