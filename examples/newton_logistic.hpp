// Logistic regression fitted by Newton's method (Hessian from tg::hessian) and by gradient descent, shared
// by the newton_logistic example and its test so both run exactly the same fits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace newton_logistic {

/// A data set: `n` rows of `p` columns (the features, then a column of ones for the bias), labels 0/1.
struct Data {
  std::int64_t n = 0;
  std::int64_t p = 0;
  std::vector<double> x;  ///< row-major [n, p]
  std::vector<double> y;  ///< [n], 0 or 1
};

/// Number of features (the bias comes on top).
inline constexpr std::int64_t kFeatures = 3;

/// Two Gaussian blobs of unit spread in 3-d, half the points each, centred at c ± Δ/2 with |Δ| ≈ 2.3.
/// They overlap, so no plane separates them and the likelihood has a finite maximiser. The centre c is
/// away from the origin so that the bias and the weights are coupled, as in real data.
inline Data make_data(std::int64_t n = 400, std::uint64_t seed = 2024) {
  tg::Generator gen(seed);
  constexpr double centre[kFeatures] = {1.0, -0.5, 0.8};
  constexpr double half_gap[kFeatures] = {0.9, -0.6, 0.5};
  Data d;
  d.n = n;
  d.p = kFeatures + 1;
  for (std::int64_t i = 0; i < n; ++i) {
    const bool positive = i % 2 == 0;
    for (std::int64_t j = 0; j < kFeatures; ++j) {
      d.x.push_back(centre[j] + (positive ? half_gap[j] : -half_gap[j]) + gen.normal());
    }
    d.x.push_back(1.0);
    d.y.push_back(positive ? 1.0 : 0.0);
  }
  return d;
}

/// The mean negative log-likelihood as a tensor function of the weights w [p].
struct Objective {
  tg::Tensor x;  ///< [n, p] float64
  tg::Tensor y;  ///< [n, 1] float64

  explicit Objective(const Data& d)
      : x(tg::tensor(d.x, {d.n, d.p}, {.dtype = tg::kFloat64})),
        y(tg::tensor(d.y, {d.n, 1}, {.dtype = tg::kFloat64})) {}

  /// mean(log(1 + e^z) - y z) with z = X w: the cross-entropy of σ(z), written with softplus so that it
  /// stays finite for any z (log σ(z) would underflow to -inf for very negative z).
  tg::Tensor operator()(const tg::Tensor& w) const {
    const tg::Tensor z = tg::matmul(x, tg::reshape(w, {w.numel(), 1}));
    return tg::mean(tg::softplus(z) - y * z);
  }
};

/// The Euclidean norm of a vector.
inline double norm(const std::vector<double>& v) {
  double s = 0.0;
  for (double t : v) s += t * t;
  return std::sqrt(s);
}

/// One iterate of a fit: the weights, the loss and gradient there, and (Newton only) the Hessian used.
struct Iterate {
  std::vector<double> w;
  double loss = 0.0;
  std::vector<double> grad;
  double grad_norm = 0.0;
  std::vector<double> hessian;  ///< row-major [p, p]; empty for gradient descent
};

/// The loss and its gradient at w, from one recording and one reverse sweep on a fresh tape.
inline Iterate evaluate(const Objective& f, const std::vector<double>& w) {
  tg::ScopedTape tape;
  tg::Tensor wt = tg::tensor(w, {static_cast<std::int64_t>(w.size())}, {.dtype = tg::kFloat64});
  wt.requires_grad_(true);
  const tg::Tensor loss = f(wt);
  Iterate it;
  it.w = w;
  it.loss = loss.item();
  it.grad = tg::grad({loss}, {wt})[0].to_vector<double>();
  it.grad_norm = norm(it.grad);
  return it;
}

/// The Hessian of the loss at w by tg::hessian (double backward), row-major [p, p].
inline std::vector<double> hessian(const Objective& f, const std::vector<double>& w) {
  tg::ScopedTape tape;
  const tg::Tensor wt = tg::tensor(w, {static_cast<std::int64_t>(w.size())}, {.dtype = tg::kFloat64});
  return tg::hessian(f, wt).to_vector<double>();
}

