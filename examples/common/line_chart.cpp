// line_chart() and its small-multiples sibling panel_grid(): series, clipping, band and legend placement.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <tapegrad/error.hpp>

#include "plot.hpp"
#include "svg.hpp"

namespace tg::plot {

using detail::Rect;
using detail::SvgWriter;
using detail::num;

namespace {

struct Pt {
  double x{};
  double y{};
};

// Everything draw_line_panel() needs; line_chart() and panel_grid() fill it differently.
struct PanelSpec {
  std::string_view fn{};
  std::span<const Series> series{};
  std::string_view title{};
  std::string_view x_label{};
  std::string_view y_label{};
  bool log_y = false;
  const std::optional<Band>* band = nullptr;
  std::optional<double> x_min{};
  std::optional<double> x_max{};
  std::optional<double> y_min{};
  std::optional<double> y_max{};
  LegendPos legend = LegendPos::best;
  double tick_font = 12.0;
  double label_font = 13.0;
  double title_font = 16.0;
  int ticks = 6;
};

std::string series_color(const Series& s, std::size_t index) {
  if (s.color.empty()) {
    return std::string(palette(index));
  }
  detail::parse_color(s.color);  // throws for anything that is not a colour
  return s.color;
}

// Liang-Barsky: the part of segment p-q inside r, if any.
std::optional<std::pair<Pt, Pt>> clip(Pt p, Pt q, const Rect& r) {
  double t0 = 0.0;
  double t1 = 1.0;
  const double dx = q.x - p.x;
  const double dy = q.y - p.y;
  const std::array<double, 4> pp{-dx, dx, -dy, dy};
  const std::array<double, 4> qq{p.x - r.x, r.right() - p.x, p.y - r.y, r.bottom() - p.y};
  for (std::size_t k = 0; k < 4; ++k) {
    if (pp[k] == 0.0) {
      if (qq[k] < 0.0) {
        return std::nullopt;
      }
      continue;
    }
    const double t = qq[k] / pp[k];
    if (pp[k] < 0.0) {
      t0 = std::max(t0, t);
    } else {
      t1 = std::min(t1, t);
    }
  }
  if (t0 > t1) {
    return std::nullopt;
  }
  // Unclipped ends are returned exactly, so that consecutive pieces join into one polyline.
  const Pt a = t0 == 0.0 ? p : Pt{p.x + t0 * dx, p.y + t0 * dy};
  const Pt b = t1 == 1.0 ? q : Pt{p.x + t1 * dx, p.y + t1 * dy};
  return std::pair{a, b};
}

// Pixel positions of a series; nullopt where a point cannot be drawn (NaN, Inf, y <= 0 on log).
std::vector<std::optional<Pt>> to_pixels(const Series& s, const Scale& sx, const Scale& sy) {
  // Far-away points are pulled in to +-1e7 px: the clipped part of a line keeps its direction to well
  // under a pixel, while 1e300 (or an overflow to Inf) would wreck the clipping arithmetic.
  constexpr double kFar = 1e7;
  std::vector<std::optional<Pt>> px(s.x.size());
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
      continue;
    }
    const double x = sx(s.x[i]);
    const double y = sy(s.y[i]);
    if (!std::isnan(x) && !std::isnan(y)) {
      px[i] = Pt{std::clamp(x, -kFar, kFar), std::clamp(y, -kFar, kFar)};
    }
  }
  return px;
}

// Where a series' ink lands inside the plot: samples every few pixels along the drawn lines, plus
// markers and lone dots. The legend goes where it covers the least of this.
std::vector<Pt> footprint(const std::vector<std::optional<Pt>>& px, const Series& s, const Rect& plot) {
  std::vector<Pt> out;
  for (std::size_t i = 0; i < px.size(); ++i) {
    if (!px[i]) {
      continue;
    }
    const bool alone = (i == 0 || !px[i - 1]) && (i + 1 == px.size() || !px[i + 1]);
    if ((s.style != Style::line || alone) && plot.contains(px[i]->x, px[i]->y)) {
      out.push_back(*px[i]);
    }
    const auto piece = (s.style != Style::points && i + 1 < px.size() && px[i + 1])
                           ? clip(*px[i], *px[i + 1], plot)
                           : std::nullopt;
    if (piece) {
      const auto [a, b] = *piece;
      const int n = 1 + static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / 6.0);
      for (int k = 0; k <= n; ++k) {
        const double t = static_cast<double>(k) / n;
        out.push_back(Pt{a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t});
      }
    }
  }
  return out;
}

