// The gradient tools on the worked 2-2-2 backprop example: explain() prints the article's chain-rule
// products, gradcheck() catches a custom op with a wrong backward, check_gradient() judges a hand-derived
// gradient, anomaly mode names the op that made an Inf, and write_graph() draws the recorded graph.
//
//     explain_gradient [--quick] [--out DIR]     (writes DIR/worked_example.dot, and .svg with Graphviz)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <tapegrad/tapegrad.hpp>

namespace {

// The network of the worked example, with the article's names as labels.
struct Net {
  tg::Var w[8];
  tg::Var out_h1, out_o1, E;
};

Net record_network() {
  Net n;
  const double init[8] = {0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55};
  const char* names[8] = {"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"};
  for (int k = 0; k < 8; ++k) n.w[k] = tg::Var(init[k]).label(names[k]);
  const double i1 = 0.05;
  const double i2 = 0.10;
  tg::Var net_h1 = (n.w[0] * i1 + n.w[1] * i2 + 0.35).label("net_h1");
  n.out_h1 = tg::sigmoid(net_h1).label("out_h1");
  tg::Var net_h2 = (n.w[2] * i1 + n.w[3] * i2 + 0.35).label("net_h2");
  tg::Var out_h2 = tg::sigmoid(net_h2).label("out_h2");
  tg::Var net_o1 = (n.w[4] * n.out_h1 + n.w[5] * out_h2 + 0.60).label("net_o1");
  n.out_o1 = tg::sigmoid(net_o1).label("out_o1");
  tg::Var net_o2 = (n.w[6] * n.out_h1 + n.w[7] * out_h2 + 0.60).label("net_o2");
  tg::Var out_o2 = tg::sigmoid(net_o2).label("out_o2");
  n.E = (0.5 * tg::pow(0.01 - n.out_o1, 2.0) + 0.5 * tg::pow(0.99 - out_o2, 2.0)).label("E");
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "out";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
    // --quick changes nothing: every part runs in milliseconds.
  }
  std::filesystem::create_directories(out);

  std::cout << "== explain: dE/dw5 and dE/dw1 as sums over chain-rule paths ==\n";
  {
    tg::ScopedTape scope(tg::TapeOptions{.keep_values = true});
    Net n = record_network();
    std::cout << tg::explain(n.E, n.w[4]).str() << "\n";
    std::cout << tg::explain(n.E, n.w[0], tg::ExplainOptions{.top_k = 2}).collapsed_str() << "\n";
    n.E.backward();
    const tg::GraphFiles files = tg::write_graph(n.E, out + "/worked_example.dot",
                                                 tg::DotOptions{.title = "worked example: E and its gradients"});
    std::cout << "graph written to " << files.dot_path
              << (files.svg_path.empty() ? " (Graphviz not found: no SVG)" : " and " + files.svg_path) << "\n\n";
  }

  std::cout << "== gradcheck: a custom op whose backward forgot a factor ==\n";
  const tg::CustomOp softsign = tg::custom_op(
      "softsign", [](std::span<const double> x) { return x[0] / (1.0 + std::abs(x[0])); },
      [](std::span<const double> x, double) {
        const double d = 1.0 + std::abs(x[0]);
        return std::vector<double>{1.0 / d};  // should be 1 / d²
      });
  const auto f = [&](std::span<const tg::Var> x) { return tg::sigmoid(x[0]) * softsign(x[1] * x[0]).label("s"); };
  std::cout << tg::gradcheck(f, {0.3, 1.7}).report() << "\n";

  std::cout << "== check_gradient: a hand-derived dE/dw5 = (out_o1 - t1) out_o1 (1 - out_o1) out_h1 ==\n";
  const auto e_of_w5 = [](std::span<const tg::Var> w5) {
    const double out_h1 = 1.0 / (1.0 + std::exp(-0.3775));
    const double out_h2 = 1.0 / (1.0 + std::exp(-0.3925));
    const tg::Var o1 = tg::sigmoid(w5[0] * out_h1 + 0.45 * out_h2 + 0.60);
    return 0.5 * tg::square(0.01 - o1);
  };
  const auto hand = [](std::span<const double> w5) {
    const double out_h1 = 1.0 / (1.0 + std::exp(-0.3775));
    const double out_h2 = 1.0 / (1.0 + std::exp(-0.3925));
    const double o1 = 1.0 / (1.0 + std::exp(-(w5[0] * out_h1 + 0.45 * out_h2 + 0.60)));
    return std::vector<double>{(o1 - 0.01) * o1 * (1.0 - o1) * out_h1};
  };
  std::cout << tg::check_gradient(e_of_w5, hand, {0.40}, tg::GradcheckOptions{.names = {"w5"}}).report() << "\n";

  std::cout << "== anomaly mode: sqrt at 0 has an infinite slope ==\n";
  {
    tg::ScopedTape scope;
    tg::AnomalyGuard guard;
    tg::Var x = tg::Var(0.0).label("x");
    tg::Var r = tg::sqrt(x).label("r");
    tg::Var loss = (r * 3.0 + 1.0).label("loss");
    try {
      loss.backward();
    } catch (const tg::AnomalyError& e) {
      std::cout << e.what() << "\n";
    }
  }
  return 0;
}
