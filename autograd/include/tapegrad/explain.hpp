// explain(y, x): the gradient dy/dx taken apart into the chain-rule paths of the recorded graph, both edge
// by edge and collapsed onto labelled intermediate Vars, with the sum over paths checked against autograd.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/var.hpp"

namespace tg {

/// Options of explain().
struct ExplainOptions {
  /// How many paths each view lists, the largest |product| first.
  std::size_t top_k = 10;
  /// Digits of the numbers printed by Explanation::str().
  int digits = 9;
  /// Longest path printed in full; longer ones show their ends around an ellipsis.
  std::size_t max_printed_steps = 24;
  /// Work limit of the collapsed view, in edge visits summed over labelled nodes: each labelled node needs
  /// the unlabelled region below it. With labels every few nodes of a chain that is linear, but in a wide
  /// graph with sparse labels the regions overlap almost entirely, so the work is (labelled nodes) x
  /// (graph size), and the collapsed view itself has up to (labelled nodes)^2 / 2 edges. Labelled nodes
  /// are swept 64 at a time, which brings an edge visit to about 2 ns (one core, Release); past this limit
  /// (a few seconds) the view is skipped (Explanation::collapsed_skipped) and the elementary one is kept.
  std::size_t collapse_budget = 2'000'000'000;
};

/// One chain-rule path from y down to x: slots[0] is y, slots.back() is x, and factors[i] is the local
/// derivative d slots[i] / d slots[i+1] (for a collapsed path: the sum over the sub-paths between the two
/// labelled nodes).
struct ExplainPath {
  std::vector<std::uint32_t> slots;
  std::vector<double> factors;
  /// The product of the factors: this path's contribution to the gradient.
  double product = 1.0;
  /// log|product|, summed factor by factor: the ranking key, meaningful even where `product` underflows
  /// (a long path of factors below 1).
  double log_abs_product = 0.0;
};

/// The paths of one view of the graph.
struct ExplainView {
  /// The top-k paths by |product|, largest first.
  std::vector<ExplainPath> paths;
  /// How many paths there are in all (a double: it can be astronomically large).
  double num_paths = 0.0;
  /// The sum over all paths, by dynamic programming (never by enumerating them).
  double total = 0.0;
};

/// How one tape slot appears in an explanation (copied, so the explanation outlives the tape).
struct SlotInfo {
  /// The op name ("mul", "sigmoid", a custom op's name; "leaf" for an input).
  std::string op;
  /// The label given with Var::label, or "".
  std::string label;
  /// A display name: the label, or `op#slot`.
  std::string name;
};

/// The result of explain(). str() prints it; the fields are there for tests and tools.
struct Explanation {
  /// The slots of y and x.
  std::uint32_t y_slot = 0;
  std::uint32_t x_slot = 0;
  /// dy/dx by a fresh autograd sweep (retaining the graph); equal to `elementary.total` when consistent.
  double gradient = 0.0;
  /// False when autograd could not be re-run (the graph was released by a backward without
  /// retain_graph); the totals are then only checked against each other.
  bool autograd_checked = false;
  /// True when the sums over paths of both views equal the gradient (to rounding).
  bool consistent = true;
  /// Paths edge by edge: every recorded statement on the way is a step.
  ExplainView elementary;
  /// Paths through labelled nodes only: each factor sums the sub-paths between consecutive labelled
  /// nodes (y and x always count as labelled).
  ExplainView collapsed;
  /// True when the collapsed view exceeded options.collapse_budget and was left empty.
  bool collapsed_skipped = false;
  /// Ops on the way whose local derivatives are unknown (opaque coarse nodes); paths through them are
  /// missing, so the sums cannot match.
  std::vector<std::string> opaque_ops;
  /// Names of every slot that appears in a listed path.
  std::map<std::uint32_t, SlotInfo> slots;
  /// The options used.
  ExplainOptions options;

  /// The display name of a slot in this explanation.
  std::string name(std::uint32_t slot) const;
  /// The collapsed view as products: "∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5 = 0.74136507 × ...".
  std::string collapsed_str() const;
  /// The elementary view, one path per line with every edge's local derivative.
  std::string elementary_str() const;
  /// Both views with the totals and the check against autograd.
  std::string str() const;
};

/// Explains dy/dx as a sum over the chain-rule paths of the graph recorded between x and y. The elementary
/// view is linear in the recorded graph (plus top_k times the path lengths); the collapsed view costs the
/// regions below the labelled nodes (see ExplainOptions::collapse_budget). Measured on 10^6 recorded ops
/// (Release, a loaded 2-core machine, medians of 3): a chain 1.1-1.7 s, a wide random DAG (each value
/// mixes two of the last 50) 0.3 s without labels or with a label every 30000 ops, 0.5 s with one every
/// 3000, 2.0 s with one every 300; with one every 90 the collapsed view exceeds its budget and is skipped
/// after 3.5 s. Throws TapeError if y or x is stale or on another tape. y and x must be recorded on the
/// same tape.
Explanation explain(const Var& y, const Var& x, const ExplainOptions& options = {});

}  // namespace tg
