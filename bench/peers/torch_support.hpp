// Plumbing of the LibTorch peer programs: the child-process and flag helpers shared with tapegrad's own
// programs (support/child.hpp), and setting every thread pool LibTorch uses.
#pragma once

#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "support/child.hpp"

namespace tgbench::torchpeer {

using namespace tgbench::child;  // NOLINT: the peers call the shared helpers as tp::...

/// Sizes LibTorch's intra-op (OpenMP) and inter-op pools and OpenBLAS's own pool. Debian's LibTorch calls
/// the system BLAS (OpenBLAS by default) for float GEMM, and torch::set_num_threads does not reach
/// OpenBLAS's pthread pool, which would otherwise use every core even at "1 thread". Call once, before any
/// tensor work; returns a note on what was set.
inline std::string set_threads(int n) {
  torch::set_num_threads(n);
  at::set_num_interop_threads(n);
  const std::string blas = set_blas_threads(n);
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  return std::to_string(n) + " intra-op/inter-op threads, " + blas + ", OMP_WAIT_POLICY=" +
         (wait != nullptr ? wait : "(unset: libgomp spins)");
}

}  // namespace tgbench::torchpeer
