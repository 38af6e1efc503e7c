// Shared checks of the plotting tests: every document must be well-formed SVG 1.1 with a viewBox.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "plot.hpp"
#include "support/xml_check.hpp"

namespace tgtest {

/// A scratch directory private to this test process, removed when the process ends.
inline const std::filesystem::path& scratch_dir() {
  struct Dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("tg_plot_test_" + std::to_string(::getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

/// Elements and attributes of SVG 1.1 that the plots may use; anything else would be a slip into
/// SVG 2 or a typo that a strict viewer ignores.
inline bool svg11_element(const std::string& name) {
  static const std::set<std::string> ok{"svg", "title", "g", "rect", "line", "path", "circle", "text"};
  return ok.count(name) > 0;
}

/// See svg11_element().
inline bool svg11_attribute(const std::string& name) {
  static const std::set<std::string> ok{
      "xmlns", "version", "width", "height", "viewBox", "font-family", "font-size", "font-weight", "x", "y",
      "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "d", "dy", "fill", "fill-opacity", "stroke",
      "stroke-width", "stroke-opacity", "stroke-linejoin", "stroke-linecap", "stroke-dasharray", "text-anchor",
      "transform"};
  return ok.count(name) > 0;
}

/// Parses `doc` with the in-test checker (and xmllint when installed), checks the SVG root, and
/// returns the tree. With TG_PLOT_SAMPLES=dir set, also saves the document there as `name`.svg so
/// that a person can look at it.
inline std::unique_ptr<xml::Element> check_svg(const std::string& doc, const std::string& name) {
  std::unique_ptr<xml::Element> root;
  try {
    root = xml::parse(doc);
  } catch (const xml::Malformed& e) {
    FAIL_CHECK("malformed SVG '" << name << "': " << e.what());
    return std::make_unique<xml::Element>();
  }
  CHECK(xml::xmllint_accepts(doc, (scratch_dir() / (name + ".svg")).string()));
  CHECK(root->name == "svg");
  CHECK(root->attrs["xmlns"] == "http://www.w3.org/2000/svg");
  CHECK(root->attrs["version"] == "1.1");
  std::istringstream vb(root->attrs["viewBox"]);
  double x = -1;
  double y = -1;
  double w = 0;
  double h = 0;
  vb >> x >> y >> w >> h;
  CHECK(x == 0);
  CHECK(y == 0);
  CHECK(w > 0);
  CHECK(h > 0);
  // Nothing non-finite may leak into an attribute (coordinates, path data, sizes).
  std::vector<const xml::Element*> stack{root.get()};
  while (!stack.empty()) {
    const auto* e = stack.back();
    stack.pop_back();
    CHECK_MESSAGE(svg11_element(e->name), name << ": element <" << e->name << ">");
    for (const auto& [key, value] : e->attrs) {
      CHECK_MESSAGE(svg11_attribute(key), name << ": attribute " << key << " on <" << e->name << ">");
      std::string lower;
      for (const char c : value) {
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      CHECK_MESSAGE(lower.find("nan") == std::string::npos, name << ": <" << e->name << " " << key << "=" << value);
      CHECK_MESSAGE(lower.find("inf") == std::string::npos, name << ": <" << e->name << " " << key << "=" << value);
    }
    for (const auto& c : e->children) {
      stack.push_back(c.get());
    }
  }
  if (const char* dir = std::getenv("TG_PLOT_SAMPLES")) {
    tg::plot::save_svg(std::filesystem::path(dir) / (name + ".svg"), doc);
  }
  return root;
}

/// Contents of every <text> element.
inline std::vector<std::string> texts(const xml::Element& root) {
  std::vector<std::string> out;
  for (const auto* t : root.all("text")) {
    out.push_back(t->text);
  }
  return out;
}

/// Whether some <text> element reads exactly `s`.
inline bool has_text(const xml::Element& root, const std::string& s) {
  for (const auto& t : texts(root)) {
    if (t == s) {
      return true;
    }
  }
  return false;
}

/// The numbers of a path's d attribute, in order (commands dropped).
inline std::vector<double> path_numbers(const std::string& d) {
  std::string spaced;
  for (const char c : d) {
    spaced += (c == 'M' || c == 'L' || c == 'Z') ? ' ' : c;
  }
  std::istringstream is(spaced);
  std::vector<double> out;
  double v = 0;
  while (is >> v) {
    out.push_back(v);
  }
  return out;
}

}  // namespace tgtest
