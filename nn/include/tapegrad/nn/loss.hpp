// Loss functions, as functions (tg::nn::functional::mse_loss, ...) and as modules (tg::nn::MSELoss, ...),
// each with reduction none / mean / sum and the formulas PyTorch documents. They are compositions of
// tensor ops: the stable forms (log-softmax, softplus) avoid overflow, and the gradient comes from the tape.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <utility>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn {

/// How a loss combines its per-element values: keep them, average them, or add them up. In every loss
/// options struct `reduction` is the last field, so `{.beta = 0.5, .reduction = tg::nn::kSum}` reads in order.
enum class Reduction { None, Mean, Sum };
inline constexpr Reduction kNone = Reduction::None;
inline constexpr Reduction kMean = Reduction::Mean;
inline constexpr Reduction kSum = Reduction::Sum;

/// Options of MSE and L1: only the reduction.
struct LossOptions {
  Reduction reduction = Reduction::Mean;
};
/// Options of the half squared error Σ ½(target - input)², summed by default as in the worked example.
struct HalfSquaredErrorOptions {
  Reduction reduction = Reduction::Sum;
};
/// Options of SmoothL1: quadratic below beta, linear above (beta = 0 is L1).
struct SmoothL1Options {
  double beta = 1.0;
  Reduction reduction = Reduction::Mean;
};
/// Options of Huber: quadratic below delta, delta·(|d| - delta/2) above.
struct HuberOptions {
  double delta = 1.0;
  Reduction reduction = Reduction::Mean;
};
/// Options of binary cross-entropy on probabilities.
struct BCEOptions {
  Tensor weight{};  ///< optional per-element weight, broadcast against the input
  Reduction reduction = Reduction::Mean;
};
/// Options of binary cross-entropy on logits.
struct BCEWithLogitsOptions {
  Tensor weight{};      ///< optional per-element weight, broadcast against the input
  Tensor pos_weight{};  ///< optional weight of the positive term, broadcast against the input (per class)
  Reduction reduction = Reduction::Mean;
};
/// Options of the negative log-likelihood on log-probabilities.
struct NLLOptions {
  Tensor weight{};                   ///< optional [C] weight per class
  std::int64_t ignore_index = -100;  ///< targets equal to this contribute nothing (and are not counted)
  Reduction reduction = Reduction::Mean;
};
/// Options of cross-entropy on logits.
struct CrossEntropyOptions {
  Tensor weight{};                   ///< optional [C] weight per class
  std::int64_t ignore_index = -100;  ///< class-index targets equal to this contribute nothing
  double label_smoothing = 0.0;      ///< in [0, 1]: mixes the target with the uniform distribution
  Reduction reduction = Reduction::Mean;
};

namespace functional {

/// mean((input - target)²). Input and target must have the same shape and dtype.
Tensor mse_loss(const Tensor& input, const Tensor& target, LossOptions o = {});
/// Σ ½(target - input)² (the worked example's E_total).
Tensor half_squared_error(const Tensor& input, const Tensor& target, HalfSquaredErrorOptions o = {});
/// mean|input - target|.
Tensor l1_loss(const Tensor& input, const Tensor& target, LossOptions o = {});
/// ½d²/beta where |d| < beta, |d| - ½beta elsewhere (d = input - target).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1Options o = {});
/// ½d² where |d| ≤ delta, delta·(|d| - ½delta) elsewhere.
Tensor huber_loss(const Tensor& input, const Tensor& target, HuberOptions o = {});
/// -w·(t·ln p + (1 - t)·ln(1 - p)) with the logarithms floored at -100 as in PyTorch; p in [0, 1].
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCEOptions& o = {});
/// Binary cross-entropy of σ(x), computed as (1 - t)·x + (1 + (pos_weight - 1)·t)·softplus(-x), which
/// stays finite with the exact gradient σ(x) - t for any logit (±1e4 included).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& o = {});
/// -input[target] per sample, for log-probabilities [N, C] (or [C], or [N, C, d...]) and int64 class
/// indices [N] (or [], or [N, d...]). With a weight the mean divides by the targets' total weight.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLOptions& o = {});
/// Cross-entropy of logits: nll_loss(log_softmax(input, 1), target) for int64 class indices, or
/// -Σ_c target_c·log_softmax(input)_c for float class probabilities of the input's shape. Label
/// smoothing follows PyTorch's definition for both kinds of target.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& o = {});

}  // namespace functional

/// Writes "mean", "sum" or "none".
std::ostream& operator<<(std::ostream& os, Reduction r);

/// Mean squared error, as a module: `loss = MSELoss()(prediction, target)`.
class MSELoss : public Module {
 public:
  /// The loss with the given options.
  explicit MSELoss(LossOptions o = {}) : options(o) {}
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const { return functional::mse_loss(input, target, options); }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  LossOptions options;
};

/// The worked example's E = Σ ½(target - out)², summed by default.
class HalfSquaredErrorLoss : public Module {
 public:
  /// The loss with the given options.
  explicit HalfSquaredErrorLoss(HalfSquaredErrorOptions o = {}) : options(o) {}
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const {
    return functional::half_squared_error(input, target, options);
  }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  HalfSquaredErrorOptions options;
};

/// Mean absolute error.
class L1Loss : public Module {
 public:
  /// The loss with the given options.
  explicit L1Loss(LossOptions o = {}) : options(o) {}
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const { return functional::l1_loss(input, target, options); }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  LossOptions options;
};

/// Smooth L1 (quadratic near zero, linear beyond beta).
class SmoothL1Loss : public Module {
 public:
  /// Throws ValueError when beta < 0.
  explicit SmoothL1Loss(SmoothL1Options o = {});
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const {
    return functional::smooth_l1_loss(input, target, options);
  }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  SmoothL1Options options;
};

/// Huber loss (delta·SmoothL1 with beta = delta).
class HuberLoss : public Module {
 public:
  /// Throws ValueError unless delta > 0.
  explicit HuberLoss(HuberOptions o = {});
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const { return functional::huber_loss(input, target, options); }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  HuberOptions options;
};

/// Binary cross-entropy on probabilities.
class BCELoss : public Module {
 public:
  /// The loss with the given options.
  explicit BCELoss(BCEOptions o = {}) : options(std::move(o)) {}
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const {
    return functional::binary_cross_entropy(input, target, options);
  }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  BCEOptions options;
};

/// Binary cross-entropy on logits (stable for any logit).
class BCEWithLogitsLoss : public Module {
 public:
  /// The loss with the given options.
  explicit BCEWithLogitsLoss(BCEWithLogitsOptions o = {}) : options(std::move(o)) {}
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const {
    return functional::binary_cross_entropy_with_logits(input, target, options);
  }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  BCEWithLogitsOptions options;
};

/// Negative log-likelihood on log-probabilities and class indices.
class NLLLoss : public Module {
 public:
  /// The loss with the given options.
  explicit NLLLoss(NLLOptions o = {}) : options(std::move(o)) {}
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const { return functional::nll_loss(input, target, options); }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  NLLOptions options;
};

/// Cross-entropy from logits, with class indices or class probabilities as targets.
class CrossEntropyLoss : public Module {
 public:
  /// Throws ValueError unless 0 ≤ label_smoothing ≤ 1.
  explicit CrossEntropyLoss(CrossEntropyOptions o = {});
  /// The loss of input against target.
  Tensor forward(const Tensor& input, const Tensor& target) const {
    return functional::cross_entropy(input, target, options);
  }
  /// Same as forward.
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  CrossEntropyOptions options;
};

}  // namespace tg::nn
