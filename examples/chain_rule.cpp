// The chain rule on one composite function y = f(u(x)): the two local derivatives, their product and
// autograd's answer side by side, then the recorded graph as a picture.
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "example_args.hpp"
#include "plot.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

namespace plot = tg::plot;

// y = sin(u), u = x²: simple enough to differentiate by hand, so every number can be checked.
tg::Var composite(const tg::Var& x, tg::Var* u_out = nullptr) {
  tg::Var u = tg::square(x).label("u");
  tg::Var y = tg::sin(u).label("y");
  if (u_out) *u_out = u;
  return y;
}

// Autograd's dy/dx at one point (a fresh tape per point).
double autograd_slope(double x0) {
  tg::ScopedTape tape;
  tg::Var x(x0);
  tg::Var y = composite(x);
  y.backward();
  return x.grad();
}

int run(const tg::examples::ExampleArgs& args) {
  const double x0 = 1.5;
  // keep_values: the graph picture then shows every intermediate value, not only the leaves'.
  tg::ScopedTape tape({.keep_values = true});
  tg::Var x(x0);
  x.label("x");
  tg::Var u;
  tg::Var y = composite(x, &u);

  const double du_dx = 2.0 * x0;            // d(x²)/dx
  const double dy_du = std::cos(u.value());  // d(sin u)/du
  std::printf("y = f(u(x)) with u(x) = x^2 and f(u) = sin(u), at x = %.2f\n\n", x0);
  std::printf("  u      = x^2       = %.10f\n", u.value());
  std::printf("  y      = sin(u)    = %.10f\n\n", y.value());
  std::printf("Chain rule by hand: dy/dx = dy/du * du/dx\n");
  std::printf("  dy/du  = cos(u)    = %+.10f\n", dy_du);
  std::printf("  du/dx  = 2x        = %+.10f\n", du_dx);
  std::printf("  product            = %+.10f\n", dy_du * du_dx);

  y.backward({.retain_graph = true});
  std::printf("  autograd x.grad()  = %+.10f   (one reverse sweep of the tape)\n", x.grad());
  const double diff = std::abs(x.grad() - dy_du * du_dx);
  std::printf("  |difference|       = %.3g\n\n", diff);

  // explain() takes autograd's number apart into the same factors, read off the tape.
  const tg::Explanation why = tg::explain(y, x);
  std::printf("tg::explain(y, x) reads the factors off the recorded graph:\n%s\n", why.collapsed_str().c_str());

  // A variable that reaches the output along two paths: the chain rule adds the paths.
  {
    tg::ScopedTape two;
    tg::Var a(x0);
    a.label("x");
    tg::Var s = tg::sin(a).label("sin_x");
    tg::Var z = (a * s).label("z");
    z.backward({.retain_graph = true});
    std::printf("When x reaches the output twice, as in z = x * sin(x), the paths add up\n"
                "(the first is the direct edge x -> z, holding sin_x fixed):\n");
    std::printf("%s", tg::explain(z, a).collapsed_str().c_str());
    std::printf("    sum = sin(x) + x cos(x) = %.9f, autograd: %.9f\n\n", std::sin(x0) + x0 * std::cos(x0),
                a.grad());
  }

  std::filesystem::create_directories(args.out);
  const std::string dot_path = (args.out / "chain_rule_graph.dot").string();
  const tg::GraphFiles files = tg::write_graph(y, dot_path, {.title = "y = sin(x^2)"});
  std::printf("The recorded graph: %s\n", files.dot_path.c_str());
  if (files.svg_path.empty()) {
    std::printf("  (Graphviz's `dot` is not installed, so no SVG was rendered; install the Debian package\n"
                "   graphviz, or run: dot -Tsvg %s -o chain_rule_graph.svg)\n",
                files.dot_path.c_str());
  } else {
    std::printf("  rendered by Graphviz: %s\n", files.svg_path.c_str());
  }

  // The whole curve: autograd's slope against the hand-derived 2x cos(x²), sampled more coarsely in quick mode.
  const std::size_t n = args.quick ? 60 : 300;
  std::vector<plot::Series> curves;
  curves.push_back(plot::function_series("y = sin(x^2)", [](double t) { return std::sin(t * t); }, -3, 3, n));
  curves.push_back(plot::function_series("dy/dx by autograd", autograd_slope, -3, 3, n));
  plot::Series hand = plot::function_series(
      "2x cos(x^2) by hand", [](double t) { return 2 * t * std::cos(t * t); }, -3, 3, n / 4);
  hand.style = plot::Style::points;
  curves.push_back(hand);
  const auto chart_path = args.out / "chain_rule_derivative.svg";
  plot::save_svg(chart_path, plot::line_chart(curves, {.title = "y = sin(x^2) and its derivative",
                                                       .x_label = "x",
                                                       .y_label = "value"}));
  std::printf("The function and its derivative: %s\n", chart_path.string().c_str());
  return diff < 1e-12 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return tg::examples::run_example(argc, argv, "chain_rule", run);
}
