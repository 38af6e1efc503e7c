// The SVG writer, colour helpers, markers and legends shared by every chart.
#include "svg.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <tapegrad/error.hpp>

namespace tg::plot::detail {

std::string num(double v) {
  if (!std::isfinite(v)) {
    throw tg::ValueError("svg: refusing to write a non-finite coordinate (" + std::to_string(v) + ")");
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  std::string s(buf, res.ptr);
  // Trim "1.50" to "1.5" and "2.00" to "2": documents get a lot shorter.
  while (s.back() == '0') {
    s.pop_back();
  }
  if (s.back() == '.') {
    s.pop_back();
  }
  if (s == "-0") {
    s = "0";
  }
  return s;
}

void path_cmd(std::string& d, char cmd, double x, double y) {
  d += cmd;
  d += num(x);
  d += ' ';
  d += num(y);
}

std::string attr(std::string_view name, std::string_view value) {
  std::string s(" ");
  s += name;
  s += "=\"";
  s += escape_xml(value);
  s += '"';
  return s;
}

double text_width(std::string_view text, double font_size) {
  // Advance widths of DejaVu Sans (the first font asked for, and the widest of the usual ones) in em,
  // grouped coarsely; overestimating only makes a legend box a little roomier.
  double em = 0.0;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u & 0xC0) == 0x80) {
      continue;  // UTF-8 continuation byte: counted with its lead byte
    }
    const std::string_view narrow = "ijl.,:;'|!";
    const std::string_view thin = " ()-/[]frt\"";
    const std::string_view wide = "<>=+~&%#@";
    if (narrow.find(c) != std::string_view::npos) {
      em += 0.3;
    } else if (thin.find(c) != std::string_view::npos) {
      em += 0.42;
    } else if (wide.find(c) != std::string_view::npos || c == 'm' || c == 'w' || c == 'M' || c == 'W') {
      em += 0.86;
    } else if (c >= 'A' && c <= 'Z') {
      em += 0.74;
    } else {
      em += 0.63;
    }
  }
  return em * font_size;
}

Rgb parse_color(std::string_view h) {
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    throw tg::ValueError("plot: colour must be \"#rrggbb\" or \"#rgb\", got \"" + std::string(h) + "\"");
  };
  if (h.size() == 4 && h[0] == '#') {
    return {nibble(h[1]) * 17 / 255.0, nibble(h[2]) * 17 / 255.0, nibble(h[3]) * 17 / 255.0};
  }
  if (h.size() == 7 && h[0] == '#') {
    return {(nibble(h[1]) * 16 + nibble(h[2])) / 255.0, (nibble(h[3]) * 16 + nibble(h[4])) / 255.0,
            (nibble(h[5]) * 16 + nibble(h[6])) / 255.0};
  }
  throw tg::ValueError("plot: colour must be \"#rrggbb\" or \"#rgb\", got \"" + std::string(h) + "\"");
}

std::string hex(Rgb c) {
  auto byte = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", byte(c.r), byte(c.g), byte(c.b));
  return buf;
}