void draw_series(SvgWriter& svg, const std::vector<std::optional<Pt>>& px, const Series& s,
                 const std::string& color, const Rect& plot) {
  if (s.style != Style::points) {
    std::string d;
    bool pen = false;
    Pt last{0, 0};
    for (std::size_t i = 0; i + 1 < px.size(); ++i) {
      const auto piece = (px[i] && px[i + 1]) ? clip(*px[i], *px[i + 1], plot) : std::nullopt;
      if (!piece) {
        pen = false;
        continue;
      }
      const auto [a, b] = *piece;
      if (!pen || a.x != last.x || a.y != last.y) {
        detail::path_cmd(d, 'M', a.x, a.y);
      }
      detail::path_cmd(d, 'L', b.x, b.y);
      last = b;
      pen = true;
    }
    std::string style = detail::attr("stroke", color) + " stroke-width=\"" + num(std::clamp(s.width, 0.1, 20.0)) +
                        R"(" fill="none" stroke-linejoin="round" stroke-linecap="round")";
    if (s.dashed) {
      style += R"( stroke-dasharray="6 4")";
    }
    svg.path(d, style);
    // A point with no drawable neighbour would vanish from a line; show it as a dot instead.
    for (std::size_t i = 0; i < px.size(); ++i) {
      const bool alone = px[i] && (i == 0 || !px[i - 1]) && (i + 1 == px.size() || !px[i + 1]);
      if (alone && plot.contains(px[i]->x, px[i]->y)) {
        svg.circle(px[i]->x, px[i]->y, std::clamp(s.width, 1.5, 6.0), detail::attr("fill", color));
      }
    }
  }
  if (s.style != Style::line) {
    for (const auto& p : px) {
      if (p && plot.contains(p->x, p->y)) {
        svg.circle(p->x, p->y, 3.2, detail::attr("fill", color) + R"( stroke="#ffffff" stroke-width="0.8")");
      }
    }
  }
}

