// Dependency-free SVG charts for the example programs: line charts, decision boundaries, small multiples
// and annotated heatmaps, each returned as a complete SVG 1.1 document string.
//
//   namespace plot = tg::plot;
//   std::vector<plot::Series> curves{{.name = "train", .x = steps, .y = train_loss},
//                                    {.name = "test", .x = steps, .y = test_loss}};
//   plot::save_svg(out / "loss.svg",
//                  plot::line_chart(curves, {.title = "Loss", .x_label = "step", .log_y = true}));
//
// Non-finite values never reach the SVG: points with NaN/Inf (or y <= 0 on a log axis) are left out and
// break the line there; options that cannot be drawn (an empty or infinite range, mismatched lengths,
// nothing finite to plot) throw tg::ValueError naming the function and the offending value.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tg::plot {

// ---------------------------------------------------------------------------------------------------
// Colours
// ---------------------------------------------------------------------------------------------------

/// The i-th colour (cycling) of the Okabe-Ito palette, which stays distinguishable under the common
/// forms of colour blindness; returned as "#rrggbb".
std::string_view palette(std::size_t i);

// ---------------------------------------------------------------------------------------------------
// Scales and ticks (public so that tests and callers can reason about where things land)
// ---------------------------------------------------------------------------------------------------

/// Maps a data interval [d0, d1] onto a pixel interval [r0, r1], linearly or by log10.
struct Scale {
  double d0 = 0.0;   ///< data value mapped to r0
  double d1 = 1.0;   ///< data value mapped to r1
  double r0 = 0.0;   ///< pixel coordinate of d0
  double r1 = 1.0;   ///< pixel coordinate of d1
  bool log = false;  ///< map log10(value) instead of value; d0, d1 must then be > 0

  /// Pixel coordinate of `v` (NaN when `v` cannot be placed, e.g. v <= 0 on a log scale).
  double operator()(double v) const;
};

/// "Nice" tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi] with about `target`
/// ticks; the first tick is <= lo and the last >= hi, so the axis can start and end on a tick.
/// Throws tg::ValueError when lo or hi is not finite or lo > hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// Tick values for a log10 axis over [lo, hi] (both > 0): powers of ten, thinned to every 2nd/5th/...
/// decade when there are many, with 2 and 5 added when the range spans less than about two decades.
/// The first tick is <= lo and the last >= hi. Throws tg::ValueError for non-positive or non-finite
/// bounds.
std::vector<double> log_ticks(double lo, double hi);

/// Formats a tick value with just enough digits for ticks `step` apart ("0.2", "150", "1e-05").
std::string format_tick(double v, double step);

// ---------------------------------------------------------------------------------------------------
// Text and files
// ---------------------------------------------------------------------------------------------------

/// Escapes &, <, >, " and ' for XML text and attribute values, and drops control characters that
/// XML 1.0 forbids (everything below 0x20 except tab, newline and carriage return).
std::string escape_xml(std::string_view text);

/// Writes `svg` to `path`, creating missing parent directories. Throws tg::Error when the file cannot
/// be written.
void save_svg(const std::filesystem::path& path, std::string_view svg);

// ---------------------------------------------------------------------------------------------------
// 1. Line chart
// ---------------------------------------------------------------------------------------------------

/// How a series is drawn.
enum class Style {
  line,             ///< a polyline through the points
  points,           ///< a marker at each point, no line
  line_and_points,  ///< both
};

/// One named (x, y) data series; x and y must have the same length.
struct Series {
  std::string name{};           ///< legend text; series with an empty name are left out of the legend
  std::vector<double> x{};      ///< x coordinates
  std::vector<double> y{};      ///< y coordinates
  std::string color{};          ///< "#rrggbb"; empty picks palette(index of the series)
  Style style = Style::line;  ///< line, markers or both
  bool dashed = false;        ///< dashed line, e.g. for a reference curve
  double width = 2.0;         ///< line width in pixels
};

