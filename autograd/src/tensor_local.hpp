// Internal: a recorded tensor op as a LocalOp (a float64 function of its flat inputs with a backward
// rule), so that gradcheck's fault localisation can test it alone.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tapegrad/local_op.hpp"
#include "tapegrad/tensor_tools.hpp"

namespace tg::detail {

/// Re-runs an op on new inputs (recorded when they require grad).
using TensorRerun = std::function<Tensor(const std::vector<Tensor>&)>;

/// The re-run of a built-in op from its name and its inputs when they determine it (exp, mul of two
/// tensors, matmul, reshape to the recorded output shape...). False, with the reason in `why`, for ops
/// whose parameters were not recorded (x * 3, sum over dims, softmax's dim) or inputs at a kink.
bool builtin_rerun(const char* name, const std::vector<Tensor>& inputs, const Shape& out_shape, TensorRerun& rerun,
                   std::string& why);

/// Fills `out` (name and label already set) from the op's recorded inputs: its forward is `rerun` in
/// float64; its backward is `direct` (a custom op's own backward) when given, else the gradient of a fresh
/// recording of `rerun`. False, with out.unavailable set, when an input is not a float tensor.
bool local_op_from_rerun(const std::vector<Tensor>& inputs, const Shape& out_shape, TensorRerun rerun,
                         const CustomTensorOp::Backward* direct, LocalOp& out);

}  // namespace tg::detail
