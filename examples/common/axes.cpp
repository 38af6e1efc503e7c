// Scales, "nice" tick selection and the axes renderer shared by the line, panel and decision charts.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <tapegrad/error.hpp>

#include "svg.hpp"

namespace tg::plot {

namespace {

// m * 10^e, computed so that clean decimals come out as the nearest double (0.6, not
// 0.6000000000000001): powers of ten up to 1e22 are exact, and one correctly rounded multiply or
// divide by an exact power then lands on the nearest double.
double scaled_pow10(double m, int e) {
  if (e >= 0 && e <= 22) {
    return m * std::pow(10.0, e);
  }
  if (e < 0 && e >= -22) {
    return m / std::pow(10.0, -e);
  }
  return m * std::pow(10.0, e);
}

std::string shortest(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string range_str(double lo, double hi) { return "[" + shortest(lo) + ", " + shortest(hi) + "]"; }

// The decade exponent e with 10^e <= v < 10^(e+1), robust to log10 rounding at exact powers.
int decade_floor(double v) {
  int e = static_cast<int>(std::floor(std::log10(v)));
  if (scaled_pow10(1.0, e + 1) <= v) {
    ++e;
  }
  if (scaled_pow10(1.0, e) > v) {
    --e;
  }
  return e;
}

int floor_div(int a, int b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

}  // namespace

double Scale::operator()(double v) const {
  if (!std::isfinite(v)) {
    return std::nan("");
  }
  double t = 0.0;
  if (log) {
    if (v <= 0.0) {
      return std::nan("");
    }
    t = (std::log10(v) - std::log10(d0)) / (std::log10(d1) - std::log10(d0));
  } else {
    t = (v - d0) / (d1 - d0);
  }
  return r0 + t * (r1 - r0);
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    throw tg::ValueError("nice_ticks: range must be finite, got " + range_str(lo, hi));
  }
  if (lo > hi) {
    throw tg::ValueError("nice_ticks: range is empty (lo > hi), got " + range_str(lo, hi));
  }
  target = std::clamp(target, 2, 50);
  const double mag = std::max(std::abs(lo), std::abs(hi));
  if (hi - lo <= mag * 1e-12) {
    // A single value: tick a small neighbourhood around it.
    const double pad = mag > 0.0 ? mag * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double span = hi - lo;
  if (!std::isfinite(span)) {
    throw tg::ValueError("nice_ticks: range is too wide to tick, got " + range_str(lo, hi));
  }
  // Among 1, 2 and 5 times a power of ten near span / (target - 1), take the step whose ticks inside
  // [lo, hi] number closest to target (ties: the coarser step). [-3, 3] then reads -3, -2, ..., 3
  // rather than -2, 0, 2.
  const int e_raw = static_cast<int>(std::floor(std::log10(span / (target - 1))));
  int e = e_raw + 1;
  double nf = 1.0;
  int best = std::numeric_limits<int>::max();
  for (int ei = e_raw + 1; ei >= e_raw - 1; --ei) {
    for (const double m : {5.0, 2.0, 1.0}) {
      const double st = scaled_pow10(m, ei);
      const double inside = std::floor(hi / st + 1e-9) - std::ceil(lo / st - 1e-9) + 1;
      if (inside < 2) {
        continue;
      }
      const int miss = static_cast<int>(std::abs(inside - target));
      if (miss < best) {
        best = miss;
        e = ei;
        nf = m;
      }
    }
  }
  const double step = scaled_pow10(nf, e);
  const double k0 = std::floor(lo / step + 1e-9);
  const double k1 = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = k0; k <= k1; k += 1.0) {
    ticks.push_back(scaled_pow10(k * nf, e));
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo <= 0.0) {
    throw tg::ValueError("log_ticks: a log axis needs finite positive bounds, got " + range_str(lo, hi));
  }
  if (lo > hi) {
    throw tg::ValueError("log_ticks: range is empty (lo > hi), got " + range_str(lo, hi));
  }
  const int e0 = decade_floor(lo);
  int e1 = decade_floor(hi);
  if (scaled_pow10(1.0, e1) < hi || e1 == e0) {
    ++e1;
  }
  const int decades = e1 - e0;
  std::vector<double> ticks;
  if (decades <= 2) {
    for (int e = e0; e < e1; ++e) {
      for (const double m : {1.0, 2.0, 5.0}) {
        ticks.push_back(scaled_pow10(m, e));
      }
    }
    ticks.push_back(scaled_pow10(1.0, e1));
    // Keep exactly one tick at or below lo and one at or above hi.
    std::size_t first = 0;
    while (first + 1 < ticks.size() && ticks[first + 1] <= lo) {
      ++first;
    }
    std::size_t last = ticks.size() - 1;
    while (last > first + 1 && ticks[last - 1] >= hi) {
      --last;
    }
    return {ticks.begin() + static_cast<std::ptrdiff_t>(first), ticks.begin() + static_cast<std::ptrdiff_t>(last) + 1};
  }
  int stride = 1;
  for (const int s : {1, 2, 3, 5, 10, 20, 50, 100}) {
    stride = s;
    if (decades / s <= 8) {
      break;
    }
  }
  const int first = floor_div(e0, stride) * stride;
  const int last = -floor_div(-e1, stride) * stride;
  for (int e = first; e <= last; e += stride) {
    ticks.push_back(scaled_pow10(1.0, e));
  }
  return ticks;
}

std::string format_tick(double v, double step) {
  if (!std::isfinite(v)) {
    return std::isnan(v) ? "NaN" : (v > 0 ? "Inf" : "-Inf");
  }
  if (v == 0.0) {
    return "0";
  }
  step = std::abs(step);
  if (!(step > 0.0) || !std::isfinite(step)) {
    step = std::abs(v);  // no spacing known: show the digits of the value itself
  }
  if (std::abs(v) < step * 1e-9) {
    return "0";  // rounding noise of a zero tick, e.g. 0.1 + 0.2 - 0.3
  }
  int decimals = 0;
  {
    for (; decimals < 12; ++decimals) {
      const double s = step * std::pow(10.0, decimals);
      if (std::abs(s - std::round(s)) <= 1e-6 * std::max(1.0, s)) {
        break;
      }
    }
  }
  char buf[64];
  const double av = std::abs(v);
  if (av >= 1e6 || av < 1e-4 || decimals > 4) {
    // Shortest round-trip form, then "1e-05" -> "1e-5" and "1e+06" -> "1e6".
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string s(buf, res.ptr);
    const auto epos = s.find('e');
    if (epos == std::string::npos) {
      return s;
    }
    std::string mant = s.substr(0, epos);
    std::string exp = s.substr(epos + 1);
    const bool neg = exp[0] == '-';
    exp.erase(0, 1);
    while (exp.size() > 1 && exp[0] == '0') {
      exp.erase(0, 1);
    }
    return mant + "e" + (neg ? "-" : "") + exp;
  }
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  std::string s(buf, res.ptr);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') {
    s.erase(0, 1);  // "-0.0" from a tiny negative value
  }
  return s;
}

namespace detail {

Axis make_axis(std::string_view fn, double lo, double hi, bool log, bool extend, int target) {
  const std::string name(fn);
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    throw tg::ValueError(name + ": axis range must be finite, got " + range_str(lo, hi));
  }
  if (lo > hi) {
    throw tg::ValueError(name + ": axis range is empty (min > max), got " + range_str(lo, hi));
  }
  if (log && lo <= 0.0) {
    throw tg::ValueError(name + ": a log axis needs a positive minimum, got " + range_str(lo, hi));
  }
  if (lo == hi) {
    if (log) {
      lo /= 3.0;
      hi *= 3.0;
    } else {
      const double pad = lo != 0.0 ? std::abs(lo) * 0.1 : 1.0;
      lo -= pad;
      hi += pad;
    }
  }
  Axis a{.lo = lo, .hi = hi, .log = log, .ticks = log ? log_ticks(lo, hi) : nice_ticks(lo, hi, target), .labels = {}};
  if (extend) {
    a.lo = a.ticks.front();
    a.hi = a.ticks.back();
  } else {
    const double tol = log ? 1e-9 : 1e-9 * (hi - lo);
    std::vector<double> inside;
    for (const double t : a.ticks) {
      const bool in = log ? (t >= lo * (1 - tol) && t <= hi * (1 + tol)) : (t >= lo - tol && t <= hi + tol);
      if (in) {
        inside.push_back(t);
      }
    }
    if (inside.size() >= 2) {
      a.ticks = std::move(inside);
    } else {
      a.lo = a.ticks.front();
      a.hi = a.ticks.back();
    }
  }
  const double step = a.ticks.size() >= 2 ? a.ticks[1] - a.ticks[0] : 1.0;
  for (const double t : a.ticks) {
    a.labels.push_back(format_tick(t, log ? t : step));
  }
  return a;
}

double y_axis_margin(const Axis& y, const AxesText& text) {
  double w = 0.0;
  for (const auto& l : y.labels) {
    w = std::max(w, text_width(l, text.tick_font));
  }
  return w + 10.0 + (text.y_label.empty() ? 0.0 : text.label_font * 1.7);
}

void draw_axes(SvgWriter& svg, const Rect& plot, const Axis& x, const Axis& y, const AxesText& text) {
  const Scale sx = scale_of(x, plot.x, plot.right());
  const Scale sy = scale_of(y, plot.bottom(), plot.y);
  constexpr std::string_view grid = R"( stroke="#e4e4e4" stroke-width="1")";
  constexpr std::string_view zero = R"( stroke="#b0b0b0" stroke-width="1")";
  constexpr std::string_view tick = R"( stroke="#444444" stroke-width="1")";
  // Gridlines first so that everything else draws over them; the zero line is darker because
  // activations and errors are read relative to it.
  if (text.grid) {
    for (const double t : x.ticks) {
      const double px = sx(t);
      const bool is_zero = !x.log && t == 0.0 && t > x.lo && t < x.hi;
      svg.line(px, plot.y, px, plot.bottom(), is_zero ? zero : grid);
    }
    for (const double t : y.ticks) {
      const double py = sy(t);
      const bool is_zero = !y.log && t == 0.0 && t > y.lo && t < y.hi;
      svg.line(plot.x, py, plot.right(), py, is_zero ? zero : grid);
    }
  }
  svg.rect(plot, R"( fill="none" stroke="#444444" stroke-width="1")");
  double y_label_w = 0.0;
  for (std::size_t i = 0; i < x.ticks.size(); ++i) {
    const double px = sx(x.ticks[i]);
    svg.line(px, plot.bottom(), px, plot.bottom() + 4, tick);
    svg.text(px, plot.bottom() + 6 + text.tick_font * 0.6, x.labels[i],
             detail::TextStyle{.size = text.tick_font, .anchor = "middle", .fill = "#333333"});
  }
  for (std::size_t i = 0; i < y.ticks.size(); ++i) {
    const double py = sy(y.ticks[i]);
    svg.line(plot.x - 4, py, plot.x, py, tick);
    svg.text(plot.x - 7, py, y.labels[i],
             detail::TextStyle{.size = text.tick_font, .anchor = "end", .fill = "#333333"});
    y_label_w = std::max(y_label_w, text_width(y.labels[i], text.tick_font));
  }
  const double cx = plot.x + plot.w / 2;
  svg.text(cx, plot.bottom() + 8 + text.tick_font * 1.2 + text.label_font * 0.8, text.x_label,
           detail::TextStyle{.size = text.label_font, .anchor = "middle"});
  svg.text(plot.x - y_label_w - 10 - text.label_font * 0.7, plot.y + plot.h / 2, text.y_label,
           detail::TextStyle{.size = text.label_font, .anchor = "middle", .rotate = -90});
}

}  // namespace detail
}  // namespace tg::plot
