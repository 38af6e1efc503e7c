// Activation functions as modules (for Sequential and model printouts); each calls the function of the
// same name in tg::nn::functional. PReLU is the one with a learned parameter.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string_view>

#include "tapegrad/nn/functional.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// The logistic function 1 / (1 + e^-x).
class Sigmoid : public UnaryModule {
 public:
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::sigmoid(x); }
};

/// tanh x.
class Tanh : public UnaryModule {
 public:
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::tanh(x); }
};

/// max(x, 0).
class ReLU : public UnaryModule {
 public:
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::relu(x); }
};

/// x for x > 0, negative_slope·x otherwise.
class LeakyReLU : public UnaryModule {
 public:
  /// LeakyReLU with the given slope for negative inputs.
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::leaky_relu(x, negative_slope_); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  double negative_slope_;
};

/// Options of PReLU.
struct PReLUOptions {
  std::int64_t num_parameters = 1;  ///< 1 (shared) or the number of channels (dim 1 of the input)
  double init = 0.25;               ///< starting slope
  Dtype dtype = kFloat32;           ///< dtype of the slope
};

/// x for x > 0, a·x otherwise, with the slope a learned (parameter "weight").
class PReLU : public UnaryModule {
 public:
  /// Throws ValueError for num_parameters ≤ 0.
  explicit PReLU(PReLUOptions o = {});
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::prelu(x, weight); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

  Tensor weight;  ///< [num_parameters]

 private:
  PReLUOptions options_;
};

/// x for x > 0, alpha·(e^x - 1) otherwise.
class ELU : public UnaryModule {
 public:
  /// ELU with the given alpha.
  explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::elu(x, alpha_); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  double alpha_;
};

/// Self-normalising ELU.
class SELU : public UnaryModule {
 public:
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::selu(x); }
};

/// x·Φ(x), exact or with the tanh approximation.
class GELU : public UnaryModule {
 public:
  /// GELU evaluated as `approximate` says.
  explicit GELU(functional::GeluApproximation approximate = functional::GeluApproximation::None)
      : approximate_(approximate) {}
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::gelu(x, approximate_); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  functional::GeluApproximation approximate_;
};

/// x·σ(x).
class SiLU : public UnaryModule {
 public:
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::silu(x); }
};
/// Swish is SiLU.
using Swish = SiLU;

/// x·tanh(softplus(x)).
class Mish : public UnaryModule {
 public:
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::mish(x); }
};

/// Options of Softplus.
struct SoftplusOptions {
  double beta = 1.0;        ///< sharpness (> 0)
  double threshold = 20.0;  ///< above beta·x > threshold the result is x
};

/// ln(1 + e^(beta·x)) / beta.
class Softplus : public UnaryModule {
 public:
  /// Throws ValueError unless beta > 0.
  explicit Softplus(SoftplusOptions o = {});
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::softplus(x, options_.beta, options_.threshold); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  SoftplusOptions options_;
};

/// x / (1 + |x|).
class Softsign : public UnaryModule {
 public:
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::softsign(x); }
};

/// Options of Hardtanh.
struct HardtanhOptions {
  double min_val = -1.0;  ///< lower limit
  double max_val = 1.0;   ///< upper limit (≥ min_val)
};

/// x limited to [min_val, max_val].
class Hardtanh : public UnaryModule {
 public:
  /// Throws ValueError when min_val > max_val.
  explicit Hardtanh(HardtanhOptions o = {});
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::hardtanh(x, options_.min_val, options_.max_val); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  HardtanhOptions options_;
};

/// e^x / Σ e^x along dim.
class Softmax : public UnaryModule {
 public:
  /// Softmax along dim (negative counts from the end).
  explicit Softmax(std::int64_t dim = -1) : dim_(dim) {}
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::softmax(x, dim_); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  std::int64_t dim_;
};

/// x - logsumexp(x) along dim.
class LogSoftmax : public UnaryModule {
 public:
  /// LogSoftmax along dim (negative counts from the end).
  explicit LogSoftmax(std::int64_t dim = -1) : dim_(dim) {}
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return functional::log_softmax(x, dim_); }
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  std::int64_t dim_;
};

/// A new activation module by name, with default options: "sigmoid", "tanh", "relu", "leaky_relu",
/// "prelu", "elu", "selu", "gelu", "silu" (or "swish"), "mish", "softplus", "softsign", "hardtanh",
/// "identity" (or "" / "none"). ValueError listing the names for anything else. `dtype` is the dtype of
/// PReLU's learned slope.
std::shared_ptr<UnaryModule> make_activation(std::string_view name, Dtype dtype = kFloat32);

}  // namespace tg::nn
