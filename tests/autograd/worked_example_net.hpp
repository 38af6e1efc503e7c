// The worked 2-2-2 backprop example recorded with labelled Vars, shared by the explain and graph tests.
#pragma once

#include <tapegrad/tapegrad.hpp>

namespace tgtest {

/// prefix followed by k ("w" and 5 give "w5"), built without operator+ (which trips a g++ 12 warning).
inline std::string indexed(const char* prefix, std::size_t k) {
  std::string s = prefix;
  s += std::to_string(k);
  return s;
}

/// The network of /work/shared/reference/worked_example.md, recorded on the active tape with the labels
/// the article uses (w1..w8, net_h1, out_h1, ..., E). Biases and inputs are constants.
struct WorkedExample {
  tg::Var w[8];
  tg::Var net_h1, out_h1, net_h2, out_h2, net_o1, out_o1, net_o2, out_o2, E;

  WorkedExample() {
    const double init[8] = {0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55};
    for (int k = 0; k < 8; ++k) {
      w[k] = tg::Var(init[k]);
      w[k].label(indexed("w", static_cast<std::size_t>(k) + 1));
    }
    const double i1 = 0.05;
    const double i2 = 0.10;
    const double b1 = 0.35;
    const double b2 = 0.60;
    net_h1 = (w[0] * i1 + w[1] * i2 + b1).label("net_h1");
    out_h1 = tg::sigmoid(net_h1).label("out_h1");
    net_h2 = (w[2] * i1 + w[3] * i2 + b1).label("net_h2");
    out_h2 = tg::sigmoid(net_h2).label("out_h2");
    net_o1 = (w[4] * out_h1 + w[5] * out_h2 + b2).label("net_o1");
    out_o1 = tg::sigmoid(net_o1).label("out_o1");
    net_o2 = (w[6] * out_h1 + w[7] * out_h2 + b2).label("net_o2");
    out_o2 = tg::sigmoid(net_o2).label("out_o2");
    // E = ½(t1 - out_o1)² + ½(t2 - out_o2)², written with tg ops as a user would.
    E = (0.5 * tg::pow(0.01 - out_o1, 2.0) + 0.5 * tg::pow(0.99 - out_o2, 2.0)).label("E");
  }
};

}  // namespace tgtest
