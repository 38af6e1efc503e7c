// Internal: what a TensorNode keeps while tracing or anomaly mode is on, and helpers shared by the tensor
// tools (gradcheck's fault localisation, anomaly mode, DOT export).
#pragma once

#include <string>
#include <vector>

#include "tapegrad/tensor_node.hpp"

namespace tg::detail {

/// A traced node's inputs (constants included, in add_input order) and output, with their versions.
struct TensorTrace {
  boost::container::small_vector<SavedTensor, 2> inputs;
  SavedTensor output;
};

/// "shape [2, 3] float32, min -1, max 2.5, 1 NaN": a tensor in one phrase for reports (values read in
/// float64 and printed with `digits` significant digits; the NaN/Inf counts appear only when non-zero).
std::string tensor_summary(const Tensor& t, int digits = 6);
/// Number of NaN and Inf elements of a float tensor.
void count_nonfinite(const Tensor& t, std::size_t& nans, std::size_t& infs);
/// The label of the node's output when traced (or ""), for reports and graphs.
std::string node_label(const TensorNode& n);
/// Called by the checked sweep after a tensor node's backward: throws AnomalyError when a gradient it
/// sent to one of its inputs is not finite.
void anomaly_check_tensor_backward(const Tape& tape, const TensorNode& n, const Tensor& grad_out,
                                   const std::vector<std::uint32_t>& via, std::uint32_t top);

}  // namespace tg::detail