/// Samples f at n evenly spaced points of [lo, hi] into a series called `name`.
Series function_series(std::string name, const std::function<double(double)>& f, double lo, double hi,
                       std::size_t n = 200);

/// A shaded vertical band [x0, x1], e.g. the x-range a model was trained on.
struct Band {
  double x0 = 0.0;                     ///< left edge in data units
  double x1 = 1.0;                     ///< right edge in data units
  std::string label = "trained range";  ///< text written at the top of the band (may be empty)
};

/// Where the legend goes. `best` takes a plot corner that hides no drawn ink, or, when every corner
/// would, a column right of the plot.
enum class LegendPos { best, top_right, top_left, bottom_right, bottom_left, none };

/// Options for line_chart(); all optional, designed for designated initializers.
struct LineChartOptions {
  std::string title{};                  ///< text above the plot
  std::string x_label{};                ///< text under the x axis
  std::string y_label{};                ///< text left of the y axis (rotated)
  bool log_y = false;                 ///< log10 y axis, e.g. for loss curves
  std::optional<Band> band{};           ///< shaded x-range drawn behind the series
  std::optional<double> x_min{};        ///< fixed x-axis start (default: from the data)
  std::optional<double> x_max{};        ///< fixed x-axis end
  std::optional<double> y_min{};        ///< fixed y-axis start; points outside are clipped
  std::optional<double> y_max{};        ///< fixed y-axis end
  LegendPos legend = LegendPos::best;  ///< shown when two or more series have names
  double width = 640.0;               ///< whole picture, pixels
  double height = 420.0;              ///< whole picture, pixels
};

/// A line chart of several series with axes, ticks, gridlines, a title and (with two or more named
/// series) a legend.
std::string line_chart(std::span<const Series> series, const LineChartOptions& options = {});

// ---------------------------------------------------------------------------------------------------
// 2. Decision boundary
// ---------------------------------------------------------------------------------------------------

/// A labelled point in the plane; `label` picks colour and marker (0, 1, 2, ...).
struct LabelledPoint {
  double x = 0.0;  ///< first coordinate
  double y = 0.0;  ///< second coordinate
  int label = 0;   ///< class index, >= 0
};

/// A function sampled on a regular grid: value(i, j) = f(x_min + i*dx, y_min + j*dy), where
/// dx = (x_max - x_min) / (nx - 1) and likewise dy.
struct Grid {
  double x_min = 0.0;          ///< x of column 0
  double x_max = 1.0;          ///< x of column nx-1
  double y_min = 0.0;          ///< y of row 0
  double y_max = 1.0;          ///< y of row ny-1
  std::size_t nx = 0;          ///< number of columns (>= 2)
  std::size_t ny = 0;          ///< number of rows (>= 2)
  std::vector<double> values{};  ///< row-major, values[j * nx + i]

  /// x coordinate of column i.
  double x_at(std::size_t i) const;
  /// y coordinate of row j.
  double y_at(std::size_t j) const;
  /// The sample at column i, row j.
  double at(std::size_t i, std::size_t j) const { return values[j * nx + i]; }
};

/// Samples f on an nx-by-ny grid over [x_min, x_max] x [y_min, y_max]. Throws tg::ValueError for
/// non-finite or empty ranges or fewer than 2 samples per axis.
Grid sample_grid(const std::function<double(double, double)>& f, double x_min, double x_max,
                 double y_min, double y_max, std::size_t nx, std::size_t ny);

/// A straight piece of a contour line, in data coordinates.
struct Segment {
  double x0 = 0.0;  ///< first end point, x
  double y0 = 0.0;  ///< first end point, y
  double x1 = 0.0;  ///< second end point, x
  double y1 = 0.0;  ///< second end point, y
};

/// The level-`level` contour of a grid by marching squares, with linear interpolation along cell edges
/// and the saddle cases resolved by the cell's mean. Cells with a non-finite corner are skipped.
std::vector<Segment> marching_squares(const Grid& grid, double level);

