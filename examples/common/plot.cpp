// Palette, escaping, saving, and the line chart with its small-multiples sibling panel_grid().
#include "plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>

#include <tapegrad/error.hpp>

#include "svg.hpp"

namespace tg::plot {

using detail::Rect;
using detail::SvgWriter;
using detail::num;

std::string_view palette(std::size_t i) {
  // Okabe & Ito (2008), reordered so that the first two contrast strongly (blue vs vermillion) and
  // the pale yellow, which vanishes on white, comes last.
  static constexpr std::array<std::string_view, 8> kColors{"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                                           "#e69f00", "#56b4e9", "#000000", "#f0e442"};
  return kColors[i % kColors.size()];
}

std::string escape_xml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          break;  // not allowed anywhere in an XML 1.0 document, not even escaped
        }
        out += c;
    }
  }
  return out;
}

void save_svg(const std::filesystem::path& path, std::string_view svg) {
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      throw tg::Error("save_svg: cannot create directory '" + path.parent_path().string() + "': " + ec.message());
    }
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(svg.data(), static_cast<std::streamsize>(svg.size()));
  file.close();
  if (!file) {
    throw tg::Error("save_svg: cannot write '" + path.string() + "'");
  }
}

Series function_series(std::string name, const std::function<double(double)>& f, double lo, double hi,
                       std::size_t n) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi) || n < 2) {
    throw tg::ValueError("function_series: need a finite range lo < hi and n >= 2, got [" + std::to_string(lo) +
                         ", " + std::to_string(hi) + "] with n = " + std::to_string(n));
  }
  Series s{.name = std::move(name)};
  s.x.reserve(n);
  s.y.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(n - 1);
    s.x.push_back(x);
    s.y.push_back(f(x));
  }
  return s;
}

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
  return std::pair{Pt{p.x + t0 * dx, p.y + t0 * dy}, Pt{p.x + t1 * dx, p.y + t1 * dy}};
}

// Pixel positions of a series; nullopt where a point cannot be drawn (NaN, Inf, y <= 0 on log).
std::vector<std::optional<Pt>> to_pixels(const Series& s, const Scale& sx, const Scale& sy) {
  std::vector<std::optional<Pt>> px(s.x.size());
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    const double x = sx(s.x[i]);
    const double y = sy(s.y[i]);
    if (std::isfinite(x) && std::isfinite(y)) {
      px[i] = Pt{x, y};
    }
  }
  return px;
}

void draw_series(SvgWriter& svg, const std::vector<std::optional<Pt>>& px, const Series& s,
                 const std::string& color, const Rect& plot, std::vector<Pt>& occupied) {
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
      // Samples along the drawn piece let the legend avoid lines, not only data points.
      const int n = 1 + static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / 6.0);
      for (int k = 0; k <= n; ++k) {
        const double t = static_cast<double>(k) / n;
        occupied.push_back(Pt{a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t});
      }
    }
    std::string style = detail::attr("stroke", color) + " stroke-width=\"" + num(std::clamp(s.width, 0.1, 20.0)) +
                        R"(" fill="none" stroke-linejoin="round" stroke-linecap="round")";
    if (s.dashed) {
      style += R"( stroke-dasharray="6 4")";
    }
    svg.path(d, style);
  }
  if (s.style != Style::line) {
    for (const auto& p : px) {
      if (p && plot.contains(p->x, p->y)) {
        svg.circle(p->x, p->y, 3.2, detail::attr("fill", color) + R"( stroke="#ffffff" stroke-width="0.8")");
        occupied.push_back(*p);
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
                         " (every point has a NaN or Inf coordinate" + (spec.log_y ? ", or y <= 0 on a log axis)" : ")"));
  }
  const auto x = detail::make_axis(spec.fn, xlo, xhi, false, false, spec.ticks);
  const bool extend_y = !spec.y_min && !spec.y_max;
  const auto y = detail::make_axis(spec.fn, ylo, yhi, spec.log_y, extend_y, spec.ticks);

  const detail::AxesText text{spec.x_label, spec.y_label, spec.tick_font, spec.label_font};
  const double top = spec.title.empty() ? 10.0 : spec.title_font * 2.0;
  const double bottom = spec.tick_font * 1.2 + 12 + (spec.x_label.empty() ? 0.0 : spec.label_font * 1.6);
  const double left = detail::y_axis_margin(y, text) + 6;
  const double right = std::max(14.0, detail::text_width(x.labels.back(), spec.tick_font) / 2 + 6);
  const Rect plot{outer.x + left, outer.y + top, outer.w - left - right, outer.h - top - bottom};
  if (plot.w < 10 || plot.h < 10) {
    throw tg::ValueError(fn + ": picture too small for its labels (plot area " + num(plot.w) + " x " + num(plot.h) +
                         " px)");
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

  std::vector<detail::LegendEntry> entries{};
  std::vector<Pt> occupied{};
  svg.open_group(R"( stroke-opacity="0.95")");
  for (std::size_t i = 0; i < spec.series.size(); ++i) {
    const Series& s = spec.series[i];
    const std::string color = series_color(s, i);
    draw_series(svg, to_pixels(s, sx, sy), s, color, plot, occupied);
    if (!s.name.empty()) {
      entries.push_back(detail::LegendEntry{.name = s.name,
                                            .color = color,
                                            .line = s.style != Style::points,
                                            .dashed = s.dashed,
                                            .marker = s.style == Style::line ? -1 : 0});
    }
  }
  svg.close_group();
  if (spec.legend == LegendPos::none || entries.size() < 2) {
    return;
  }
  const auto [lw, lh] = detail::legend_box_size(entries, spec.tick_font);
  const double inset = 8.0;
  const std::array<std::pair<LegendPos, Pt>, 4> corners{{
      {LegendPos::top_right, {plot.right() - inset - lw, plot.y + inset}},
      {LegendPos::top_left, {plot.x + inset, plot.y + inset}},
      {LegendPos::bottom_right, {plot.right() - inset - lw, plot.bottom() - inset - lh}},
      {LegendPos::bottom_left, {plot.x + inset, plot.bottom() - inset - lh}},
  }};
  Pt at = corners[0].second;
  std::size_t best = std::numeric_limits<std::size_t>::max();
  for (const auto& [pos, corner] : corners) {
    if (spec.legend == pos) {
      at = corner;
      break;
    }
    if (spec.legend != LegendPos::best) {
      continue;
    }
    const Rect box{corner.x, corner.y, lw, lh};
    const auto hidden = static_cast<std::size_t>(
        std::count_if(occupied.begin(), occupied.end(), [&](const Pt& p) { return box.contains(p.x, p.y); }));
    if (hidden < best) {
      best = hidden;
      at = corner;
    }
  }
  detail::draw_legend_box(svg, at.x, at.y, entries, spec.tick_font);
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
