// Tests of the four chart kinds: well-formed SVG, data in the right place, clear errors for bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <tapegrad/error.hpp>

#include "plot.hpp"
#include "plot_test_util.hpp"

namespace plot = tg::plot;
using tgtest::check_svg;
using tgtest::has_text;

namespace {

// The x attribute of the tick label reading `label` with the given anchor.
double label_pos(const tgtest::xml::Element& root, const std::string& label, const std::string& anchor,
                 const char* coord) {
  for (const auto* t : root.all("text")) {
    if (t->text == label && t->attrs.at("text-anchor") == anchor) {
      return std::stod(t->attrs.at(coord));
    }
  }
  FAIL_CHECK("no tick label " << label);
  return NAN;
}

// Paths stroked with `color` and no fill: the drawn series of that colour.
std::vector<const tgtest::xml::Element*> series_paths(const tgtest::xml::Element& root, std::string_view color) {
  std::vector<const tgtest::xml::Element*> out;
  for (const auto* p : root.all("path")) {
    if (p->attrs.count("stroke") && p->attrs.at("stroke") == color && p->attrs.count("fill") &&
        p->attrs.at("fill") == "none") {
      out.push_back(p);
    }
  }
  return out;
}

std::vector<double> loss_curve(std::size_t n, double rate) {
  std::vector<double> y;
  for (std::size_t i = 0; i < n; ++i) {
    y.push_back(2.3 * std::exp(-rate * static_cast<double>(i)) + 0.01);
  }
  return y;
}

std::vector<double> steps(std::size_t n) {
  std::vector<double> x;
  for (std::size_t i = 0; i < n; ++i) {
    x.push_back(static_cast<double>(i));
  }
  return x;
}

}  // namespace

