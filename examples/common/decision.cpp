// decision_boundary(): labelled 2-D points over the regions a classifier assigns, with the boundary line.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <tapegrad/error.hpp>

#include "plot.hpp"
#include "svg.hpp"

namespace tg::plot {

using detail::Rect;
using detail::Rgb;
using detail::SvgWriter;
using detail::num;

namespace {

constexpr Rgb kWhite{1.0, 1.0, 1.0};
constexpr std::string_view kUndefined = "#d9d9d9";  // cells where f is NaN or out of range

// Background colour of a cell whose probability is p: quantised into `bands` steps, white at 0.5,
// deepening towards the colour of the more likely class.
std::string probability_color(double p, int bands, Rgb c0, Rgb c1) {
  if (!std::isfinite(p)) {
    return std::string(kUndefined);
  }
  p = std::clamp(p, 0.0, 1.0);
  const int b = std::min(bands - 1, static_cast<int>(p * bands));
  const double t = (b + 0.5) / bands;
  const double strength = std::abs(t - 0.5) * 2.0;
  return detail::hex(detail::mix(kWhite, t < 0.5 ? c0 : c1, 0.45 * strength));
}

// Class index of a cell value in class_index mode, or -1 when it names no class.
long class_of(double v) {
  if (!std::isfinite(v) || v < -0.5 || v > 1000.0) {
    return -1;
  }
  return std::lround(v);
}

std::string class_color(double v) {
  const long k = class_of(v);
  if (k < 0) {
    return std::string(kUndefined);
  }
  return detail::hex(detail::mix(kWhite, detail::parse_color(palette(static_cast<std::size_t>(k))), 0.32));
}

std::string segments_path(const std::vector<Segment>& segs, const Scale& sx, const Scale& sy) {
  std::string d;
  for (const auto& s : segs) {
    detail::path_cmd(d, 'M', sx(s.x0), sy(s.y0));
    detail::path_cmd(d, 'L', sx(s.x1), sy(s.y1));
  }
  return d;
}

void check_options(const DecisionOptions& o) {
  const std::string fn = "decision_boundary";
  if (o.resolution < 2 || o.resolution > 1000) {
    throw tg::ValueError(fn + ": resolution must be 2 to 1000, got " + std::to_string(o.resolution));
  }
  if (o.bands < 2 || o.bands > 256) {
    throw tg::ValueError(fn + ": bands must be 2 to 256, got " + std::to_string(o.bands));
  }
  if (!std::isfinite(o.level)) {
    throw tg::ValueError(fn + ": level must be finite");
  }
  if (!std::isfinite(o.width) || !std::isfinite(o.height) || o.width < 150 || o.height < 150 || o.width > 20000 ||
      o.height > 20000) {
    throw tg::ValueError(fn + ": picture size must be 150 to 20000 px per side, got " + std::to_string(o.width) +
                         " x " + std::to_string(o.height));
  }
}

// The largest label, at least 1 (two classes are always shown); throws for a negative one.
int max_label_of(std::span<const LabelledPoint> points) {
  int max_label = 1;
  for (const auto& p : points) {
    if (p.label < 0) {
      throw tg::ValueError("decision_boundary: labels must be >= 0, got " + std::to_string(p.label));
    }
    max_label = std::max(max_label, p.label);
  }
  return max_label;
}

}  // namespace

Grid decision_grid(std::span<const LabelledPoint> points, const DecisionOptions& o) {
  const std::string fn = "decision_boundary";
  check_options(o);
  max_label_of(points);
  double xlo = std::numeric_limits<double>::infinity();
  double xhi = -xlo;
  double ylo = xlo;
  double yhi = -xlo;
  for (const auto& p : points) {
    if (std::isfinite(p.x) && std::isfinite(p.y)) {
      xlo = std::min(xlo, p.x);
      xhi = std::max(xhi, p.x);
      ylo = std::min(ylo, p.y);
      yhi = std::max(yhi, p.y);
    }
  }
  // A margin around the data so that the boundary is visible beyond the outermost points.
  auto pad = [](double& lo, double& hi) {
    const double m = hi > lo ? 0.08 * (hi - lo) : 1.0;
    lo -= m;
    hi += m;
  };
  if (std::isfinite(xlo)) {
    pad(xlo, xhi);
    pad(ylo, yhi);
    // The plot is square, so equal spans keep the geometry true: a circle of points stays round.
    const double span = std::max(xhi - xlo, yhi - ylo);
    const double cx = (xlo + xhi) / 2;
    const double cy = (ylo + yhi) / 2;
    xlo = cx - span / 2;
    xhi = cx + span / 2;
    ylo = cy - span / 2;
    yhi = cy + span / 2;
  }
  xlo = o.x_min.value_or(xlo);
  xhi = o.x_max.value_or(xhi);
  ylo = o.y_min.value_or(ylo);
  yhi = o.y_max.value_or(yhi);
  if (std::isinf(xlo) || std::isinf(xhi) || std::isinf(ylo) || std::isinf(yhi)) {
    throw tg::ValueError(fn + ": no finite points to place the view and no x_min/x_max/y_min/y_max given");
  }
  // The axes may round the view outwards; the grid follows so that it fills the plot.
  const auto xa = detail::make_axis(fn, xlo, xhi, false, false, 6);
  const auto ya = detail::make_axis(fn, ylo, yhi, false, false, 6);
  return Grid{.x_min = xa.lo,
              .x_max = xa.hi,
              .y_min = ya.lo,
              .y_max = ya.hi,
              .nx = o.resolution,
              .ny = o.resolution,
              .values = std::vector<double>(o.resolution * o.resolution, std::nan(""))};
}

std::string decision_boundary(std::span<const LabelledPoint> points, const std::function<double(double, double)>& f,
                              const DecisionOptions& o) {
  if (!f) {
    throw tg::ValueError("decision_boundary: the classifier function is empty");
  }
  const Grid view = decision_grid(points, o);
  return decision_boundary(points, sample_grid(f, view.x_min, view.x_max, view.y_min, view.y_max, view.nx, view.ny), o);
}

std::string decision_boundary(std::span<const LabelledPoint> points, const Grid& grid, const DecisionOptions& o) {
  const std::string fn = "decision_boundary";
  check_options(o);
  const int max_label = max_label_of(points);
  if (grid.nx < 2 || grid.ny < 2 || grid.values.size() != grid.nx * grid.ny || !std::isfinite(grid.x_min) ||
      !std::isfinite(grid.x_max) || !std::isfinite(grid.y_min) || !std::isfinite(grid.y_max) ||
      !(grid.x_min < grid.x_max) || !(grid.y_min < grid.y_max)) {
    throw tg::ValueError(fn + ": grid must be at least 2 x 2 with nx * ny values over a finite, non-empty range, got " +
                         std::to_string(grid.nx) + " x " + std::to_string(grid.ny) + " with " +
                         std::to_string(grid.values.size()) + " values");
  }
  const auto xa = detail::make_axis(fn, grid.x_min, grid.x_max, false, false, 6);
  const auto ya = detail::make_axis(fn, grid.y_min, grid.y_max, false, false, 6);

  // Legend: one marker per class, then the boundary line.
  std::vector<detail::LegendEntry> entries;
  for (int k = 0; k <= max_label; ++k) {
    const auto idx = static_cast<std::size_t>(k);
    entries.push_back(detail::LegendEntry{
        .name = idx < o.class_names.size() ? o.class_names[idx] : "class " + std::to_string(k),
        .color = std::string(palette(idx)),
        .line = false,
        .marker = k});
  }
  entries.push_back(detail::LegendEntry{
      .name = o.shading == Shading::probability ? "p = " + format_tick(o.level, 0.0) : "boundary",
      .color = "#222222"});

  const detail::AxesText text{o.x_label, o.y_label, 12.0, 13.0, false};
  const double top = (o.title.empty() ? 10.0 : 34.0) + 26.0;
  const double bottom = 12 * 1.2 + 12 + (o.x_label.empty() ? 0.0 : 13 * 1.6) + 4;
  const double left = detail::y_axis_margin(ya, text) + 10;
  const double avail_w = o.width - left - 16;
  const double avail_h = o.height - top - bottom;
  const double side = std::min(avail_w, avail_h);  // square: equal ranges keep circles round
  const Rect plot{left + (avail_w - side) / 2, top, side, side};
  const Scale sx = detail::scale_of(xa, plot.x, plot.right());
  const Scale sy = detail::scale_of(ya, plot.bottom(), plot.y);

  SvgWriter svg(o.width, o.height, o.title);
  svg.text(o.width / 2, 20, o.title, detail::TextStyle{.size = 16, .anchor = "middle", .bold = true});
  detail::draw_legend_row(svg, o.width / 2, top - 16, entries, 12);

  // Background: each sample owns the cell around it; equal neighbours in a row merge into one rect,
  // which keeps a 120 x 120 grid to a few hundred elements.
  const Rgb c0 = detail::parse_color(palette(0));
  const Rgb c1 = detail::parse_color(palette(1));
  auto cell_color = [&](double v) {
    return o.shading == Shading::probability ? probability_color(v, o.bands, c0, c1) : class_color(v);
  };
  const double half_dx = (grid.x_at(1) - grid.x_at(0)) / 2;
  const double half_dy = (grid.y_at(1) - grid.y_at(0)) / 2;
  svg.open_group(R"( stroke="none")");
  for (std::size_t j = 0; j < grid.ny; ++j) {
    const double top_px = std::max(plot.y, sy(grid.y_at(j) + half_dy));
    const double bottom_px = std::min(plot.bottom(), sy(grid.y_at(j) - half_dy));
    std::size_t i = 0;
    while (i < grid.nx) {
      const std::string color = cell_color(grid.at(i, j));
      std::size_t end = i + 1;
      while (end < grid.nx && cell_color(grid.at(end, j)) == color) {
        ++end;
      }
      const double left_px = std::max(plot.x, sx(grid.x_at(i) - half_dx));
      const double right_px = std::min(plot.right(), sx(grid.x_at(end - 1) + half_dx));
      // A pixel of overlap into the neighbour drawn before hides the hairline seams that
      // anti-aliasing leaves where two cells share a fractional pixel edge.
      const Rect r{left_px - (i > 0 ? 1.0 : 0.0), top_px, right_px - left_px + (i > 0 ? 1.0 : 0.0),
                   bottom_px - top_px + (j > 0 ? 1.0 : 0.0)};
      svg.rect(r, detail::attr("fill", color));
      i = end;
    }
  }
  svg.close_group();

  std::vector<Segment> segs;
  if (o.shading == Shading::probability) {
    segs = marching_squares(grid, o.level);
  } else {
    std::set<long> classes;
    for (const double v : grid.values) {
      if (class_of(v) >= 0 && classes.size() < 64) {
        classes.insert(class_of(v));
      }
    }
    // Each class region's outline; shared borders come out twice, on top of each other.
    for (const long k : classes) {
      Grid ind = grid;
      for (double& v : ind.values) {
        v = std::isfinite(v) ? (class_of(v) == k ? 1.0 : 0.0) : v;
      }
      const auto part = marching_squares(ind, 0.5);
      segs.insert(segs.end(), part.begin(), part.end());
    }
  }
  svg.path(segments_path(segs, sx, sy),
           R"( fill="none" stroke="#222222" stroke-width="2" stroke-linecap="round" stroke-linejoin="round")");
  detail::draw_axes(svg, plot, xa, ya, text);

  for (const auto& p : points) {
    const double px = sx(p.x);
    const double py = sy(p.y);
    if (std::isfinite(px) && std::isfinite(py) && plot.contains(px, py)) {
      detail::draw_marker(svg, px, py, 4.2, p.label, palette(static_cast<std::size_t>(p.label)));
    }
  }
  return svg.finish();
}

}  // namespace tg::plot
