// Palette, text escaping, saving, and sampling a function into a series.
#include "plot.hpp"

#include <array>
#include <cmath>
#include <fstream>

#include <tapegrad/error.hpp>


namespace tg::plot {

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

}  // namespace tg::plot