TEST_CASE("line_chart") {
  SUBCASE("loss curves on a log axis: decades evenly spaced, legend clear of the data") {
    const std::vector<plot::Series> s{{.name = "train", .x = steps(500), .y = loss_curve(500, 0.012)},
                                      {.name = "test", .x = steps(500), .y = loss_curve(500, 0.008)}};
    const auto doc = plot::line_chart(s, {.title = "Loss", .x_label = "step", .y_label = "loss", .log_y = true});
    const auto root = check_svg(doc, "line_log_loss");
    CHECK(has_text(*root, "Loss"));
    CHECK(has_text(*root, "train"));
    CHECK(has_text(*root, "test"));
    const double y001 = label_pos(*root, "0.01", "end", "y");
    const double y01 = label_pos(*root, "0.1", "end", "y");
    const double y1 = label_pos(*root, "1", "end", "y");
    const double y10 = label_pos(*root, "10", "end", "y");
    CHECK(y001 - y01 == doctest::Approx(y01 - y1).epsilon(0.001));
    CHECK(y01 - y1 == doctest::Approx(y1 - y10).epsilon(0.001));
    CHECK(y001 > y10);  // larger values higher up
    // The legend box is the only rect drawn translucent; no curve vertex may be under it.
    const tgtest::xml::Element* box = nullptr;
    for (const auto* r : root->all("rect")) {
      if (r->attrs.count("fill-opacity") && r->attrs.at("fill-opacity") == "0.88") {
        box = r;
      }
    }
    REQUIRE(box != nullptr);
    const double bx = std::stod(box->attrs.at("x"));
    const double by = std::stod(box->attrs.at("y"));
    const double bw = std::stod(box->attrs.at("width"));
    const double bh = std::stod(box->attrs.at("height"));
    for (const auto* color : {"#0072b2", "#d55e00"}) {
      const auto paths = series_paths(*root, color);
      REQUIRE(paths.size() == 1);
      const auto v = tgtest::path_numbers(paths[0]->attrs.at("d"));
      for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
        CHECK_FALSE((v[i] >= bx && v[i] <= bx + bw && v[i + 1] >= by && v[i + 1] <= by + bh));
      }
    }
  }
  SUBCASE("a trained-range band sits on its x values") {
    const auto truth = plot::function_series("sin(x)", [](double x) { return std::sin(x); }, -3, 3);
    auto fit = plot::function_series("model", [](double x) { return std::sin(std::clamp(x, -2.0, 2.0)); }, -3, 3);
    fit.dashed = true;
    const std::vector<plot::Series> s{truth, fit};
    const auto doc = plot::line_chart(s, {.title = "Extrapolation", .band = plot::Band{.x0 = -2, .x1 = 2}});
    const auto root = check_svg(doc, "line_band");
    CHECK(has_text(*root, "trained range"));
    const tgtest::xml::Element* band = nullptr;
    for (const auto* r : root->all("rect")) {
      if (r->attrs.count("fill") && r->attrs.at("fill") == "#56b4e9") {
        band = r;
      }
    }
    REQUIRE(band != nullptr);
    const double left = label_pos(*root, "-2", "middle", "x");
    const double right = label_pos(*root, "2", "middle", "x");
    CHECK(std::stod(band->attrs.at("x")) == doctest::Approx(left).epsilon(1e-3));
    CHECK(std::stod(band->attrs.at("width")) == doctest::Approx(right - left).epsilon(1e-3));
  }
  SUBCASE("NaN and Inf points break the line instead of breaking the SVG") {
    const std::vector<plot::Series> s{{.name = "a", .x = {0, 1, 2, 3, 4}, .y = {1, 2, NAN, 3, 4}},
                                      {.name = "b", .x = {0, 1, 2, 3, 4}, .y = {4, INFINITY, 2, -INFINITY, 0}}};
    const auto root = check_svg(plot::line_chart(s, {.title = "gaps"}), "line_gaps");
    const auto a = series_paths(*root, plot::palette(0));
    REQUIRE(a.size() == 1);
    const auto& d = a[0]->attrs.at("d");
    CHECK(std::count(d.begin(), d.end(), 'M') == 2);
    // Non-positive values vanish from a log axis the same way.
    const std::vector<plot::Series> z{{.name = "loss", .x = {0, 1, 2, 3}, .y = {1, 0.1, 0, 0.01}}};
    check_svg(plot::line_chart(z, {.log_y = true}), "line_log_zero");
  }
  SUBCASE("values far outside a fixed range are clipped to the plot") {
    const std::vector<plot::Series> s{{.name = "blow-up", .x = {0, 1, 2, 3}, .y = {1, 1e300, 2, 1e308}}};
    const auto root = check_svg(plot::line_chart(s, {.y_min = 0, .y_max = 5, .width = 400, .height = 300}),
                                "line_clipped");
    const auto paths = series_paths(*root, plot::palette(0));
    REQUIRE(paths.size() == 1);
    for (const double v : tgtest::path_numbers(paths[0]->attrs.at("d"))) {
      CHECK(v >= 0);
      CHECK(v <= 400);
    }
    // Two visible pieces: up from (0, 1), and up from (2, 2) on both sides; the overflow of 1e308 to
    // an infinite pixel must not drop the second one.
    const auto& d = paths[0]->attrs.at("d");
    CHECK(std::count(d.begin(), d.end(), 'M') == 2);
  }
  SUBCASE("input that cannot be drawn is reported") {
    const std::vector<plot::Series> nan_only{{.name = "n", .x = {NAN, 1}, .y = {1, NAN}}};
    CHECK_THROWS_AS(plot::line_chart(nan_only), tg::ValueError);
    CHECK_THROWS_AS(plot::line_chart({}), tg::ValueError);
    const std::vector<plot::Series> ragged{{.name = "r", .x = {0, 1, 2}, .y = {0, 1}}};
    CHECK_THROWS_WITH_AS(plot::line_chart(ragged), doctest::Contains("3 x values but 2 y values"), tg::ValueError);
    const std::vector<plot::Series> ok{{.name = "ok", .x = {0, 1}, .y = {1, 2}}};
    CHECK_THROWS_AS(plot::line_chart(ok, {.band = plot::Band{.x0 = NAN, .x1 = 1}}), tg::ValueError);
    CHECK_THROWS_AS(plot::line_chart(ok, {.log_y = true, .y_min = 0}), tg::ValueError);
    CHECK_THROWS_AS(plot::line_chart(ok, {.x_min = 2, .x_max = 1}), tg::ValueError);
    CHECK_THROWS_AS(plot::line_chart(ok, {.width = 10}), tg::ValueError);
    const std::vector<plot::Series> bad_color{{.name = "c", .x = {0, 1}, .y = {1, 2}, .color = "red\"/>"}};
    CHECK_THROWS_AS(plot::line_chart(bad_color), tg::ValueError);
  }
}

