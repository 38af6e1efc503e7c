// DOT export: op names, labels, values and gradients appear; the file is written and, when Graphviz is
// installed, rendered to SVG.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tapegrad/tapegrad.hpp>

#include "worked_example_net.hpp"

namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("graph export: DOT") {
  SUBCASE("the worked example with values and gradients") {
    tg::ScopedTape scope(tg::TapeOptions{.keep_values = true});
    tgtest::WorkedExample net;
    net.E.backward();
    const std::string dot = tg::to_dot(net.E);
    CHECK(dot.rfind("digraph", 0) == 0);
    CHECK(dot.find("out_o1\\nsigmoid") != std::string::npos);
    CHECK(dot.find("value 0.751365") != std::string::npos);   // out_o1
    CHECK(dot.find("grad 0.082167") != std::string::npos);    // dE/dw5
    CHECK(dot.find("w5\\nleaf") != std::string::npos);
    // Every recorded op E depends on is a node; every argument an edge.
    CHECK(count(dot, "[shape=") == scope.tape().size());
    CHECK(dot.find("keep_values") == std::string::npos);
  }
  SUBCASE("without kept values, what is known is shown and the option is hinted") {
    tg::ScopedTape scope;
    tg::Var x(2.0);
    x.label("x");
    tg::Var y = tg::exp(x) * x;
    const std::string dot = tg::to_dot(y);
    CHECK(dot.find("value") != std::string::npos);  // the output's own value is known
    CHECK(dot.find("keep_values") != std::string::npos);
    CHECK(count(dot, " -> ") == 3);  // x -> exp, exp -> mul, x -> mul
  }
  SUBCASE("max_nodes cuts large graphs with a note") {
    tg::ScopedTape scope;
    tg::Var v(1.0);
    for (int i = 0; i < 100; ++i) v = v * 1.01;
    const std::string dot = tg::to_dot(v, tg::DotOptions{.max_nodes = 10});
    CHECK(count(dot, "shape=ellipse") == 10);
    CHECK(dot.find("91 older ops left out") != std::string::npos);
  }
  SUBCASE("write_graph writes the file and renders SVG when dot is installed") {
    tg::ScopedTape scope(tg::TapeOptions{.keep_values = true});
    tgtest::WorkedExample net;
    const auto dir = std::filesystem::temp_directory_path() / "tapegrad_graph_test";
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "worked example.dot").string();
    const tg::GraphFiles files = tg::write_graph(net.E, path);
    CHECK(files.dot_path == path);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == tg::to_dot(net.E));
    if (tg::graphviz_available()) {
      REQUIRE_FALSE(files.svg_path.empty());
      std::ifstream svg(files.svg_path);
      std::stringstream s;
      s << svg.rdbuf();
      CHECK(s.str().find("<svg") != std::string::npos);
    } else {
      CHECK(files.svg_path.empty());
    }
    std::filesystem::remove_all(dir);
  }
  SUBCASE("an unwritable path is a ValueError") {
    tg::ScopedTape scope;
    tg::Var x(1.0);
    CHECK_THROWS_AS(tg::write_graph(x, "/nonexistent-dir/g.dot"), tg::ValueError);
  }
}
