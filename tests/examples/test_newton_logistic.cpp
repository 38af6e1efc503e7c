// The newton_logistic example's claims, checked by running its fits: the Hessian each Newton step used is
// the closed form Xᵀ diag(p(1-p)) X / n computed here in plain double, Newton converges in a handful of
// steps, gradient descent needs many times more, and both land on the same weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "newton_logistic.hpp"

namespace nl = newton_logistic;

namespace {

// Xᵀ diag(p(1-p)) X / n with p = σ(X w), without any autograd.
std::vector<double> closed_form_hessian(const nl::Data& d, const std::vector<double>& w) {
  const auto p = static_cast<std::size_t>(d.p);
  std::vector<double> h(p * p, 0.0);
  for (std::int64_t r = 0; r < d.n; ++r) {
    const double* row = &d.x[static_cast<std::size_t>(r) * p];
    double z = 0.0;
    for (std::size_t i = 0; i < p; ++i) z += row[i] * w[i];
    const double prob = 1.0 / (1.0 + std::exp(-z));
    const double s = prob * (1.0 - prob) / static_cast<double>(d.n);
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = 0; j < p; ++j) h[i * p + j] += s * row[i] * row[j];
    }
  }
  return h;
}

// Xᵀ (σ(X w) - y) / n, the gradient of the mean negative log-likelihood, in plain double.
std::vector<double> closed_form_gradient(const nl::Data& d, const std::vector<double>& w) {
  const auto p = static_cast<std::size_t>(d.p);
  std::vector<double> g(p, 0.0);
  for (std::int64_t r = 0; r < d.n; ++r) {
    const double* row = &d.x[static_cast<std::size_t>(r) * p];
    double z = 0.0;
    for (std::size_t i = 0; i < p; ++i) z += row[i] * w[i];
    const double err = 1.0 / (1.0 + std::exp(-z)) - d.y[static_cast<std::size_t>(r)];
    for (std::size_t i = 0; i < p; ++i) g[i] += err * row[i] / static_cast<double>(d.n);
  }
  return g;
}

}  // namespace

TEST_CASE("newton logistic: every Newton step uses the closed-form Hessian") {
  const nl::Data data = nl::make_data();
  const nl::Fit newton = nl::newton(data, 1e-9);
  REQUIRE(newton.steps() >= 3);  // the start w = 0 is far enough away for several distinct Hessians
  int checked = 0;
  for (const nl::Iterate& it : newton.path) {
    if (it.hessian.empty()) continue;  // the final iterate, where no step was taken
    const std::vector<double> want = closed_form_hessian(data, it.w);
    REQUIRE(it.hessian.size() == want.size());
    for (std::size_t k = 0; k < want.size(); ++k) {
      CAPTURE(checked);
      CAPTURE(k);
      CHECK(std::abs(it.hessian[k] - want[k]) <= 1e-13 + 1e-12 * std::abs(want[k]));
    }
    const std::vector<double> g = closed_form_gradient(data, it.w);
    for (std::size_t k = 0; k < g.size(); ++k) CHECK(it.grad[k] == doctest::Approx(g[k]).epsilon(1e-12).scale(0.1));
    ++checked;
  }
  CHECK(checked == newton.steps());
}

TEST_CASE("newton logistic: Newton converges in a handful of steps and gradient descent needs many more") {
  const nl::Data data = nl::make_data();
  constexpr double kTol = 1e-9;
  const nl::Fit newton = nl::newton(data, kTol);
  const nl::Fit gd = nl::gradient_descent(data, nl::safe_learning_rate(data), kTol);
  REQUIRE(newton.converged);
  REQUIRE(gd.converged);
  CHECK(newton.path.back().grad_norm < kTol);
  CHECK(gd.path.back().grad_norm < kTol);
  CHECK(newton.steps() <= 10);
  CHECK(gd.steps() >= 20 * newton.steps());
  // Near the optimum Newton converges quadratically, |g_k+1| ≤ C |g_k|²: checked wherever |g| is small
  // and the next one is still above the rounding floor of the loss (about 1e-16 · |X|).
  int quadratic_steps = 0;
  for (std::size_t k = 0; k + 1 < newton.path.size(); ++k) {
    const double g0 = newton.path[k].grad_norm;
    const double g1 = newton.path[k + 1].grad_norm;
    if (g0 > 1e-2 || g1 < 1e-13) continue;
    CAPTURE(k);
    CHECK(g1 <= 100.0 * g0 * g0);
    ++quadratic_steps;
  }
  CHECK(quadratic_steps >= 2);

  // Same minimum: near it g(w) ≈ H (w - w*), so gradient descent's answer should sit H⁻¹ g_gd away from
  // Newton's (whose own residual is ~1e-16). Checked as a vector, to 1%, with H the closed form.
  const std::vector<double> h = closed_form_hessian(data, newton.w());
  const std::vector<double> predicted = nl::solve_spd(h, gd.path.back().grad);
  std::vector<double> gap(predicted.size());
  for (std::size_t i = 0; i < gap.size(); ++i) gap[i] = gd.w()[i] - newton.w()[i];
  double bound = 0.0;
  for (double v : predicted) bound = std::max(bound, std::abs(v));
  const double diff = nl::max_abs_diff(newton.w(), gd.w());
  CAPTURE(diff);
  CAPTURE(bound);
  CHECK(nl::max_abs_diff(gap, predicted) <= 0.01 * bound + 1e-13);
  CHECK(diff < 1e-6);  // |g| < 1e-9 over the Hessian's smallest eigenvalue (about 0.016)
}

TEST_CASE("newton logistic: a singular Hessian is refused with a clear message") {
  // Two equal columns make Xᵀ D X singular: no Newton step exists.
  const std::vector<double> h = {1.0, 1.0, 1.0, 1.0};
  CHECK_THROWS_WITH_AS(nl::solve_spd(h, {1.0, 2.0}), doctest::Contains("singular or not positive definite"),
                       tg::ValueError);
  // And the solver itself is right on a small SPD system: [[4, 2], [2, 3]] d = [2, 1] has d = [0.5, 0].
  const std::vector<double> d = nl::solve_spd({4.0, 2.0, 2.0, 3.0}, {2.0, 1.0});
  CHECK(d[0] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(std::abs(d[1]) < 1e-15);
}
