// Graph export: the recorded graph behind a Var as Graphviz DOT, with op names, labels, values and
// gradients, and a one-call helper that writes the .dot file and renders it to SVG when `dot` exists.
#pragma once

#include <cstddef>
#include <string>

#include "tapegrad/var.hpp"

namespace tg {

/// Options of the DOT export.
struct DotOptions {
  /// The graph's title (shown at the top).
  std::string title = "tapegrad";
  /// At most this many nodes (the ones closest to the output in tape order); a note says what was left out.
  std::size_t max_nodes = 2000;
  /// Print each edge's local derivative d consumer / d input.
  bool show_partials = true;
  /// Significant digits of printed numbers.
  int digits = 6;
};

/// The part of y's tape that y depends on, as a DOT digraph: one node per op (name, label, value when the
/// tape keeps values or the op reports it, accumulated gradient after a backward), edges from inputs to
/// the ops that read them. Leaves are boxes; labelled nodes are bold.
std::string to_dot(const Var& y, const DotOptions& options = {});

/// What write_graph produced.
struct GraphFiles {
  /// The .dot file written.
  std::string dot_path;
  /// The rendered SVG, or "" when Graphviz's `dot` program is not installed (or failed).
  std::string svg_path;
};

/// Writes DOT text to `path` (a .dot file) and, when the `dot` program is on the PATH, renders `path`
/// with ".svg" in place of ".dot". Throws ValueError if the file cannot be written; a missing or
/// failing `dot` is not an error (svg_path stays empty).
GraphFiles write_dot(const std::string& dot, const std::string& path);

/// write_dot(to_dot(y, options), path): the graph recorded for y, as .dot and (with Graphviz) .svg.
GraphFiles write_graph(const Var& y, const std::string& path, const DotOptions& options = {});

/// True when Graphviz's `dot` program can be run.
bool graphviz_available();

}  // namespace tg
