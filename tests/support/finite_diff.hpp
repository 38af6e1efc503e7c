// Float64 central differences for the tests: the independent truth every gradient is checked against.
#pragma once

#include <cmath>
#include <functional>
#include <vector>

namespace tgtest {

/// d f / d x_i at x by central differences with a step scaled to |x_i| (error O(h²)).
inline std::vector<double> central_diff(const std::function<double(const std::vector<double>&)>& f,
                                        std::vector<double> x) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double h = 1e-6 * std::max(1.0, std::abs(x[i]));
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f(x);
    x[i] = x0 - h;
    const double fm = f(x);
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

}  // namespace tgtest