Rgb mix(Rgb a, Rgb b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

double luminance(Rgb c) {
  auto lin = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

SvgWriter::SvgWriter(double width, double height, std::string_view title) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out_ += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(width) + "\" height=\"" +
          num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\"" +
          " font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
  if (!title.empty()) {
    out_ += "<title>" + escape_xml(title) + "</title>\n";
  }
  rect(Rect{0, 0, width, height}, R"( fill="#ffffff")");
}

void SvgWriter::rect(const Rect& r, std::string_view style) {
  out_ += "<rect x=\"" + num(r.x) + "\" y=\"" + num(r.y) + "\" width=\"" + num(std::max(r.w, 0.0)) +
          "\" height=\"" + num(std::max(r.h, 0.0)) + "\"";
  out_ += style;
  out_ += "/>\n";
}

void SvgWriter::line(double x1, double y1, double x2, double y2, std::string_view style) {
  out_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) + "\"";
  out_ += style;
  out_ += "/>\n";
}

void SvgWriter::circle(double cx, double cy, double r, std::string_view style) {
  out_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\"";
  out_ += style;
  out_ += "/>\n";
}

void SvgWriter::path(std::string_view d, std::string_view style) {
  if (d.empty()) {
    return;  // an empty d attribute is an error in SVG 1.1
  }
  out_ += "<path d=\"";
  out_ += d;
  out_ += '"';
  out_ += style;
  out_ += "/>\n";
}

void SvgWriter::text(double x, double y, std::string_view content, const TextStyle& ts) {
  if (content.empty()) {
    return;
  }
  out_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" dy=\"" + num(ts.dy_em * ts.size) +
          "\" font-size=\"" + num(ts.size) + "\"" + attr("text-anchor", ts.anchor) + attr("fill", ts.fill);
  if (ts.bold) {
    out_ += " font-weight=\"bold\"";
  }
  if (ts.rotate != 0.0) {
    out_ += " transform=\"rotate(" + num(ts.rotate) + " " + num(x) + " " + num(y) + ")\"";
  }
  out_ += '>';
  out_ += escape_xml(content);
  out_ += "</text>\n";
}

void SvgWriter::open_group(std::string_view style) {
  out_ += "<g";
  out_ += style;
  out_ += ">\n";
  ++open_groups_;
}

void SvgWriter::close_group() {
  if (open_groups_ > 0) {
    out_ += "</g>\n";
    --open_groups_;
  }
}

std::string SvgWriter::finish() {
  while (open_groups_ > 0) {
    close_group();
  }
  out_ += "</svg>\n";
  return std::move(out_);
}

void draw_marker(SvgWriter& svg, double x, double y, double r, int shape, std::string_view fill) {
  const std::string style = attr("fill", fill) + R"( stroke="#222222" stroke-width="0.7")";
  switch (((shape % 5) + 5) % 5) {
    case 0:
      svg.circle(x, y, r, style);
      return;
    case 1: {
      const double s = r * 0.88;  // equal area to the circle looks balanced
      svg.rect(Rect{x - s, y - s, 2 * s, 2 * s}, style);
      return;
    }
    case 2: {
      const double s = r * 1.25;
      std::string d;
      path_cmd(d, 'M', x, y - s);
      path_cmd(d, 'L', x + s * 0.95, y + s * 0.65);
      path_cmd(d, 'L', x - s * 0.95, y + s * 0.65);
      svg.path(d + 'Z', style);
      return;
    }
    case 3: {
      const double s = r * 1.2;
      std::string d;
      path_cmd(d, 'M', x, y - s);
      path_cmd(d, 'L', x + s, y);
      path_cmd(d, 'L', x, y + s);
      path_cmd(d, 'L', x - s, y);
      svg.path(d + 'Z', style);
      return;
    }
    default: {
      const double s = r * 1.25;
      std::string d;
      path_cmd(d, 'M', x, y + s);
      path_cmd(d, 'L', x + s * 0.95, y - s * 0.65);
      path_cmd(d, 'L', x - s * 0.95, y - s * 0.65);
      svg.path(d + 'Z', style);
      return;
    }
  }
}

namespace {

constexpr double kSample = 24.0;  // length of a legend's line sample
constexpr double kGap = 6.0;      // between sample and text

void draw_sample(SvgWriter& svg, double x, double y, const LegendEntry& e, double font) {
  if (e.line) {
    std::string style = attr("stroke", e.color) + R"( stroke-width="2.2" stroke-linecap="round")";
    if (e.dashed) {
      style += R"( stroke-dasharray="5 3")";
    }
    svg.line(x + 2, y, x + kSample - 2, y, style);
  }
  if (e.marker >= 0) {
    draw_marker(svg, x + kSample / 2, y, font * 0.32, e.marker, e.color);
  }
}

}  // namespace

std::pair<double, double> legend_box_size(std::span<const LegendEntry> entries, double font) {
  double w = 0.0;
  for (const auto& e : entries) {
    w = std::max(w, text_width(e.name, font));
  }
  const double pad = 8.0;
  return {2 * pad + kSample + kGap + w, 2 * pad + static_cast<double>(entries.size()) * font * 1.5 - font * 0.5};
}

void draw_legend_box(SvgWriter& svg, double x, double y, std::span<const LegendEntry> entries, double font) {
  const auto [w, h] = legend_box_size(entries, font);
  svg.rect(Rect{x, y, w, h}, R"( fill="#ffffff" fill-opacity="0.88" stroke="#bbbbbb" stroke-width="0.8" rx="3")");
  const double pad = 8.0;
  double cy = y + pad + font * 0.5;
  for (const auto& e : entries) {
    draw_sample(svg, x + pad, cy, e, font);
    svg.text(x + pad + kSample + kGap, cy, e.name, TextStyle{.size = font});
    cy += font * 1.5;
  }
}

double legend_row_width(std::span<const LegendEntry> entries, double font) {
  double w = 0.0;
  for (const auto& e : entries) {
    w += kSample + kGap + text_width(e.name, font) + 2 * font;
  }
  return std::max(0.0, w - 2 * font);
}

void draw_legend_row(SvgWriter& svg, double cx, double y, std::span<const LegendEntry> entries, double font) {
  double x = cx - legend_row_width(entries, font) / 2;
  for (const auto& e : entries) {
    draw_sample(svg, x, y, e, font);
    svg.text(x + kSample + kGap, y, e.name, TextStyle{.size = font});
    x += kSample + kGap + text_width(e.name, font) + 2 * font;
  }
}

}  // namespace tg::plot::detail
