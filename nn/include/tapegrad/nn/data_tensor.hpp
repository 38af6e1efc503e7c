// The raw data layer as tensors: a dataset of (features, targets) tensors, a loader that yields batches
// in the BatchSampler's order (seeded shuffling, drop_last), and Fashion-MNIST and the toy sets as
// tensors.
//
//   tg::nn::DataLoader loader(tg::nn::fashion_mnist_tensors(dir, true), {.batch_size = 64, .shuffle = true});
//   for (std::int64_t epoch = 0; epoch < 5; ++epoch) {
//     loader.set_epoch(epoch);
//     for (const tg::nn::Batch& b : loader) { ... b.x, b.y ... }
//   }
#pragma once

#include <cstdint>
#include <filesystem>
#include <iterator>
#include <span>

#include "tapegrad/nn/datasets.hpp"
#include "tapegrad/nn/idx.hpp"
#include "tapegrad/nn/loader.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn {

/// Samples stored as two tensors sharing their first dimension: features [n, ...] and targets [n, ...].
class TensorDataset {
 public:
  /// Checks that both are defined, at least 1-d and have the same first size (ShapeError otherwise).
  /// The tensors are detached and made contiguous (a copy only when they were not).
  TensorDataset(Tensor features, Tensor targets);
  /// Number of samples n.
  std::int64_t size() const { return features_.size(0); }
  /// The features tensor [n, ...].
  const Tensor& features() const { return features_; }
  /// The targets tensor [n, ...].
  const Tensor& targets() const { return targets_; }

 private:
  Tensor features_;
  Tensor targets_;
};

/// One mini-batch: rows of the features and of the targets.
struct Batch {
  Tensor x;  ///< features of the batch, [batch, ...].
  Tensor y;  ///< targets of the batch, [batch, ...].
};

/// Options of DataLoader.
struct DataLoaderOptions {
  std::int64_t batch_size = 1;  ///< samples per batch (>= 1).
  bool shuffle = false;         ///< a fresh seeded order each epoch.
  bool drop_last = false;       ///< skip a final batch shorter than batch_size.
  std::uint64_t seed = 0;       ///< seed of the shuffled orders.
};

/// Yields the batches of one epoch of a TensorDataset in BatchSampler order: the same (seed, epoch) gives
/// the same batches on every run. Rows are gathered into buffers that are reused once the previous
/// batch's tensors are no longer referenced (a batch still held elsewhere is never overwritten).
class DataLoader {
 public:
  /// A loader over `data`; ValueError for batch_size < 1.
  DataLoader(TensorDataset data, DataLoaderOptions options);
  /// Selects the epoch's order (>= 0, else ValueError).
  void set_epoch(std::int64_t epoch) { sampler_.set_epoch(epoch); }
  /// Number of batches per epoch.
  std::int64_t size() const { return sampler_.size(); }
  /// The dataset.
  const TensorDataset& dataset() const { return data_; }
  /// The sample indices of batch i of the current epoch.
  std::span<const std::int64_t> indices(std::int64_t i) const { return sampler_.batch(i); }
  /// Gathers batch i of the current epoch (IndexError when i is out of range).
  Batch batch(std::int64_t i);

  /// Input iterator over the current epoch's batches.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;

    iterator() = default;
    /// The current batch (gathered on first access).
    const Batch& operator*();
    /// Moves to the next batch.
    iterator& operator++() {
      ++index_;
      loaded_ = false;
      return *this;
    }
    /// Iterators are equal at the same batch of the same loader.
    friend bool operator==(const iterator& a, const iterator& b) {
      return a.loader_ == b.loader_ && a.index_ == b.index_;
    }

   private:
    friend class DataLoader;
    iterator(DataLoader* loader, std::int64_t index) : loader_(loader), index_(index) {}
    DataLoader* loader_ = nullptr;
    std::int64_t index_ = 0;
    bool loaded_ = false;
    Batch current_;
  };

  /// First batch of the current epoch.
  iterator begin() { return iterator(this, 0); }
  /// One past the last batch.
  iterator end() { return iterator(this, size()); }

 private:
  Tensor gather(const Tensor& src, std::span<const std::int64_t> idx, Tensor& cache);
  TensorDataset data_;
  BatchSampler sampler_;
  Tensor x_cache_;
  Tensor y_cache_;
};

/// A split of Fashion-MNIST as tensors: images float32 [n, 784] scaled to [0, 1], labels int64 [n].
TensorDataset fashion_mnist_tensors(const std::filesystem::path& dir, bool train);
/// An ImageDataset (as read by load_fashion_mnist) as tensors, as fashion_mnist_tensors.
TensorDataset image_dataset_tensors(const ImageDataset& data);
/// A toy 2-D set as tensors: points [n, 2] of `dtype` (float32 or float64), labels int64 [n].
TensorDataset toy_tensors(const ToyDataset& data, Dtype dtype = kFloat32);

}  // namespace tg::nn
