// Mini-batching over sample indices, in the spirit of PyTorch's BatchSampler: the sampler hands out
// batches of row indices; gathering the rows into tensors is left to the caller (see gather_rows).
//
//   tg::nn::BatchSampler batches(data.size(), 32, /*shuffle=*/true, /*drop_last=*/false, /*seed=*/1);
//   for (std::int64_t epoch = 0; epoch < 10; ++epoch) {
//     batches.set_epoch(epoch);                  // a new order per epoch, the same on every run
//     for (std::span<const std::int64_t> idx : batches) { ... }
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/error.hpp"

namespace tg::nn {

/// Splits the indices 0..n-1 into batches, optionally in a shuffled order that depends only on
/// (seed, epoch): setting the same epoch again, or on another run, gives the same batches.
class BatchSampler {
 public:
  /// Batches of `batch_size` over n samples. With `drop_last` a final batch shorter than batch_size is
  /// skipped; without it the last batch holds the n % batch_size leftovers. Throws tg::ValueError when
  /// n < 0 or batch_size < 1. Starts at epoch 0.
  BatchSampler(std::int64_t n, std::int64_t batch_size, bool shuffle = false, bool drop_last = false,
               std::uint64_t seed = 0);

  /// Selects the order for `epoch` (>= 0, else tg::ValueError); without shuffle the order never changes.
  void set_epoch(std::int64_t epoch);
  /// The current epoch.
  std::int64_t epoch() const { return epoch_; }
  /// Number of samples.
  std::int64_t num_samples() const { return n_; }
  /// Samples per full batch.
  std::int64_t batch_size() const { return batch_size_; }
  /// Number of batches in one epoch.
  std::int64_t size() const;
  /// Batch i of the current epoch (0 <= i < size(), else tg::IndexError); valid until set_epoch.
  std::span<const std::int64_t> batch(std::int64_t i) const;
  /// The current epoch's order of all n indices (a permutation of 0..n-1).
  std::span<const std::int64_t> order() const { return order_; }

  /// The permutation a shuffling sampler uses for (n, seed, epoch): a seeded Fisher–Yates shuffle.
  static std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch);

  /// Forward iterator over the current epoch's batches.
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::span<const std::int64_t>;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    iterator() = default;
    /// The batch this iterator points at.
    value_type operator*() const { return sampler_->batch(index_); }
    /// Advances to the next batch.
    iterator& operator++() {
      ++index_;
      return *this;
    }
    /// Advances to the next batch, returning the old position.
    iterator operator++(int) {
      iterator old = *this;
      ++index_;
      return old;
    }
    /// Iterators are equal when they point at the same batch of the same sampler.
    friend bool operator==(const iterator& a, const iterator& b) {
      return a.sampler_ == b.sampler_ && a.index_ == b.index_;
    }

   private:
    friend class BatchSampler;
    iterator(const BatchSampler* sampler, std::int64_t index) : sampler_(sampler), index_(index) {}
    const BatchSampler* sampler_ = nullptr;
    std::int64_t index_ = 0;
  };

  /// First batch of the current epoch.
  iterator begin() const { return iterator(this, 0); }
  /// One past the last batch of the current epoch.
  iterator end() const { return iterator(this, size()); }

 private:
  std::int64_t n_;
  std::int64_t batch_size_;
  bool shuffle_;
  bool drop_last_;
  std::uint64_t seed_;
  std::int64_t epoch_ = 0;
  std::vector<std::int64_t> order_;
};

/// Copies the rows `indices` of a row-major matrix with `cols` columns into a new row-major matrix
/// (e.g. the features of one batch). Throws tg::IndexError for an index outside the matrix.
template <class T>
std::vector<T> gather_rows(std::span<const T> matrix, std::size_t cols, std::span<const std::int64_t> indices) {
  const std::size_t rows = cols == 0 ? 0 : matrix.size() / cols;
  std::vector<T> out;
  out.reserve(indices.size() * cols);
  for (const std::int64_t i : indices) {
    if (i < 0 || static_cast<std::size_t>(i) >= rows) {
      throw IndexError("gather_rows: row index " + std::to_string(i) + " is out of range for " +
                       std::to_string(rows) + " rows");
    }
    const auto first = matrix.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(i) * cols);
    out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(cols));
  }
  return out;
}

}  // namespace tg::nn
