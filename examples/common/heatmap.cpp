// heatmap(): a matrix as coloured cells with its numbers written in, e.g. a confusion matrix.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include <tapegrad/error.hpp>

#include "plot.hpp"
#include "svg.hpp"

namespace tg::plot {

using detail::Rect;
using detail::Rgb;
using detail::SvgWriter;

namespace {

// A single-hue sequential ramp (ColorBrewer "Blues"): lightness alone carries the value, so it reads
// the same with any colour vision and in greyscale.
Rgb ramp(double t) {
  static const std::array<Rgb, 5> stops{detail::parse_color("#f7fbff"), detail::parse_color("#c6dbef"),
                                        detail::parse_color("#6baed6"), detail::parse_color("#2171b5"),
                                        detail::parse_color("#08306b")};
  t = std::clamp(t, 0.0, 1.0) * static_cast<double>(stops.size() - 1);
  const auto k = std::min(static_cast<std::size_t>(t), stops.size() - 2);
  return detail::mix(stops[k], stops[k + 1], t - static_cast<double>(k));
}

std::string fixed(double v, int decimals) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  std::string s(buf, res.ptr);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') {
    s.erase(0, 1);
  }
  return s;
}

std::vector<std::string> labels_or_indices(const std::vector<std::string>& given, std::size_t n, const char* what) {
  if (given.empty()) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(std::to_string(i));
    }
    return out;
  }
  if (given.size() != n) {
    throw tg::ValueError(std::string("heatmap: ") + what + " has " + std::to_string(given.size()) +
                         " labels for " + std::to_string(n) + " entries");
  }
  return given;
}

}  // namespace

