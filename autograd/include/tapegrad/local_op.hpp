// LocalOp: one recorded op seen as a plain float64 function of its recorded inputs, so that gradcheck can
// compare the op's backward rule with numeric differences (nodes and custom ops describe themselves so).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace tg {

/// A recorded op, detached from the tape: its inputs at their recorded values and two callables that
/// re-run its forward and its backward rule at any inputs. Filled by Node::local_op().
struct LocalOp {
  /// The op's name, as in errors and graphs.
  std::string name;
  /// The op's label when the node knows it (a traced tensor op's output label), else "".
  std::string label;
  /// Why Node::local_op() returned false, when the node can say ("recorded without tracing", ...).
  std::string unavailable;
  /// The shape of each input ({} for a scalar); their element counts add up to inputs.size().
  std::vector<std::vector<std::int64_t>> input_shapes;
  /// The shape of the output ({} for a scalar).
  std::vector<std::int64_t> output_shape;
  /// Every input element at its recorded value, inputs concatenated in order.
  std::vector<double> inputs;
  /// The forward: flat inputs to flat output.
  std::function<std::vector<double>(std::span<const double>)> forward;
  /// The backward rule at inputs x: the vector-Jacobian product out_grad^T J(x), flat, one entry per input
  /// element.
  std::function<std::vector<double>(std::span<const double> x, std::span<const double> out_grad)> backward;
};

}  // namespace tg