/// Solves H d = b for a symmetric positive definite H (row-major [p, p]) by Cholesky, H = L Lᵀ. Throws
/// tg::ValueError naming the pivot when H is singular or indefinite, where a Newton step is undefined.
inline std::vector<double> solve_spd(const std::vector<double>& h, const std::vector<double>& b) {
  const std::size_t p = b.size();
  if (h.size() != p * p) {
    throw tg::ValueError("newton_logistic: Hessian has " + std::to_string(h.size()) + " entries, expected " +
                         std::to_string(p * p));
  }
  std::vector<double> l(p * p, 0.0);
  // Pivots are compared with the largest diagonal entry so that the test does not depend on the scale.
  double scale = 0.0;
  for (std::size_t i = 0; i < p; ++i) scale = std::max(scale, std::abs(h[i * p + i]));
  for (std::size_t j = 0; j < p; ++j) {
    double diag = h[j * p + j];
    for (std::size_t k = 0; k < j; ++k) diag -= l[j * p + k] * l[j * p + k];
    if (!(diag > 1e-13 * scale)) {
      throw tg::ValueError("newton_logistic: the Hessian is singular or not positive definite (Cholesky pivot " +
                           std::to_string(j) + " is " + std::to_string(diag) +
                           "), so the Newton step is undefined; are two features collinear?");
    }
    l[j * p + j] = std::sqrt(diag);
    for (std::size_t i = j + 1; i < p; ++i) {
      double s = h[i * p + j];
      for (std::size_t k = 0; k < j; ++k) s -= l[i * p + k] * l[j * p + k];
      l[i * p + j] = s / l[j * p + j];
    }
  }
  std::vector<double> z(p);  // L z = b
  for (std::size_t i = 0; i < p; ++i) {
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) s -= l[i * p + k] * z[k];
    z[i] = s / l[i * p + i];
  }
  std::vector<double> d(p);  // Lᵀ d = z
  for (std::size_t i = p; i-- > 0;) {
    double s = z[i];
    for (std::size_t k = i + 1; k < p; ++k) s -= l[k * p + i] * d[k];
    d[i] = s / l[i * p + i];
  }
  return d;
}

/// A fit: every iterate from w = 0 on, and whether the last one reached the tolerance.
struct Fit {
  std::vector<Iterate> path;
  bool converged = false;
  /// Updates made (the last iterate is path.back()).
  int steps() const { return static_cast<int>(path.size()) - 1; }
  /// The final weights.
  const std::vector<double>& w() const { return path.back().w; }
};

/// Newton's method from w = 0: each step solves H d = -g with H from tg::hessian and g from the tape, and
/// takes the full step (the log-likelihood is concave and the start is close enough that no line search
/// is needed). Stops when |g| < tol or after max_steps.
inline Fit newton(const Data& d, double tol = 1e-10, int max_steps = 50) {
  const Objective f(d);
  Fit fit;
  fit.path.push_back(evaluate(f, std::vector<double>(static_cast<std::size_t>(d.p), 0.0)));
  for (int step = 0;; ++step) {
    Iterate& cur = fit.path.back();
    if (cur.grad_norm < tol) {
      fit.converged = true;
      break;
    }
    if (step == max_steps) break;
    cur.hessian = hessian(f, cur.w);
    std::vector<double> minus_g(cur.grad.size());
    for (std::size_t i = 0; i < minus_g.size(); ++i) minus_g[i] = -cur.grad[i];
    const std::vector<double> dir = solve_spd(cur.hessian, minus_g);
    std::vector<double> next = cur.w;
    for (std::size_t i = 0; i < next.size(); ++i) next[i] += dir[i];
    fit.path.push_back(evaluate(f, next));
  }
  return fit;
}

/// A step size for gradient descent that is safe from any start: 1 / L, where L = λmax(XᵀX) / (4n) bounds
/// the Hessian X diag(p(1-p)) X / n from above (p(1-p) ≤ 1/4). λmax by power iteration in plain double.
inline double safe_learning_rate(const Data& d) {
  const auto p = static_cast<std::size_t>(d.p);
  std::vector<double> xtx(p * p, 0.0);
  for (std::int64_t r = 0; r < d.n; ++r) {
    const double* row = &d.x[static_cast<std::size_t>(r) * p];
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = 0; j < p; ++j) xtx[i * p + j] += row[i] * row[j];
    }
  }
  std::vector<double> v(p, 1.0);
  double lambda = 0.0;
  for (int it = 0; it < 500; ++it) {
    std::vector<double> u(p, 0.0);
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = 0; j < p; ++j) u[i] += xtx[i * p + j] * v[j];
    }
    lambda = norm(u);
    for (std::size_t i = 0; i < p; ++i) v[i] = u[i] / lambda;
  }
  return 4.0 * static_cast<double>(d.n) / lambda;
}

/// Gradient descent from w = 0 with a fixed learning rate, the gradient from the tape; stops when
/// |g| < tol or after max_steps.
inline Fit gradient_descent(const Data& d, double lr, double tol = 1e-10, int max_steps = 100000) {
  const Objective f(d);
  Fit fit;
  fit.path.push_back(evaluate(f, std::vector<double>(static_cast<std::size_t>(d.p), 0.0)));
  for (int step = 0;; ++step) {
    const Iterate& cur = fit.path.back();
    if (cur.grad_norm < tol) {
      fit.converged = true;
      break;
    }
    if (step == max_steps) break;
    std::vector<double> next = cur.w;
    for (std::size_t i = 0; i < next.size(); ++i) next[i] -= lr * cur.grad[i];
    fit.path.push_back(evaluate(f, next));
  }
  return fit;
}

/// The largest |a_i - b_i|.
inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace newton_logistic
