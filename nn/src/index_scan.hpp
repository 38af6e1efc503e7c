// Reading int64 index tensors (class targets, embedding indices) without copying them (private).
#pragma once

#include <cstdint>

#include "tapegrad/tensor.hpp"

namespace tg::nn::index_scan {

/// Calls f(i) for every element of the int64 tensor t in row-major order; no allocation when t is
/// contiguous (the common case of a batch of targets).
template <class F>
void for_each(const Tensor& t, F&& f) {
  if (t.is_contiguous()) {
    const std::int64_t* p = t.data_ptr<std::int64_t>();
    const std::int64_t n = t.numel();
    for (std::int64_t k = 0; k < n; ++k) f(p[k]);
    return;
  }
  for (const std::int64_t i : t.to_vector<std::int64_t>()) f(i);
}

}  // namespace tg::nn::index_scan
