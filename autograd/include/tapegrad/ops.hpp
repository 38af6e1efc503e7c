// The tensor ops: elementwise math with numpy broadcasting, reductions, matmul, shape and index ops,
// softmax family, comparisons. Every float op is differentiable (its backward is written with these same
// ops); comparisons, argmax/argmin and one_hot are not.
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tg {

// --- elementwise, binary (broadcast by numpy rules; both operands must have the same dtype) ----------
/// a + b
Tensor add(const Tensor& a, const Tensor& b);
/// a - b
Tensor sub(const Tensor& a, const Tensor& b);
/// a * b
Tensor mul(const Tensor& a, const Tensor& b);
/// a / b
Tensor div(const Tensor& a, const Tensor& b);
/// a^b ; d/db = a^b ln a, taken as 0 where a = 0 (as PyTorch)
Tensor pow(const Tensor& a, const Tensor& b);
/// Elementwise larger value; on a tie the gradient is split 0.5/0.5.
Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise smaller value; on a tie the gradient is split 0.5/0.5.
Tensor minimum(const Tensor& a, const Tensor& b);

/// Operators: the same ops (a scalar operand is a constant of the tensor's dtype).
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(const Tensor& a, double s);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(const Tensor& a, double s);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(const Tensor& a, double s);
Tensor operator/(double s, const Tensor& a);
Tensor operator-(const Tensor& a);

// --- elementwise, unary (float tensors) --------------------------------------------------------------
/// -x
Tensor neg(const Tensor& x);
/// e^x
Tensor exp(const Tensor& x);
/// ln x
Tensor log(const Tensor& x);
/// √x
Tensor sqrt(const Tensor& x);
/// |x| ; gradient sign(x), 0 at 0
Tensor abs(const Tensor& x);
/// sin x
Tensor sin(const Tensor& x);
/// cos x
Tensor cos(const Tensor& x);
/// tanh x
Tensor tanh(const Tensor& x);
/// The logistic function, without overflow for any x.
Tensor sigmoid(const Tensor& x);
/// max(x, 0) ; gradient 0 at 0
Tensor relu(const Tensor& x);
/// x for x > 0, slope·x otherwise
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
/// x for x > 0, alpha(e^x - 1) otherwise
Tensor elu(const Tensor& x, double alpha = 1.0);
/// scale·elu(x, alpha) with the self-normalising constants
Tensor selu(const Tensor& x);
/// ln(1 + e^(beta·x)) / beta, computed without overflow
Tensor softplus(const Tensor& x, double beta = 1.0);
/// x·Φ(x) with the exact normal CDF (erf form)
Tensor gelu(const Tensor& x);
/// x·σ(x)
Tensor silu(const Tensor& x);
/// The error function.
Tensor erf(const Tensor& x);
/// x²
Tensor square(const Tensor& x);
/// x^p for a constant p
Tensor pow(const Tensor& x, double p);
/// a^x for a constant base a > 0
Tensor pow(double a, const Tensor& x);
/// x limited to [lo, hi]; gradient 1 on the closed interval, 0 outside. ValueError if lo > hi.
Tensor clamp(const Tensor& x, double lo, double hi);
/// max(x, lo)
Tensor clamp_min(const Tensor& x, double lo);
/// min(x, hi)
Tensor clamp_max(const Tensor& x, double hi);
/// -1, 0 or 1 (not differentiable: gradient 0)
Tensor sign(const Tensor& x);
/// Selects a where cond is true, else b (broadcast); cond must be bool.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// where with a constant for b.
Tensor where(const Tensor& cond, const Tensor& a, double b);
/// where with a constant for a.
Tensor where(const Tensor& cond, double a, const Tensor& b);

// --- comparisons and logic (bool results, no gradient) -----------------------------------------------
/// Elementwise a == b, a != b, a < b, a <= b, a > b, a >= b as bool masks (broadcast; same dtypes).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
/// The same comparisons against a constant.
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);
/// Operator forms of the comparisons (they return masks, as in LibTorch, not bool).
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, double s);
Tensor operator!=(const Tensor& a, double s);
Tensor operator<(const Tensor& a, double s);
Tensor operator<=(const Tensor& a, double s);
Tensor operator>(const Tensor& a, double s);
Tensor operator>=(const Tensor& a, double s);
/// Elementwise and of two bool tensors.
Tensor logical_and(const Tensor& a, const Tensor& b);
/// Elementwise or of two bool tensors.
Tensor logical_or(const Tensor& a, const Tensor& b);
/// Elementwise not of a bool tensor.
Tensor logical_not(const Tensor& a);
/// True when every element of a equals b's and the shapes are equal (values only, no gradient).
bool equal(const Tensor& a, const Tensor& b);
/// True when |a - b| <= atol + rtol·|b| everywhere (same shapes).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

