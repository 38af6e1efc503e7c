// Internal building blocks of plot.cpp: an SVG document writer, colours, and the shared axes renderer.
// Not part of the public plotting API; the names live in tg::plot::detail.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plot.hpp"

namespace tg::plot::detail {

/// A coordinate or length as SVG text: at most 2 decimals, no trailing zeros, never "-0". Throws
/// tg::ValueError for a non-finite value so that a bug can never write "nan" into a document.
std::string num(double v);

/// Appends the path command `cmd` (M or L) to the point (x, y) to path data `d`.
void path_cmd(std::string& d, char cmd, double x, double y);

/// ` name="value"` with the value escaped.
std::string attr(std::string_view name, std::string_view value);

/// Rough width of `text` in pixels at `font_size` for a sans-serif font (layout only).
double text_width(std::string_view text, double font_size);

/// An axis-aligned rectangle in pixels.
struct Rect {
  double x = 0.0;  ///< left
  double y = 0.0;  ///< top
  double w = 0.0;  ///< width
  double h = 0.0;  ///< height

  /// Right edge.
  double right() const { return x + w; }
  /// Bottom edge.
  double bottom() const { return y + h; }
  /// Whether (px, py) lies inside, edges included.
  bool contains(double px, double py) const { return px >= x && px <= right() && py >= y && py <= bottom(); }
};

/// An sRGB colour with components in [0, 1].
struct Rgb {
  double r = 0.0;  ///< red
  double g = 0.0;  ///< green
  double b = 0.0;  ///< blue
};

/// Parses "#rrggbb" (or "#rgb"); throws tg::ValueError otherwise.
Rgb parse_color(std::string_view hex);
/// "#rrggbb" of `c`.
std::string hex(Rgb c);
/// (1 - t) * a + t * b per component.
Rgb mix(Rgb a, Rgb b, double t);
/// Relative luminance (WCAG), used to pick black or white text on a cell.
double luminance(Rgb c);

/// How a text element is anchored and styled.
struct TextStyle {
  double size = 12.0;             ///< font size in pixels
  std::string_view anchor = "start";  ///< start, middle or end
  bool bold = false;              ///< font-weight bold
  double rotate = 0.0;            ///< degrees, about the anchor point
  std::string_view fill = "#222222";  ///< text colour
  double dy_em = 0.35;            ///< baseline shift in em; 0.35 centres digits on y
};

/// Accumulates one SVG 1.1 document. Every number goes through num() and every text through
/// escape_xml(), so the output is well-formed whatever the caller passes.
class SvgWriter {
 public:
  /// Starts a document of the given pixel size with a white background.
  SvgWriter(double width, double height, std::string_view title);
  /// A rectangle; `style` holds extra attributes such as fill="...".
  void rect(const Rect& r, std::string_view style);
  /// A straight line.
  void line(double x1, double y1, double x2, double y2, std::string_view style);
  /// A circle.
  void circle(double cx, double cy, double r, std::string_view style);
  /// A path with path data `d` (already formatted with num()).
  void path(std::string_view d, std::string_view style);
  /// A text element.
  void text(double x, double y, std::string_view content, const TextStyle& ts);
  /// Opens <g ...>; `style` holds its attributes.
  void open_group(std::string_view style);
  /// Closes the innermost open group.
  void close_group();
  /// The finished document (closes open groups).
  std::string finish();

 private:
  std::string out_{};
  int open_groups_ = 0;
};

/// One legend row: a line sample and/or a marker and a name.
struct LegendEntry {
  std::string name{};         ///< text
  std::string color{};        ///< "#rrggbb"
  bool line = true;         ///< draw a line sample
  bool dashed = false;      ///< dashed line sample
  int marker = -1;          ///< marker shape (see draw_marker), -1 for none
};

/// Draws marker shape `shape` (0 circle, 1 square, 2 triangle up, 3 diamond, 4 triangle down; cycling)
/// of radius r centred at (x, y).
void draw_marker(SvgWriter& svg, double x, double y, double r, int shape, std::string_view fill);

/// Width and height of a vertical boxed legend.
std::pair<double, double> legend_box_size(std::span<const LegendEntry> entries, double font);
/// Draws a vertical boxed legend with its top-left corner at (x, y).
void draw_legend_box(SvgWriter& svg, double x, double y, std::span<const LegendEntry> entries, double font);
/// Width of a one-row legend.
double legend_row_width(std::span<const LegendEntry> entries, double font);
/// Draws a one-row legend centred on cx with its text on baseline-centre y.
void draw_legend_row(SvgWriter& svg, double cx, double y, std::span<const LegendEntry> entries, double font);

/// The range, scale kind and tick values of one axis.
struct Axis {
  double lo = 0.0;            ///< data value at the axis start
  double hi = 1.0;            ///< data value at the axis end
  bool log = false;           ///< log10 axis
  std::vector<double> ticks{};  ///< tick values inside [lo, hi]
  std::vector<std::string> labels{};  ///< one per tick
};

/// Chooses an axis for the data range [lo, hi]: ticks from nice_ticks()/log_ticks(); with
/// `extend` the range grows to the outer ticks, otherwise ticks outside the range are dropped (and the
/// range still grows if fewer than two would remain). A zero-width range is widened first.
Axis make_axis(std::string_view fn, double lo, double hi, bool log, bool extend, int target);

/// Text and sizes for draw_axes().
struct AxesText {
  std::string_view x_label{};  ///< under the x axis
  std::string_view y_label{};  ///< left of the y axis
  double tick_font = 12.0;   ///< tick label size
  double label_font = 13.0;  ///< axis label size
  bool grid = true;          ///< light gridlines at the ticks
};

/// Gridlines, frame, ticks and tick/axis labels around `plot`.
void draw_axes(SvgWriter& svg, const Rect& plot, const Axis& x, const Axis& y, const AxesText& text);

/// Width needed left of the plot for y tick labels (and the y label when present).
double y_axis_margin(const Axis& y, const AxesText& text);

/// Scale of an axis onto a pixel interval.
inline Scale scale_of(const Axis& a, double r0, double r1) { return Scale{a.lo, a.hi, r0, r1, a.log}; }

}  // namespace tg::plot::detail
