// Tests of the plotting primitives: tick choice, scales, escaping, marching squares and saving.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <tapegrad/error.hpp>

#include "example_args.hpp"
#include "plot.hpp"
#include "plot_test_util.hpp"

namespace plot = tg::plot;

TEST_CASE("nice_ticks picks 1-2-5 steps that cover the range") {
  SUBCASE("[0, 1] gives 0, 0.2, ..., 1 exactly") {
    const auto t = plot::nice_ticks(0.0, 1.0);
    const std::vector<double> expected{0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
    CHECK(t == expected);  // exact: 0.6 is the double nearest to 0.6, not 3 * 0.2
  }
  SUBCASE("known ranges") {
    CHECK(plot::nice_ticks(0, 100) == std::vector<double>{0, 20, 40, 60, 80, 100});
    CHECK(plot::nice_ticks(-1, 1) == std::vector<double>{-1, -0.5, 0, 0.5, 1});
    CHECK(plot::nice_ticks(0.3, 2.7) == std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3});
    CHECK(plot::nice_ticks(1234, 5678) == std::vector<double>{1000, 2000, 3000, 4000, 5000, 6000});
    CHECK(plot::nice_ticks(0, 7) == std::vector<double>{0, 2, 4, 6, 8});
    CHECK(plot::nice_ticks(-3, 3) == std::vector<double>{-3, -2, -1, 0, 1, 2, 3});
    CHECK(plot::nice_ticks(0, 499) == std::vector<double>{0, 100, 200, 300, 400, 500});
    CHECK(plot::nice_ticks(0.001, 0.0042) ==
          std::vector<double>{0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035, 0.004, 0.0045});
  }
  SUBCASE("a single value gets a neighbourhood") {
    const auto t = plot::nice_ticks(5, 5);
    REQUIRE(t.size() >= 2);
    CHECK(t.front() < 5);
    CHECK(t.back() > 5);
    const auto z = plot::nice_ticks(0, 0);
    CHECK(z.front() < 0);
    CHECK(z.back() > 0);
  }
  SUBCASE("random ranges: covering, evenly spaced, 1-2-5 times a power of ten, a sane count") {
    std::mt19937_64 gen(7);
    std::uniform_real_distribution<double> exp10(-6, 6);
    std::uniform_real_distribution<double> unit(-1, 1);
    for (int trial = 0; trial < 500; ++trial) {
      const double scale = std::pow(10.0, exp10(gen));
      double lo = unit(gen) * scale;
      double hi = unit(gen) * scale;
      if (lo > hi) {
        std::swap(lo, hi);
      }
      const auto t = plot::nice_ticks(lo, hi, 6);
      REQUIRE(t.size() >= 3);
      CHECK(t.size() <= 12);
      CHECK(t.front() <= lo);
      CHECK(t.back() >= hi);
      const double step = t[1] - t[0];
      const double mant = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
      const bool nice = std::abs(mant - 1) < 1e-6 || std::abs(mant - 2) < 1e-6 || std::abs(mant - 5) < 1e-6;
      CHECK_MESSAGE(nice, "step " << step << " for [" << lo << ", " << hi << "]");
      for (std::size_t k = 1; k < t.size(); ++k) {
        CHECK(t[k] - t[k - 1] == doctest::Approx(step).epsilon(1e-9));
      }
    }
  }
  SUBCASE("bad ranges are reported") {
    CHECK_THROWS_AS(plot::nice_ticks(1, 0), tg::ValueError);
    CHECK_THROWS_AS(plot::nice_ticks(std::nan(""), 1), tg::ValueError);
    CHECK_THROWS_AS(plot::nice_ticks(0, INFINITY), tg::ValueError);
    CHECK_THROWS_AS(plot::nice_ticks(-1e308, 1e308), tg::ValueError);
  }
}

TEST_CASE("log_ticks uses decades, with 2 and 5 for short ranges") {
  CHECK(plot::log_ticks(1, 1000) == std::vector<double>{1, 10, 100, 1000});
  CHECK(plot::log_ticks(0.012, 2.3) == std::vector<double>{0.01, 0.1, 1, 10});
  CHECK(plot::log_ticks(0.3, 3) == std::vector<double>{0.2, 0.5, 1, 2, 5});
  CHECK(plot::log_ticks(1e-8, 1e8) ==
        std::vector<double>{1e-8, 1e-6, 1e-4, 1e-2, 1, 1e2, 1e4, 1e6, 1e8});  // 16 decades: every 2nd
  CHECK_THROWS_AS(plot::log_ticks(0, 1), tg::ValueError);
  CHECK_THROWS_AS(plot::log_ticks(-1, 1), tg::ValueError);
  CHECK_THROWS_AS(plot::log_ticks(1, std::nan("")), tg::ValueError);
}

