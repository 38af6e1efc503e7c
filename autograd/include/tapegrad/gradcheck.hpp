// Gradient checking: autograd against float64 central differences, with the fault pinned to the first
// recorded op whose backward is wrong; and a checker for hand-derived gradients.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/local_op.hpp"
#include "tapegrad/var.hpp"

namespace tg {

/// A differentiable function of scalar inputs, as gradcheck sees it.
using VarFunction = std::function<Var(std::span<const Var>)>;
/// A hand-derived gradient: the partial derivative of the function for each input, at x.
using HandGradient = std::function<std::vector<double>(std::span<const double> x)>;

/// Tolerances and switches of gradcheck and check_gradient.
struct GradcheckOptions {
  /// An element passes when |autograd - numeric| <= atol + rtol * |numeric|.
  double atol = 1e-6;
  /// See atol.
  double rtol = 1e-4;
  /// Central-difference step; 0 picks one per element, cbrt(machine eps) * max(1, |x|), which balances
  /// truncation and rounding error (about 1e-10 absolute for well-scaled functions). An element that
  /// disagrees at this step gets up to three tenfold smaller ones (steep functions such as log near 0
  /// need them); it fails only if none agrees.
  double step = 0.0;
  /// On failure, check each recorded op's local backward to find the first wrong one.
  bool localize = true;
  /// Names of the inputs in reports (default x0, x1, ...); they also become the leaves' labels.
  std::vector<std::string> names;
};

/// How far autograd is from numeric differences for one input (for scalars: its only element).
struct InputError {
  /// The input's name.
  std::string name;
  /// The input's shape ({} for a scalar).
  std::vector<std::int64_t> shape;
  /// Flat index of the element with the largest absolute error.
  std::size_t worst_element = 0;
  /// The same element as a multi-index ({} for a scalar).
  std::vector<std::int64_t> worst_index;
  /// Autograd's and the numeric derivative at that element.
  double analytic = 0.0;
  double numeric = 0.0;
  /// Largest |analytic - numeric| over the input's elements.
  double max_abs_error = 0.0;
  /// Largest |analytic - numeric| / max(|analytic|, |numeric|) (0 where both are 0).
  double max_rel_error = 0.0;
  /// True when every element is within tolerance.
  bool ok = true;
};

/// The verdict on one recorded op's backward, checked on its own at its recorded inputs.
struct OpCheck {
  /// The op's name, its label on the tape ("" if none) and its tape slot.
  std::string op;
  std::string label;
  std::uint32_t slot = 0;
  /// The shapes of its inputs ({} per scalar input).
  std::vector<std::vector<std::int64_t>> input_shapes;
  /// Where the backward is furthest from numeric differences: input index, flat element in that input.
  std::size_t worst_input = 0;
  std::size_t worst_element = 0;
  /// The backward's and the numeric derivative there, and their absolute and relative error.
  double analytic = 0.0;
  double numeric = 0.0;
  double abs_error = 0.0;
  double rel_error = 0.0;
  /// True when every element is within tolerance.
  bool ok = true;
  /// One line: "'cube' (label 'c') at tape slot 4, inputs [] ...: backward 1.5, numeric 3 ...".
  std::string describe() const;
};

/// The result of gradcheck: per input errors and, on failure, the first faulty op.
struct GradcheckResult {
  /// True when every input passed.
  bool ok = true;
  /// One entry per input, in order.
  std::vector<InputError> inputs;
  /// The first recorded op (in recording order) whose backward disagrees with its own forward.
  std::optional<OpCheck> fault;
  /// How many recorded ops were checked on their own before the fault was found: custom ops, nodes
  /// implementing Node::local_op, and built-in statements that their opcode and recorded inputs
  /// determine (sin of a Var, a product of two Vars; not x * 3, whose constant is not on the tape).
  std::size_t ops_checked = 0;
  /// Recorded ops that could not be re-run alone, each with the reason ("exp#3: recorded without
  /// tracing", "mul#4: a constant operand was folded in ..."); filled while localising a fault, for scalar
  /// and tensor graphs alike, with the ops recorded before the fault (all of them when none is found).
  std::vector<std::string> not_checked;
  /// Notes on how the check ran (inputs converted from float32, the output projected on random weights).
  std::vector<std::string> notes;
  /// The options used.
  GradcheckOptions options;
  /// A human-readable report (a line per input; the faulty op if any).
  std::string report() const;
  /// Same as ok.
  explicit operator bool() const { return ok; }
};

/// Checks the gradient of f at `inputs`: autograd (one reverse sweep) against central differences of f
/// evaluated in float64 with recording off. On failure (and with options.localize) every recorded op
/// that can be re-run (see GradcheckResult::ops_checked) has its backward checked at its recorded inputs,
/// in recording order, and the first wrong one is reported.
GradcheckResult gradcheck(const VarFunction& f, std::span<const double> inputs,
                          const GradcheckOptions& options = {});
/// Same, with a braced list of inputs: `tg::gradcheck(f, {0.5, 2.0})`.
GradcheckResult gradcheck(const VarFunction& f, std::initializer_list<double> inputs,
                          const GradcheckOptions& options = {});

/// Checks one op's backward rule against numeric differences of its forward at its recorded inputs
/// (the building block of gradcheck's fault localisation, usable on its own by tensor ops).
OpCheck check_local_op(const LocalOp& op, const GradcheckOptions& options = {});

/// One element of a check_gradient comparison.
struct GradientRow {
  /// The input's name.
  std::string name;
  /// The hand-derived, autograd and numeric derivatives.
  double hand = 0.0;
  double autograd = 0.0;
  double numeric = 0.0;
  /// Whether the hand value and the autograd value each agree with the numeric one.
  bool hand_ok = true;
  bool autograd_ok = true;
};

/// The result of check_gradient: a row per element and a verdict in words.
struct GradientComparison {
  /// True when the hand gradient agrees with numeric differences everywhere.
  bool ok = true;
  /// One row per input.
  std::vector<GradientRow> rows;
  /// Names of the elements where the hand gradient is wrong, worst first.
  std::vector<std::string> wrong;
  /// One paragraph: the verdict, naming the wrong elements.
  std::string verdict;
  /// A table of every element followed by the verdict.
  std::string report() const;
  /// Same as ok.
  explicit operator bool() const { return ok; }
};

/// Compares a hand-derived gradient with autograd and with numeric differences, element by element.
GradientComparison check_gradient(const VarFunction& f, const HandGradient& hand,
                                  std::span<const double> inputs, const GradcheckOptions& options = {});
/// Same, with a braced list of inputs.
GradientComparison check_gradient(const VarFunction& f, const HandGradient& hand,
                                  std::initializer_list<double> inputs, const GradcheckOptions& options = {});

}  // namespace tg