TEST_CASE("decision_boundary") {
  std::vector<plot::LabelledPoint> pts;
  for (int i = 0; i < 40; ++i) {
    const double a = 0.157 * i;
    pts.push_back({.x = -1.0 + 0.6 * std::cos(a), .y = 0.8 * std::sin(a), .label = 0});
    pts.push_back({.x = 1.0 + 0.6 * std::cos(a), .y = 0.8 * std::sin(a), .label = 1});
  }
  SUBCASE("probability mode: the 0.5 contour is where f crosses 0.5") {
    auto f = [](double x, double) { return 1.0 / (1.0 + std::exp(-4.0 * x)); };
    const auto doc = plot::decision_boundary(pts, f, {.title = "two blobs"});
    const auto root = check_svg(doc, "decision_probability");
    CHECK(has_text(*root, "class 0"));
    CHECK(has_text(*root, "class 1"));
    CHECK(has_text(*root, "p = 0.5"));
    const auto boundary = series_paths(*root, "#222222");
    REQUIRE(boundary.size() == 1);
    const auto v = tgtest::path_numbers(boundary[0]->attrs.at("d"));
    REQUIRE(v.size() >= 4);
    const double x0 = label_pos(*root, "0", "middle", "x");  // pixel column of x = 0
    for (std::size_t i = 0; i < v.size(); i += 2) {
      CHECK(v[i] == doctest::Approx(x0).epsilon(0.002));
    }
    // Equal neighbouring cells merge: far fewer rects than the 120 x 120 samples.
    CHECK(root->all("rect").size() < 120 * 20);
    // Every point is drawn: 40 circles for class 0 (plus its legend marker), 40 squares for class 1.
    CHECK(root->all("circle").size() == 41);
  }
  SUBCASE("a grid filled by the caller draws the same picture as the function") {
    auto f = [](double x, double y) { return 1.0 / (1.0 + std::exp(-4.0 * (x - 0.3 * y))); };
    const plot::DecisionOptions opts{.title = "batched", .resolution = 60};
    auto grid = plot::decision_grid(pts, opts);
    REQUIRE(grid.values.size() == 60 * 60);
    CHECK(std::isnan(grid.values[0]));
    for (std::size_t j = 0; j < grid.ny; ++j) {
      for (std::size_t i = 0; i < grid.nx; ++i) {
        grid.values[j * grid.nx + i] = f(grid.x_at(i), grid.y_at(j));
      }
    }
    CHECK(plot::decision_boundary(pts, grid, opts) == plot::decision_boundary(pts, f, opts));
    grid.values.pop_back();
    CHECK_THROWS_AS(plot::decision_boundary(pts, grid, opts), tg::ValueError);
  }
  SUBCASE("class-index mode with three classes and undefined regions") {
    pts.push_back({.x = 0.0, .y = 1.2, .label = 2});
    auto f = [](double x, double y) -> double {
      if (y > 1.5) {
        return std::nan("");  // the model says nothing up here: grey, no boundary through it
      }
      return x < -0.3 ? 0 : (x < 0.3 ? 2 : 1);
    };
    const auto doc = plot::decision_boundary(
        pts, f,
        {.title = "three classes", .class_names = {"left", "right", "<middle>"}, .shading = plot::Shading::class_index});
    const auto root = check_svg(doc, "decision_classes");
    CHECK(has_text(*root, "<middle>"));
    CHECK(has_text(*root, "boundary"));
  }
  SUBCASE("bad input is reported; bad points are skipped") {
    auto f = [](double, double) { return 0.5; };
    std::vector<plot::LabelledPoint> odd{
        {.x = NAN, .y = 0, .label = 0}, {.x = 0, .y = 1, .label = 1}, {.x = 1, .y = 0}};
    check_svg(plot::decision_boundary(odd, f), "decision_nan_point");
    const std::vector<plot::LabelledPoint> negative{{.x = 0, .y = 0, .label = -1}};
    CHECK_THROWS_AS(plot::decision_boundary(negative, f), tg::ValueError);
    const std::vector<plot::LabelledPoint> nowhere{{.x = NAN, .y = NAN, .label = 0}};
    CHECK_THROWS_AS(plot::decision_boundary(nowhere, f), tg::ValueError);
    CHECK_THROWS_AS(plot::decision_boundary(odd, std::function<double(double, double)>{}), tg::ValueError);
    CHECK_THROWS_AS(plot::decision_boundary(odd, f, {.resolution = 1}), tg::ValueError);
    CHECK_THROWS_AS(plot::decision_boundary(odd, f, {.level = NAN}), tg::ValueError);
    // Undefined or infinite probabilities: grey cells, no boundary through them, still valid SVG.
    auto holes = [](double x, double y) { return x > 0.5 ? std::nan("") : (y > 0.5 ? INFINITY : 0.3 + 0.4 * x); };
    check_svg(plot::decision_boundary(odd, holes), "decision_nan_f");
    // With an explicit view, no points at all is fine.
    check_svg(plot::decision_boundary({}, f, {.x_min = -1, .x_max = 1, .y_min = -1, .y_max = 1}), "decision_empty");
  }
}