TEST_CASE("Scale maps linearly or by decades") {
  SUBCASE("linear, with a flipped pixel range as for a y axis") {
    const plot::Scale s{.d0 = -1, .d1 = 3, .r0 = 400, .r1 = 0};
    CHECK(s(-1) == doctest::Approx(400));
    CHECK(s(1) == doctest::Approx(200));
    CHECK(s(3) == doctest::Approx(0));
    CHECK(std::isnan(s(std::nan(""))));
    CHECK(std::isnan(s(INFINITY)));
  }
  SUBCASE("log: every decade gets the same length") {
    const plot::Scale s{.d0 = 0.001, .d1 = 1000, .r0 = 0, .r1 = 600, .log = true};
    for (int e = -3; e <= 3; ++e) {
      CHECK(s(std::pow(10.0, e)) == doctest::Approx(100.0 * (e + 3)));
    }
    CHECK(s(std::sqrt(10.0)) == doctest::Approx(350));  // half a decade above 1
    CHECK(std::isnan(s(0)));
    CHECK(std::isnan(s(-5)));
  }
}

TEST_CASE("format_tick shows just the digits the spacing needs") {
  CHECK(plot::format_tick(0.2, 0.2) == "0.2");
  CHECK(plot::format_tick(1.0, 0.2) == "1.0");
  CHECK(plot::format_tick(0.0, 0.2) == "0");
  CHECK(plot::format_tick(0.1 + 0.2 - 0.3, 0.1) == "0");
  CHECK(plot::format_tick(1500, 500) == "1500");
  CHECK(plot::format_tick(-2.5, 0.5) == "-2.5");
  CHECK(plot::format_tick(0.0015, 0.0005) == "0.0015");
  CHECK(plot::format_tick(1e-5, 1e-5) == "1e-5");
  CHECK(plot::format_tick(2e6, 1e6) == "2e6");
  CHECK(plot::format_tick(0.01, 0.01) == "0.01");
}

TEST_CASE("escape_xml makes any text safe inside a document") {
  CHECK(plot::escape_xml(R"(a<b & c>d "q" 'x')") == "a&lt;b &amp; c&gt;d &quot;q&quot; &apos;x&apos;");
  CHECK(plot::escape_xml("already &amp; escaped") == "already &amp;amp; escaped");
  CHECK(plot::escape_xml(std::string("bell\x07 and nul\0!", 15)) == "bell and nul!");
  CHECK(plot::escape_xml("tab\tnew\nline, ünïcödé") == "tab\tnew\nline, ünïcödé");
  SUBCASE("round trip through a rendered document") {
    const std::string nasty = R"(<script>alert("x & y")</script> 'quoted')";
    const std::vector<plot::Series> s{{.name = nasty, .x = {0, 1}, .y = {0, 1}},
                                      {.name = "b&b", .x = {0, 1}, .y = {1, 0}}};
    const auto doc = plot::line_chart(s, {.title = nasty, .x_label = "x < 1", .y_label = "y > 0"});
    const auto root = tgtest::check_svg(doc, "escape_roundtrip");
    CHECK(tgtest::has_text(*root, nasty));
    CHECK(tgtest::has_text(*root, "b&b"));
    CHECK(tgtest::has_text(*root, "x < 1"));
    CHECK(root->all("title").at(0)->text == nasty);
    CHECK(root->all("script").empty());
  }
}