void draw_line_panel(SvgWriter& svg, const Rect& outer, const PanelSpec& spec) {
  const std::string fn(spec.fn);
  double xlo = std::numeric_limits<double>::infinity();
  double xhi = -xlo;
  double ylo = xlo;
  double yhi = -xlo;
  for (const auto& s : spec.series) {
    if (s.x.size() != s.y.size()) {
      throw tg::ValueError(fn + ": series '" + s.name + "' has " + std::to_string(s.x.size()) + " x values but " +
                           std::to_string(s.y.size()) + " y values");
    }
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!spec.log_y || s.y[i] > 0.0)) {
        xlo = std::min(xlo, s.x[i]);
        xhi = std::max(xhi, s.x[i]);
        ylo = std::min(ylo, s.y[i]);
        yhi = std::max(yhi, s.y[i]);
      }
    }
  }
  if (spec.band && *spec.band) {
    const Band& b = **spec.band;
    if (!std::isfinite(b.x0) || !std::isfinite(b.x1) || b.x0 > b.x1) {
      throw tg::ValueError(fn + ": band needs finite x0 <= x1, got [" + std::to_string(b.x0) + ", " +
                           std::to_string(b.x1) + "]");
    }
    xlo = std::min(xlo, b.x0);
    xhi = std::max(xhi, b.x1);
  }
  xlo = spec.x_min.value_or(xlo);
  xhi = spec.x_max.value_or(xhi);
  ylo = spec.y_min.value_or(ylo);
  yhi = spec.y_max.value_or(yhi);
  if (std::isinf(xlo) || std::isinf(ylo) || std::isinf(xhi) || std::isinf(yhi)) {
    throw tg::ValueError(fn + ": no finite data points to plot" +
                         (spec.title.empty() ? std::string() : " in '" + std::string(spec.title) + "'") +
                         " (every point has a NaN or Inf coordinate" +
                         (spec.log_y ? ", or y <= 0 on a log axis)" : ")"));
  }
  const auto x = detail::make_axis(spec.fn, xlo, xhi, false, false, spec.ticks);
  // A linear y axis gets 5% air so that curves do not run along the frame; a log axis instead
  // widens to whole decades, which reads better than a range ending at 0.0137.
  if (!spec.log_y && std::isfinite(yhi - ylo)) {
    const double air = 0.05 * (yhi - ylo);
    ylo -= spec.y_min ? 0.0 : air;
    yhi += spec.y_max ? 0.0 : air;
  }
  const bool extend_y = spec.log_y && !spec.y_min && !spec.y_max;
  const auto y = detail::make_axis(spec.fn, ylo, yhi, spec.log_y, extend_y, spec.ticks);

  const detail::AxesText text{spec.x_label, spec.y_label, spec.tick_font, spec.label_font};
  const double top = spec.title.empty() ? 10.0 : spec.title_font * 2.0;
  const double bottom = spec.tick_font * 1.2 + 12 + (spec.x_label.empty() ? 0.0 : spec.label_font * 1.6);
  const double left = detail::y_axis_margin(y, text) + 6;
  const double right = std::max(14.0, detail::text_width(x.labels.back(), spec.tick_font) / 2 + 6);
  auto layout = [&](double legend_w) {
    const Rect plot{outer.x + left, outer.y + top, outer.w - left - right - legend_w, outer.h - top - bottom};
    if (plot.w < 10 || plot.h < 10) {
      throw tg::ValueError(fn + ": picture too small for its labels (plot area " + num(plot.w) + " x " +
                           num(plot.h) + " px)");
    }
    return plot;
  };
  Rect plot = layout(0.0);

  std::vector<detail::LegendEntry> entries{};
  std::vector<std::string> colors{};
  for (std::size_t i = 0; i < spec.series.size(); ++i) {
    const Series& s = spec.series[i];
    colors.push_back(series_color(s, i));
    if (!s.name.empty()) {
      entries.push_back(detail::LegendEntry{.name = s.name,
                                            .color = colors.back(),
                                            .line = s.style != Style::points,
                                            .dashed = s.dashed,
                                            .marker = s.style == Style::line ? -1 : 0});
    }
  }
  const bool with_legend = spec.legend != LegendPos::none && entries.size() >= 2;
  const auto [lw, lh] = detail::legend_box_size(entries, spec.tick_font);
  Pt legend_at{0, 0};
  if (with_legend) {
    std::vector<Pt> ink;
    for (const auto& s : spec.series) {
      const Scale sx = detail::scale_of(x, plot.x, plot.right());
      const Scale sy = detail::scale_of(y, plot.bottom(), plot.y);
      const auto f = footprint(to_pixels(s, sx, sy), s, plot);
      ink.insert(ink.end(), f.begin(), f.end());
    }
    const double inset = 8.0;
    const std::array<std::pair<LegendPos, Pt>, 4> corners{{
        {LegendPos::top_right, {plot.right() - inset - lw, plot.y + inset}},
        {LegendPos::top_left, {plot.x + inset, plot.y + inset}},
        {LegendPos::bottom_right, {plot.right() - inset - lw, plot.bottom() - inset - lh}},
        {LegendPos::bottom_left, {plot.x + inset, plot.bottom() - inset - lh}},
    }};
    std::size_t least = std::numeric_limits<std::size_t>::max();
    for (const auto& [pos, corner] : corners) {
      const Rect box{corner.x, corner.y, lw, lh};
      const auto hidden = static_cast<std::size_t>(
          std::count_if(ink.begin(), ink.end(), [&](const Pt& p) { return box.contains(p.x, p.y); }));
      if (spec.legend == pos || (spec.legend == LegendPos::best && hidden < least)) {
        least = hidden;
        legend_at = corner;
      }
    }
    if (spec.legend == LegendPos::best && least > 0) {
      // Every corner would hide data: give the legend its own column right of the plot.
      plot = layout(lw + 12);
      legend_at = Pt{plot.right() + 12, plot.y};
    }
  }
  const Scale sx = detail::scale_of(x, plot.x, plot.right());
  const Scale sy = detail::scale_of(y, plot.bottom(), plot.y);

  svg.text(outer.x + outer.w / 2, outer.y + spec.title_font * 0.95, spec.title,
           detail::TextStyle{.size = spec.title_font, .anchor = "middle", .bold = true});
  if (spec.band && *spec.band) {
    const Band& b = **spec.band;
    const double a = std::clamp(sx(b.x0), plot.x, plot.right());
    const double c = std::clamp(sx(b.x1), plot.x, plot.right());
    svg.rect(Rect{a, plot.y, c - a, plot.h}, R"( fill="#56b4e9" fill-opacity="0.16")");
    for (const double e : {a, c}) {
      if (e > plot.x && e < plot.right()) {
        svg.line(e, plot.y, e, plot.bottom(), R"( stroke="#56b4e9" stroke-width="1" stroke-dasharray="4 3")");
      }
    }
    svg.text((a + c) / 2, plot.y + spec.tick_font, b.label,
             detail::TextStyle{.size = spec.tick_font * 0.95, .anchor = "middle", .fill = "#1f5f8b"});
  }
  detail::draw_axes(svg, plot, x, y, text);
  svg.open_group(R"( stroke-opacity="0.95")");
  for (std::size_t i = 0; i < spec.series.size(); ++i) {
    draw_series(svg, to_pixels(spec.series[i], sx, sy), spec.series[i], colors[i], plot);
  }
  svg.close_group();
  if (with_legend) {
    detail::draw_legend_box(svg, legend_at.x, legend_at.y, entries, spec.tick_font);
  }
}

void check_size(std::string_view fn, double w, double h) {
  if (!std::isfinite(w) || !std::isfinite(h) || w < 50 || h < 50 || w > 20000 || h > 20000) {
    throw tg::ValueError(std::string(fn) + ": picture size must be 50 to 20000 px per side, got " +
                         std::to_string(w) + " x " + std::to_string(h));
  }
}

}  // namespace

