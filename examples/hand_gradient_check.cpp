// A gradient derived by hand, checked: logistic regression's cross-entropy gradient against autograd and
// central differences; then two classic slips in the formula, each caught with the wrong entries named.
#include <cmath>
#include <cstdio>
#include <exception>
#include <span>
#include <vector>

#include "example_args.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

// Six points in the plane with labels 0/1, not linearly separable so the loss stays away from 0.
constexpr int kN = 6;
constexpr double kX1[kN] = {0.5, -1.2, 2.0, 0.3, -0.7, 1.4};
constexpr double kX2[kN] = {1.5, 0.4, -0.6, -1.1, 2.2, 0.9};
constexpr double kY[kN] = {1, 0, 1, 0, 0, 1};

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Mean binary cross-entropy of p = σ(w1 x1 + w2 x2 + b); the inputs are (w1, w2, b).
tg::Var cross_entropy(std::span<const tg::Var> p) {
  tg::Var total = tg::Var::constant(0.0);
  for (int i = 0; i < kN; ++i) {
    tg::Var prob = tg::sigmoid(p[0] * kX1[i] + p[1] * kX2[i] + p[2]);
    total = total - (kY[i] * tg::log(prob) + (1.0 - kY[i]) * tg::log(1.0 - prob));
  }
  return total / kN;
}

// The hand derivation: dL/dz_i = (p_i - y_i) / n (the sigmoid's derivative cancels against the log's),
// so dL/dw1 = mean((p - y) x1), dL/dw2 = mean((p - y) x2), dL/db = mean(p - y).
std::vector<double> hand_gradient(std::span<const double> p) {
  std::vector<double> g(3, 0.0);
  for (int i = 0; i < kN; ++i) {
    const double err = sigmoid(p[0] * kX1[i] + p[1] * kX2[i] + p[2]) - kY[i];
    g[0] += err * kX1[i] / kN;
    g[1] += err * kX2[i] / kN;
    g[2] += err / kN;
  }
  return g;
}

// Slip 1: copying the w1 line for w2 and forgetting to change x1 into x2.
std::vector<double> hand_gradient_index_slip(std::span<const double> p) {
  std::vector<double> g(3, 0.0);
  for (int i = 0; i < kN; ++i) {
    const double err = sigmoid(p[0] * kX1[i] + p[1] * kX2[i] + p[2]) - kY[i];
    g[0] += err * kX1[i] / kN;
    g[1] += err * kX1[i] / kN;
    g[2] += err / kN;
  }
  return g;
}

// Slip 2: keeping the sigmoid's derivative p(1 - p), which cross-entropy cancels (it belongs to the squared
// error's gradient).
std::vector<double> hand_gradient_sigma_prime_slip(std::span<const double> p) {
  std::vector<double> g(3, 0.0);
  for (int i = 0; i < kN; ++i) {
    const double prob = sigmoid(p[0] * kX1[i] + p[1] * kX2[i] + p[2]);
    const double err = (prob - kY[i]) * prob * (1.0 - prob);
    g[0] += err * kX1[i] / kN;
    g[1] += err * kX2[i] / kN;
    g[2] += err / kN;
  }
  return g;
}

int run(const tg::examples::ExampleArgs&) {
  tg::GradcheckOptions opts;
  opts.names = {"w1", "w2", "b"};
  const std::vector<double> at = {0.8, -0.3, 0.1};
  std::printf("Logistic regression p = sigmoid(w1 x1 + w2 x2 + b), mean cross-entropy over %d points,\n"
              "at (w1, w2, b) = (%.1f, %.1f, %.1f).\n\n",
              kN, at[0], at[1], at[2]);

  std::printf("1. The hand-derived gradient  dL/dw = mean((p - y) x),  dL/db = mean(p - y):\n");
  const tg::GradientComparison right = tg::check_gradient(cross_entropy, hand_gradient, at, opts);
  std::printf("%s\n", right.report().c_str());

  std::printf("2. A copy-paste slip: dL/dw2 computed with x1 instead of x2:\n");
  const tg::GradientComparison slip = tg::check_gradient(cross_entropy, hand_gradient_index_slip, at, opts);
  std::printf("%s\n", slip.report().c_str());

  std::printf("3. Keeping the sigmoid's derivative p(1 - p), which cross-entropy cancels:\n");
  const tg::GradientComparison sig = tg::check_gradient(cross_entropy, hand_gradient_sigma_prime_slip, at, opts);
  std::printf("%s\n", sig.report().c_str());

  const bool as_expected = right.ok && !slip.ok && slip.wrong == std::vector<std::string>{"w2"} && !sig.ok &&
                           sig.wrong.size() == 3;
  if (!as_expected) std::fprintf(stderr, "hand_gradient_check: the checks did not give the expected verdicts\n");
  return as_expected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return tg::examples::run_example(argc, argv, "hand_gradient_check", run);
}