TEST_CASE("marching_squares traces level sets") {
  SUBCASE("x^2 + y^2 = r^2 lies on the circle of radius r and closes") {
    const double r = 1.27;  // r^2 = 1.6129 is no sum of squares of grid coordinates: no node on the curve
    const auto g = plot::sample_grid([](double x, double y) { return x * x + y * y; }, -2, 2, -2, 2, 41, 41);
    const double dx = 0.1;
    const auto segs = plot::marching_squares(g, r * r);
    REQUIRE(segs.size() > 20);
    double length = 0.0;
    std::map<std::pair<long long, long long>, int> ends;
    for (const auto& s : segs) {
      for (const auto& [x, y] : {std::pair{s.x0, s.y0}, std::pair{s.x1, s.y1}}) {
        CHECK(std::abs(std::hypot(x, y) - r) <= dx);
        // Linear interpolation of x^2 over a cell is off by at most dx^2/4 in f, i.e. ~dx^2/(8r) in radius.
        CHECK(std::abs(std::hypot(x, y) - r) <= dx * dx / (8 * r) + 1e-12);
        ends[{std::llround(x * 1e9), std::llround(y * 1e9)}]++;
      }
      length += std::hypot(s.x1 - s.x0, s.y1 - s.y0);
    }
    for (const auto& [p, count] : ends) {
      CHECK(count == 2);  // every end is shared by exactly two segments: one closed loop, no gaps
    }
    CHECK(length == doctest::Approx(2 * M_PI * r).epsilon(0.01));
  }
  SUBCASE("saddles are resolved by the cell mean (hand-worked 2 x 2 grid)") {
    // Corners a=(0,0)=1, b=(1,0)=0, c=(1,1)=1, d=(0,1)=0; the mean is 0.5.
    const plot::Grid g{.x_min = 0, .x_max = 1, .y_min = 0, .y_max = 1, .nx = 2, .ny = 2, .values = {1, 0, 0, 1}};
    // Level 0.5: the centre counts as inside, so b and d are cut off.
    auto s = plot::marching_squares(g, 0.5);
    REQUIRE(s.size() == 2);
    CHECK(s[0].x0 == doctest::Approx(0.5));
    CHECK(s[0].y0 == doctest::Approx(0.0));
    CHECK(s[0].x1 == doctest::Approx(1.0));
    CHECK(s[0].y1 == doctest::Approx(0.5));
    CHECK(s[1].x0 == doctest::Approx(0.0));
    CHECK(s[1].y0 == doctest::Approx(0.5));
    CHECK(s[1].x1 == doctest::Approx(0.5));
    CHECK(s[1].y1 == doctest::Approx(1.0));
    // Level 0.6: the centre is outside, so a and c are cut off; crossings at 0.4 from a and 0.6 towards c.
    s = plot::marching_squares(g, 0.6);
    REQUIRE(s.size() == 2);
    CHECK(s[0].x0 == doctest::Approx(0.0));
    CHECK(s[0].y0 == doctest::Approx(0.4));
    CHECK(s[0].x1 == doctest::Approx(0.4));
    CHECK(s[0].y1 == doctest::Approx(0.0));
    CHECK(s[1].x0 == doctest::Approx(1.0));
    CHECK(s[1].y0 == doctest::Approx(0.6));
    CHECK(s[1].x1 == doctest::Approx(0.6));
    CHECK(s[1].y1 == doctest::Approx(1.0));
  }
  SUBCASE("cells with a non-finite corner are skipped") {
    auto g = plot::sample_grid([](double x, double) { return x; }, -1, 1, 0, 1, 5, 3);
    CHECK(plot::marching_squares(g, 0.0).size() == 2);  // x = 0 through two rows of cells
    g.values[1 * 5 + 2] = std::nan("");                 // the middle node on x = 0
    for (const auto& s : plot::marching_squares(g, 0.0)) {
      CHECK(std::isfinite(s.x0 + s.y0 + s.x1 + s.y1));
    }
    CHECK(plot::marching_squares(g, 0.0).empty());
  }
  SUBCASE("bad input is reported") {
    CHECK_THROWS_AS(plot::sample_grid([](double, double) { return 0.0; }, 0, 0, 0, 1, 10, 10), tg::ValueError);
    CHECK_THROWS_AS(plot::sample_grid([](double, double) { return 0.0; }, 0, 1, 0, 1, 1, 10), tg::ValueError);
    CHECK_THROWS_AS(plot::sample_grid([](double, double) { return 0.0; }, 0, NAN, 0, 1, 5, 5), tg::ValueError);
    const plot::Grid g{.nx = 3, .ny = 3, .values = {1, 2, 3}};
    CHECK_THROWS_AS(plot::marching_squares(g, 0.5), tg::ValueError);
  }
}

TEST_CASE("save_svg creates parent directories and reports failures") {
  const auto dir = tgtest::scratch_dir() / "save" / "nested" / "deeper";
  const auto file = dir / "pic.svg";
  plot::save_svg(file, "<svg/>");
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "<svg/>");
  // A regular file where a directory should be: cannot create, must say so.
  CHECK_THROWS_AS(plot::save_svg(file / "inside_a_file.svg", "<svg/>"), tg::Error);
}

TEST_CASE("palette colours are distinct #rrggbb") {
  for (std::size_t i = 0; i < 8; ++i) {
    CHECK(plot::palette(i).size() == 7);
    CHECK(plot::palette(i)[0] == '#');
    for (std::size_t j = 0; j < i; ++j) {
      CHECK(plot::palette(i) != plot::palette(j));
    }
  }
  CHECK(plot::palette(8) == plot::palette(0));
}

TEST_CASE("example command line") {
  using tg::examples::parse_example_args;
  SUBCASE("defaults") {
    const char* argv[] = {"prog"};
    const auto a = parse_example_args(1, argv);
    CHECK_FALSE(a.quick);
    CHECK(a.out == "out");
  }
  SUBCASE("--quick --out dir and --out=dir") {
    const char* argv[] = {"prog", "--quick", "--out", "pics"};
    const auto a = parse_example_args(4, argv);
    CHECK(a.quick);
    CHECK(a.out == "pics");
    const char* argv2[] = {"prog", "--out=x/y"};
    CHECK(parse_example_args(2, argv2).out == "x/y");
  }
  SUBCASE("mistakes are reported") {
    const char* typo[] = {"prog", "--quik"};
    CHECK_THROWS_AS(parse_example_args(2, typo), tg::ValueError);
    const char* missing[] = {"prog", "--out"};
    CHECK_THROWS_AS(parse_example_args(2, missing), tg::ValueError);
  }
}