std::string line_chart(std::span<const Series> series, const LineChartOptions& options) {
  check_size("line_chart", options.width, options.height);
  SvgWriter svg(options.width, options.height, options.title);
  const PanelSpec spec{.fn = "line_chart",
                       .series = series,
                       .title = options.title,
                       .x_label = options.x_label,
                       .y_label = options.y_label,
                       .log_y = options.log_y,
                       .band = &options.band,
                       .x_min = options.x_min,
                       .x_max = options.x_max,
                       .y_min = options.y_min,
                       .y_max = options.y_max,
                       .legend = options.legend};
  draw_line_panel(svg, Rect{4, 4, options.width - 8, options.height - 8}, spec);
  return svg.finish();
}

std::string panel_grid(std::span<const Panel> panels, const PanelGridOptions& options) {
  if (panels.empty()) {
    throw tg::ValueError("panel_grid: no panels to draw");
  }
  const std::size_t cols = std::clamp<std::size_t>(options.columns, 1, panels.size());
  const std::size_t rows = (panels.size() + cols - 1) / cols;
  check_size("panel_grid", options.panel_width, options.panel_height);

  // One legend for the whole grid: every distinct (name, colour, dash) in order of appearance.
  std::vector<detail::LegendEntry> entries{};
  for (const auto& p : panels) {
    for (std::size_t i = 0; i < p.series.size(); ++i) {
      const Series& s = p.series[i];
      const std::string color = series_color(s, i);
      const bool seen = std::any_of(entries.begin(), entries.end(), [&](const detail::LegendEntry& e) {
        return e.name == s.name && e.color == color && e.dashed == s.dashed;
      });
      if (!s.name.empty() && !seen) {
        entries.push_back(detail::LegendEntry{.name = s.name,
                                              .color = color,
                                              .line = s.style != Style::points,
                                              .dashed = s.dashed,
                                              .marker = s.style == Style::line ? -1 : 0});
      }
    }
  }
  const double pad = 10.0;
  const double title_h = options.title.empty() ? 0.0 : 36.0;
  const double legend_h = entries.size() >= 2 ? 26.0 : 0.0;
  const double width = static_cast<double>(cols) * options.panel_width + 2 * pad;
  const double height = title_h + legend_h + static_cast<double>(rows) * options.panel_height + pad;
  check_size("panel_grid", width, height);
  SvgWriter svg(width, height, options.title);
  svg.text(width / 2, 20, options.title, detail::TextStyle{.size = 18, .anchor = "middle", .bold = true});
  if (legend_h > 0) {
    detail::draw_legend_row(svg, width / 2, title_h + legend_h / 2, entries, 12);
  }
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const Panel& p = panels[k];
    const Rect outer{pad + static_cast<double>(k % cols) * options.panel_width,
                     title_h + legend_h + static_cast<double>(k / cols) * options.panel_height, options.panel_width,
                     options.panel_height};
    const PanelSpec spec{.fn = "panel_grid",
                         .series = p.series,
                         .title = p.title,
                         .log_y = p.log_y,
                         .y_min = p.y_min,
                         .y_max = p.y_max,
                         .legend = LegendPos::none,
                         .tick_font = 10,
                         .label_font = 11,
                         .title_font = 13,
                         .ticks = 5};
    draw_line_panel(svg, outer, spec);
  }
  return svg.finish();
}

}  // namespace tg::plot