/// How decision_boundary() reads f.
enum class Shading {
  probability,  ///< f returns P(class 1) in [0, 1]; the background blends the two class colours
  class_index,  ///< f returns a class index (0, 1, 2, ...); each region takes its class colour
};

/// Options for decision_boundary().
struct DecisionOptions {
  std::string title{};                       ///< text above the plot
  std::string x_label = "x1";              ///< text under the x axis
  std::string y_label = "x2";              ///< text left of the y axis
  std::vector<std::string> class_names{};    ///< legend text per class (default "class 0", ...)
  Shading shading = Shading::probability;  ///< meaning of f's value
  double level = 0.5;                      ///< probability contour drawn as the boundary line
  std::optional<double> x_min{};             ///< view range (default: the points plus a margin)
  std::optional<double> x_max{};             ///< view range
  std::optional<double> y_min{};             ///< view range
  std::optional<double> y_max{};             ///< view range
  std::size_t resolution = 120;            ///< grid samples per axis for the background and contour
  int bands = 10;                          ///< colour steps of the probability background
  double width = 560.0;                    ///< whole picture, pixels
  double height = 520.0;                   ///< whole picture, pixels
};

/// Labelled points over the model's decision regions: f is sampled on a grid and drawn as coloured
/// cells, the boundary is traced by marching squares, then the points go on top with one colour and
/// marker shape per class. Evaluate f without recording (tg::NoGradGuard): it runs resolution^2 times.
std::string decision_boundary(std::span<const LabelledPoint> points,
                              const std::function<double(double, double)>& f,
                              const DecisionOptions& options = {});

/// The grid decision_boundary() would sample for these points and options (the view, square around
/// the points unless given, at options.resolution per axis), with every value NaN. Fill `values`
/// yourself, e.g. with one batched forward pass, and pass the grid to the overload below.
Grid decision_grid(std::span<const LabelledPoint> points, const DecisionOptions& options = {});

/// As above, from values already sampled on `grid`; the view is the grid's range.
std::string decision_boundary(std::span<const LabelledPoint> points, const Grid& grid,
                              const DecisionOptions& options = {});

// ---------------------------------------------------------------------------------------------------
// 3. Small multiples
// ---------------------------------------------------------------------------------------------------

/// One small plot of a panel_grid().
struct Panel {
  std::string title{};           ///< text above the panel
  std::vector<Series> series{};  ///< the curves of this panel
  bool log_y = false;          ///< log10 y axis
  std::optional<double> y_min{};  ///< fixed y-axis start
  std::optional<double> y_max{};  ///< fixed y-axis end
};

/// Options for panel_grid().
struct PanelGridOptions {
  std::string title{};            ///< text above the whole grid
  std::size_t columns = 4;      ///< panels per row
  double panel_width = 230.0;   ///< one panel, pixels
  double panel_height = 190.0;  ///< one panel, pixels
};

/// A grid of small line plots, each with its own title and axes; one shared legend lists every
/// distinct (name, colour) pair of the panels' series.
std::string panel_grid(std::span<const Panel> panels, const PanelGridOptions& options = {});

// ---------------------------------------------------------------------------------------------------
// 4. Heatmap
// ---------------------------------------------------------------------------------------------------

/// Options for heatmap().
struct HeatmapOptions {
  std::string title{};                    ///< text above the matrix
  std::string x_label = "predicted";    ///< text under the columns
  std::string y_label = "true";         ///< text left of the rows
  std::vector<std::string> row_labels{};  ///< one per row (default "0", "1", ...)
  std::vector<std::string> col_labels{};  ///< one per column (default "0", "1", ...)
  int decimals = -1;                    ///< digits after the point in cells; -1: 0 for integers, else 2
  double cell = 56.0;                   ///< cell side, pixels
};

/// A rows-by-cols matrix (row-major `values`) as coloured cells with the number written in each, e.g.
/// a confusion matrix. Non-finite cells are drawn grey and left blank.
std::string heatmap(std::span<const double> values, std::size_t rows, std::size_t cols,
                    const HeatmapOptions& options = {});

}  // namespace tg::plot