TEST_CASE("panel_grid") {
  struct Act {
    const char* name;
    double (*f)(double);
    double (*df)(double);
  };
  const std::vector<Act> acts{
      {"tanh", [](double x) { return std::tanh(x); }, [](double x) { return 1 - std::tanh(x) * std::tanh(x); }},
      {"relu", [](double x) { return x > 0 ? x : 0.0; }, [](double x) { return x > 0 ? 1.0 : 0.0; }},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); },
       [](double x) { return std::exp(-x) / ((1 + std::exp(-x)) * (1 + std::exp(-x))); }},
      {"softplus", [](double x) { return std::log1p(std::exp(x)); }, [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"gelu (approx)", [](double x) { return x / (1 + std::exp(-1.702 * x)); },
       [](double x) { return 1 / (1 + std::exp(-1.702 * x)); }},
  };
  std::vector<plot::Panel> panels;
  for (const auto& a : acts) {
    panels.push_back({.title = a.name,
                      .series = {plot::function_series("f(x)", a.f, -4, 4),
                                 plot::function_series("f'(x)", a.df, -4, 4)}});
  }
  const auto root = check_svg(plot::panel_grid(panels, {.title = "Activations", .columns = 3}), "panel_activations");
  const auto t = tgtest::texts(*root);
  for (const auto& a : acts) {
    CHECK(std::count(t.begin(), t.end(), a.name) == 1);
  }
  CHECK(std::count(t.begin(), t.end(), "f(x)") == 1);  // one shared legend, not one per panel
  CHECK(std::count(t.begin(), t.end(), "f'(x)") == 1);
  CHECK(series_paths(*root, plot::palette(0)).size() == acts.size());
  CHECK_THROWS_AS(plot::panel_grid({}), tg::ValueError);
  panels[1].series[0].y.assign(panels[1].series[0].y.size(), NAN);
  panels[1].series[1].y.assign(panels[1].series[1].y.size(), NAN);
  CHECK_THROWS_WITH_AS(plot::panel_grid(panels), doctest::Contains("relu"), tg::ValueError);
}

TEST_CASE("heatmap") {
  SUBCASE("a confusion matrix shows every count with its labels") {
    const std::vector<double> m{50, 3, 0, 4, 41, 12, 1, 9, 37};
    const auto root = check_svg(
        plot::heatmap(m, 3, 3, {.title = "Confusion", .row_labels = {"cat", "dog", "<bird>"},
                                .col_labels = {"cat", "dog", "<bird>"}}),
        "heatmap_confusion");
    for (const char* s : {"50", "3", "0", "4", "41", "12", "1", "9", "37", "<bird>", "predicted", "true"}) {
      CHECK_MESSAGE(has_text(*root, s), s);
    }
    // Dark cells get white text, light cells dark text.
    for (const auto* t : root->all("text")) {
      if (t->text == "50" && t->attrs.at("text-anchor") == "middle") {  // the cell, not the colour bar
        CHECK(t->attrs.at("fill") == "#ffffff");
      }
      if (t->text == "0" && t->attrs.at("text-anchor") == "middle") {
        CHECK(t->attrs.at("fill") == "#1a1a1a");
      }
    }
  }
  SUBCASE("fractions, long rotated labels, NaN cells") {
    const std::vector<double> m{0.5, 0.25, NAN, 0.126};
    const auto root = check_svg(
        plot::heatmap(m, 2, 2, {.row_labels = {"a", "b"}, .col_labels = {"a very long label", "another long one"}}),
        "heatmap_fractions");
    CHECK(has_text(*root, "0.50"));
    CHECK(has_text(*root, "0.13"));
    CHECK_FALSE(has_text(*root, "NaN"));
    CHECK(has_text(*root, "a very long label"));
  }
  SUBCASE("bad shapes are reported") {
    const std::vector<double> m{1, 2, 3, 4};
    CHECK_THROWS_AS(plot::heatmap(m, 3, 2), tg::ValueError);
    CHECK_THROWS_AS(plot::heatmap(m, 0, 4), tg::ValueError);
    CHECK_THROWS_AS(plot::heatmap(m, 2, 2, {.row_labels = {"only one"}}), tg::ValueError);
  }
}