// --- reductions (dims empty = all dims; negative dims count from the end) -----------------------------
/// Sum over dims.
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Mean over dims (NaN over an empty set, as PyTorch).
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Largest value over dims; the gradient is shared equally among tied maxima. IndexError on 0 elements.
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Smallest value over dims.
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Variance over dims with Bessel's correction `correction` (1 = unbiased, as PyTorch's default).
Tensor var(const Tensor& x, const Shape& dims = {}, std::int64_t correction = 1, bool keepdim = false);
/// Standard deviation (the square root of var).
Tensor std(const Tensor& x, const Shape& dims = {}, std::int64_t correction = 1, bool keepdim = false);
/// Index of the largest value along dim (int64, no gradient; the first one on ties).
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index of the largest element of the flattened tensor.
Tensor argmax(const Tensor& x);
/// Index of the smallest value along dim.
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index of the smallest element of the flattened tensor.
Tensor argmin(const Tensor& x);

// --- linear algebra -----------------------------------------------------------------------------------
/// Matrix product with numpy semantics: 1-d·1-d (dot), 2-d, matrix-vector, and batched ≥3-d with
/// broadcast batch dimensions. Runs on CBLAS (transposed views need no copy).
Tensor matmul(const Tensor& a, const Tensor& b);

// --- softmax family (numerically stable) -------------------------------------------------------------
/// e^x / Σ e^x along dim.
Tensor softmax(const Tensor& x, std::int64_t dim);
/// x - logsumexp(x) along dim.
Tensor log_softmax(const Tensor& x, std::int64_t dim);
/// ln Σ e^x over dims, without overflow.
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);

// --- shape (views where possible) --------------------------------------------------------------------
/// Same elements, new shape (one size may be -1); a view when the strides allow, else a copy.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Like reshape, but never copies: ShapeError when a view is impossible.
Tensor view(const Tensor& x, const Shape& shape);
/// Merges dims start..end into one.
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
/// Drops every size-1 dim.
Tensor squeeze(const Tensor& x);
/// Drops dim if its size is 1 (else returns x unchanged, as PyTorch).
Tensor squeeze(const Tensor& x, std::int64_t dim);
/// Inserts a size-1 dim at position dim.
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
/// Swaps two dims (a view).
Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1);
/// Reorders the dims (a view).
Tensor permute(const Tensor& x, const Shape& dims);
/// Broadcasts size-1 dims to larger sizes (a view with stride 0; -1 keeps a size).
Tensor expand(const Tensor& x, const Shape& shape);
/// Elements start, start+step, ... below end of dim (a view). Bounds are clamped as in Python slicing.
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
/// length elements of dim from start (a view); IndexError when out of range.
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// The slice at index of dim, with dim removed (a view).
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
/// Joins tensors along an existing dim.
Tensor cat(const std::vector<Tensor>& xs, std::int64_t dim = 0);
/// Joins tensors along a new dim.
Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim = 0);
/// Pads with a constant: pads lists (before, after) pairs starting from the LAST dim, as PyTorch's
/// F::pad. Negative pads are refused (ValueError).
Tensor pad(const Tensor& x, const Shape& pads, double value = 0.0);

// --- indexing ---------------------------------------------------------------------------------------
/// The slices of x at the int64 indices along dim.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// x with src's slices added at the indices along dim (out of place).
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// out[i][j] = x[i][index[i][j]] (for dim 1; index has x's rank).
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// x with src added at the positions index names along dim (out of place; the reverse of gather).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// One-hot rows for int64 class indices: shape index.shape + [num_classes] (-1: max index + 1).
Tensor one_hot(const Tensor& index, std::int64_t num_classes = -1, Dtype dtype = kInt64);

/// A tensor sharing x's data, cut from the graph.
inline Tensor detach(const Tensor& x) { return x.detach(); }

/// Gradients of the outputs (seeded with grad_outputs, or 1 for one-element outputs when empty) with
/// respect to inputs, returned without touching any .grad(). An input the outputs do not depend on gets
/// zeros. The graph is released unless opts.retain_graph.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, BackwardOptions opts = {});

}  // namespace tg
