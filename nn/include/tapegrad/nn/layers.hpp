// The standard layers: Linear, Dropout, Flatten, Identity, LayerNorm, BatchNorm1d and Embedding. Each
// takes its options as a plain struct with defaults, validates them in the constructor, and names itself
// and both shapes when a forward input does not fit.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn {

/// Options of Linear.
struct LinearOptions {
  std::int64_t in_features = 0;   ///< size of each input's last dimension (> 0)
  std::int64_t out_features = 0;  ///< size of each output's last dimension (> 0)
  bool bias = true;               ///< add a learned bias
  Dtype dtype = kFloat32;         ///< dtype of weight and bias
};

/// y = x·Wᵀ + b with W [out_features, in_features] and b [out_features], initialised as PyTorch does:
/// U(-1/√in, 1/√in) for both (kaiming_uniform with a = √5 for W).
class Linear : public UnaryModule {
 public:
  /// Throws ValueError for non-positive sizes or a non-float dtype.
  explicit Linear(LinearOptions o);
  /// Linear(in, out) with a bias, float32; `with_bias` false leaves the bias out.
  Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias = true, Dtype dtype = kFloat32);
  /// x [..., in_features] → [..., out_features]. ShapeError names the layer and both shapes.
  Tensor forward(const Tensor& x) override;
  /// Draws weight and bias afresh from the default generator.
  void reset_parameters();
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  /// The options the layer was built with.
  const LinearOptions& options() const { return options_; }

  Tensor weight;  ///< [out_features, in_features]
  Tensor bias;    ///< [out_features], undefined without bias

 private:
  LinearOptions options_;
};

/// Options of Dropout.
struct DropoutOptions {
  double p = 0.5;                      ///< probability of zeroing an element, in [0, 1]
  std::optional<std::uint64_t> seed{};   ///< own generator seeded with this; else the default generator
};

/// Zeroes elements with probability p and scales the others by 1/(1-p) in training; identity in eval().
class Dropout : public UnaryModule {
 public:
  /// Throws ValueError unless 0 ≤ p ≤ 1.
  explicit Dropout(DropoutOptions o = {});
  /// Dropout with probability p, drawing from the default generator.
  explicit Dropout(double p) : Dropout(DropoutOptions{.p = p}) {}
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override;
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  /// The options the layer was built with.
  const DropoutOptions& options() const { return options_; }

 protected:
  /// The generator made from options().seed, or nullptr when drawing from the default generator.
  Generator* own_generator() const override { return gen_.get(); }

 private:
  DropoutOptions options_;
  // On the heap: a const module can hand out its generator, as state_dict() hands out its tensors, and
  // the pointer stays valid when the module is moved.
  std::unique_ptr<Generator> gen_;
};

/// Merges dims start_dim..end_dim into one (by default everything but the batch dim).
class Flatten : public UnaryModule {
 public:
  /// Flatten over [start_dim, end_dim] (negative dims count from the end).
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1);
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override;
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;

 private:
  std::int64_t start_dim_;
  std::int64_t end_dim_;
};

/// Returns its input (a placeholder in Sequential or when switching a layer off).
class Identity : public UnaryModule {
 public:
  /// A layer that returns its input.
  Identity() = default;
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override { return x; }
};

/// Options of LayerNorm.
struct LayerNormOptions {
  Shape normalized_shape{};          ///< the trailing dims normalised over (non-empty, positive sizes)
  double eps = 1e-5;               ///< added to the variance (> 0)
  bool elementwise_affine = true;  ///< learn weight (ones) and bias (zeros) of normalized_shape
  bool bias = true;                ///< with elementwise_affine: learn the bias too
  Dtype dtype = kFloat32;          ///< dtype of weight and bias
};

