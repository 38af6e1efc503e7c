// BatchSampler: the epoch's order is recomputed from (seed, epoch) alone, so resuming at epoch k after a
// restart reproduces exactly the batches an uninterrupted run would have seen.
#include "tapegrad/nn/loader.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "tapegrad/random.hpp"

namespace tg::nn {

namespace {

// A 64-bit finaliser (MurmurHash3's fmix64). Seeding with seed + epoch directly would give neighbouring
// epochs overlapping splitmix streams; hashing decorrelates them.
std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

}  // namespace

BatchSampler::BatchSampler(std::int64_t n, std::int64_t batch_size, bool shuffle, bool drop_last,
                           std::uint64_t seed)
    : n_(n), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last), seed_(seed) {
  if (n < 0) throw ValueError("BatchSampler: n must be >= 0, got " + std::to_string(n));
  if (batch_size < 1) throw ValueError("BatchSampler: batch_size must be >= 1, got " + std::to_string(batch_size));
  set_epoch(0);
}

void BatchSampler::set_epoch(std::int64_t epoch) {
  if (epoch < 0) throw ValueError("BatchSampler::set_epoch: epoch must be >= 0, got " + std::to_string(epoch));
  epoch_ = epoch;
  if (shuffle_) {
    order_ = permutation(n_, seed_, epoch);
  } else if (static_cast<std::int64_t>(order_.size()) != n_) {
    order_.resize(static_cast<std::size_t>(n_));
    std::iota(order_.begin(), order_.end(), std::int64_t{0});
  }
}

std::int64_t BatchSampler::size() const {
  return drop_last_ ? n_ / batch_size_ : (n_ + batch_size_ - 1) / batch_size_;
}

std::span<const std::int64_t> BatchSampler::batch(std::int64_t i) const {
  if (i < 0 || i >= size()) {
    throw IndexError("BatchSampler::batch: index " + std::to_string(i) + " is out of range for " +
                     std::to_string(size()) + " batches");
  }
  const std::int64_t first = i * batch_size_;
  const std::int64_t count = std::min(batch_size_, n_ - first);
  return std::span<const std::int64_t>(order_).subspan(static_cast<std::size_t>(first),
                                                       static_cast<std::size_t>(count));
}

std::vector<std::int64_t> BatchSampler::permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
  if (n < 0) throw ValueError("BatchSampler::permutation: n must be >= 0, got " + std::to_string(n));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  Generator gen(fmix64(seed ^ fmix64(static_cast<std::uint64_t>(epoch) + 0x9e3779b97f4a7c15ull)));
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[gen.below(i)]);
  }
  return order;
}

}  // namespace tg::nn