std::string heatmap(std::span<const double> values, std::size_t rows, std::size_t cols, const HeatmapOptions& o) {
  if (rows == 0 || cols == 0 || rows > 200 || cols > 200) {
    throw tg::ValueError("heatmap: need 1 to 200 rows and columns, got " + std::to_string(rows) + " x " +
                         std::to_string(cols));
  }
  if (values.size() != rows * cols) {
    throw tg::ValueError("heatmap: " + std::to_string(rows) + " x " + std::to_string(cols) + " matrix needs " +
                         std::to_string(rows * cols) + " values, got " + std::to_string(values.size()));
  }
  if (!std::isfinite(o.cell) || o.cell < 8 || o.cell > 400) {
    throw tg::ValueError("heatmap: cell size must be 8 to 400 px, got " + std::to_string(o.cell));
  }
  const auto row_labels = labels_or_indices(o.row_labels, rows, "row_labels");
  const auto col_labels = labels_or_indices(o.col_labels, cols, "col_labels");

  double lo = 0.0;  // counts start at zero; a matrix of large counts should not look uniformly dark
  double hi = -std::numeric_limits<double>::infinity();
  bool integral = true;
  for (const double v : values) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      integral = integral && v == std::round(v) && std::abs(v) < 1e15;
    }
  }
  if (!(hi > lo)) {
    hi = lo + 1.0;
  }
  // The colour bar's axis may round the range outwards; the colours follow it so that they match.
  const detail::Axis bar_axis = detail::make_axis("heatmap", lo, hi, false, false, 5);
  lo = bar_axis.lo;
  hi = bar_axis.hi;
  const int decimals = o.decimals >= 0 ? std::min(o.decimals, 10) : (integral ? 0 : 2);

  const double c = o.cell;
  const double tick_font = 12.0;
  double row_w = 0.0;
  for (const auto& l : row_labels) {
    row_w = std::max(row_w, detail::text_width(l, tick_font));
  }
  double col_w = 0.0;
  for (const auto& l : col_labels) {
    col_w = std::max(col_w, detail::text_width(l, tick_font));
  }
  const bool rotate_cols = col_w > c - 10;
  const double col_h = rotate_cols ? col_w * 0.71 + 14 : tick_font + 10;
  // Rotated column labels hang down-left from their cell; the first one must not leave the picture.
  const double left = std::max(12 + (o.y_label.empty() ? 0.0 : 24.0) + row_w + 8,
                               rotate_cols ? col_w * 0.71 - c / 2 + 12 : 0.0);
  const double top = o.title.empty() ? 14.0 : 44.0;
  const double grid_w = c * static_cast<double>(cols);
  const double grid_h = c * static_cast<double>(rows);
  const double bar_w = 14.0;
  double bar_label_w = 0.0;
  for (const auto& l : bar_axis.labels) {
    bar_label_w = std::max(bar_label_w, detail::text_width(l, 11));
  }
  const double width = std::max(left + grid_w + 20 + bar_w + 8 + bar_label_w + 12,
                                detail::text_width(o.title, 16) + 24);
  const double height = top + grid_h + col_h + (o.x_label.empty() ? 6.0 : 28.0);
  SvgWriter svg(width, height, o.title);
  svg.text(width / 2, 22, o.title, detail::TextStyle{.size = 16, .anchor = "middle", .bold = true});

  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t k = 0; k < cols; ++k) {
      const double v = values[r * cols + k];
      const Rect cell{left + c * static_cast<double>(k), top + c * static_cast<double>(r), c, c};
      if (!std::isfinite(v)) {
        svg.rect(cell, R"( fill="#cccccc" stroke="#ffffff" stroke-width="1")");
        continue;
      }
      const Rgb col = ramp((v - lo) / (hi - lo));
      svg.rect(cell, detail::attr("fill", detail::hex(col)) + R"( stroke="#ffffff" stroke-width="1")");
      const std::string s = fixed(v, decimals);
      double fs = std::min(15.0, c * 0.32);
      fs = std::min(fs, fs * (c - 6) / std::max(1.0, detail::text_width(s, fs)));
      svg.text(cell.x + c / 2, cell.y + c / 2, s,
               detail::TextStyle{.size = fs,
                                 .anchor = "middle",
                                 .fill = detail::luminance(col) < 0.3 ? "#ffffff" : "#1a1a1a"});
    }
  }
  svg.rect(Rect{left, top, grid_w, grid_h}, R"( fill="none" stroke="#444444" stroke-width="1")");
  for (std::size_t r = 0; r < rows; ++r) {
    svg.text(left - 8, top + c * (static_cast<double>(r) + 0.5), row_labels[r],
             detail::TextStyle{.size = tick_font, .anchor = "end"});
  }
  for (std::size_t k = 0; k < cols; ++k) {
    const double x = left + c * (static_cast<double>(k) + 0.5);
    if (rotate_cols) {
      svg.text(x + 4, top + grid_h + 8, col_labels[k],
               detail::TextStyle{.size = tick_font, .anchor = "end", .rotate = -45, .dy_em = 0.7});
    } else {
      svg.text(x, top + grid_h + 6 + tick_font * 0.6, col_labels[k],
               detail::TextStyle{.size = tick_font, .anchor = "middle"});
    }
  }
  svg.text(left + grid_w / 2, top + grid_h + col_h + 12, o.x_label,
           detail::TextStyle{.size = 13, .anchor = "middle"});
  svg.text(left - row_w - 8 - 16, top + grid_h / 2, o.y_label,
           detail::TextStyle{.size = 13, .anchor = "middle", .rotate = -90});

  // Colour bar: stacked slices are plain SVG 1.1 and render identically everywhere.
  const double bx = left + grid_w + 20;
  const int slices = 48;
  for (int s = 0; s < slices; ++s) {
    const double t0 = static_cast<double>(s) / slices;
    const double y = top + grid_h * (1.0 - t0 - 1.0 / slices);
    svg.rect(Rect{bx, y, bar_w, grid_h / slices + 0.5}, detail::attr("fill", detail::hex(ramp(t0 + 0.5 / slices))));
  }
  svg.rect(Rect{bx, top, bar_w, grid_h}, R"( fill="none" stroke="#444444" stroke-width="0.8")");
  const Scale sb = detail::scale_of(bar_axis, top + grid_h, top);
  for (std::size_t i = 0; i < bar_axis.ticks.size(); ++i) {
    const double y = sb(bar_axis.ticks[i]);
    svg.line(bx + bar_w, y, bx + bar_w + 3, y, R"( stroke="#444444" stroke-width="1")");
    svg.text(bx + bar_w + 6, y, bar_axis.labels[i], detail::TextStyle{.size = 11, .fill = "#333333"});
  }
  return svg.finish();
}

}  // namespace tg::plot