/// (x - mean) / √(var + eps) · weight + bias over the trailing normalized_shape (biased variance).
class LayerNorm : public UnaryModule {
 public:
  /// Throws ValueError for an empty or non-positive normalized_shape or eps ≤ 0.
  explicit LayerNorm(LayerNormOptions o);
  /// LayerNorm over the trailing dims `normalized_shape`.
  explicit LayerNorm(Shape normalized_shape) : LayerNorm(LayerNormOptions{.normalized_shape = std::move(normalized_shape)}) {}
  /// Applies the layer to x (see the class comment).
  Tensor forward(const Tensor& x) override;
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  /// The options the layer was built with.
  const LayerNormOptions& options() const { return options_; }

  Tensor weight;  ///< normalized_shape, undefined without elementwise_affine
  Tensor bias;    ///< normalized_shape, undefined without elementwise_affine or bias

 private:
  LayerNormOptions options_;
};

/// Options of BatchNorm1d.
struct BatchNormOptions {
  std::int64_t num_features = 0;         ///< C of inputs [N, C] or [N, C, L] (> 0)
  double eps = 1e-5;                     ///< added to the variance (> 0)
  std::optional<double> momentum = 0.1;  ///< running-stat update weight; empty: cumulative average
  bool affine = true;                    ///< learn weight (ones) and bias (zeros)
  bool track_running_stats = true;       ///< keep running_mean / running_var buffers
  Dtype dtype = kFloat32;                ///< dtype of parameters and running statistics
};

/// Batch normalisation over the batch (and length) dims, per channel. Training uses the batch's
/// statistics and updates the buffers running_mean, running_var (unbiased) and num_batches_tracked;
/// eval() uses the running statistics.
class BatchNorm1d : public UnaryModule {
 public:
  /// Throws ValueError for num_features ≤ 0, eps ≤ 0 or momentum outside [0, 1].
  explicit BatchNorm1d(BatchNormOptions o);
  /// BatchNorm1d over num_features channels with the default options.
  explicit BatchNorm1d(std::int64_t num_features) : BatchNorm1d(BatchNormOptions{.num_features = num_features}) {}
  /// x [N, C] or [N, C, L]; ShapeError names the layer and the shape otherwise.
  Tensor forward(const Tensor& x) override;
  /// Resets the running statistics to mean 0, variance 1 and zero batches.
  void reset_running_stats();
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  /// The options the layer was built with.
  const BatchNormOptions& options() const { return options_; }

  Tensor weight;               ///< [C], undefined without affine
  Tensor bias;                 ///< [C], undefined without affine
  Tensor running_mean;         ///< buffer [C]
  Tensor running_var;          ///< buffer [C]
  Tensor num_batches_tracked;  ///< buffer [] (int64)

 private:
  BatchNormOptions options_;
};

/// Options of Embedding.
struct EmbeddingOptions {
  std::int64_t num_embeddings = 0;          ///< number of rows (> 0)
  std::int64_t embedding_dim = 0;           ///< size of each row (> 0)
  std::optional<std::int64_t> padding_idx{};  ///< a row kept at zero that receives no gradient
  Dtype dtype = kFloat32;                   ///< dtype of the table
};

/// A lookup table: int64 indices of any shape → rows of `weight` [num_embeddings, embedding_dim],
/// initialised N(0, 1) as in PyTorch (the padding row zero).
class Embedding : public UnaryModule {
 public:
  /// Throws ValueError for non-positive sizes or a padding_idx outside [-num, num).
  explicit Embedding(EmbeddingOptions o);
  /// Embedding of num_embeddings rows of embedding_dim.
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : Embedding(EmbeddingOptions{.num_embeddings = num_embeddings, .embedding_dim = embedding_dim}) {}
  /// indices [...] → [..., embedding_dim]; IndexError names the layer and the bad index.
  Tensor forward(const Tensor& indices) override;
  /// Writes the layer with its options, as a printed model shows it.
  void pretty_print(std::ostream& os) const override;
  /// The options the layer was built with.
  const EmbeddingOptions& options() const { return options_; }

  Tensor weight;  ///< [num_embeddings, embedding_dim]

 private:
  EmbeddingOptions options_;
};

}  // namespace tg::nn
