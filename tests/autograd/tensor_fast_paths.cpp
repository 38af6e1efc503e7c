// The tensor engine's short cuts on the backward path (a gradient overwritten in place when nothing else
// holds it, a leaf's gradient accumulated and zeroed without a handle copy) against closed forms: a
// shared or caller-owned gradient must never be written through, and a retained graph must give the same
// gradients on every sweep.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace {

double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }

const std::vector<double> kX = {0.3, -1.2, 2.0};

}  // namespace

TEST_CASE("tensor fast paths: in-place backward formulas match closed forms on shared and owned gradients") {
  tg::ScopedTape scope;
  tg::Tensor x = tg::tensor(kX, {3}, {.dtype = tg::kFloat64}).requires_grad_();
  // h's gradient arrives from four consumers (shared, so never overwritten); each branch's own gradient is
  // exclusive and is rewritten in place by sigmoid, rsub, tanh, relu, mul-by-scalar and div-by-scalar.
  const tg::Tensor h = x * 2.0;
  const tg::Tensor loss = ((1.0 - tg::sigmoid(h)) + tg::tanh(h) * 3.0 + tg::relu(h) / 4.0 - h).sum();
  loss.backward({.retain_graph = true});
  std::vector<double> want;
  for (double v : kX) {
    const double u = 2.0 * v;
    const double s = sig(u);
    const double t = std::tanh(u);
    want.push_back(2.0 * (-s * (1.0 - s) + 3.0 * (1.0 - t * t) + (u > 0 ? 0.25 : 0.0) - 1.0));
  }
  std::vector<double> got = x.grad().to_vector<double>();
  for (std::size_t i = 0; i < kX.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
  // The saved outputs were not written through: a second sweep adds the same gradient again.
  loss.backward();
  got = x.grad().to_vector<double>();
  for (std::size_t i = 0; i < kX.size(); ++i) CHECK(got[i] == doctest::Approx(2.0 * want[i]).epsilon(1e-12));
}

TEST_CASE("tensor fast paths: a constant minus a tensor negates the gradient once") {
  tg::ScopedTape scope;
  tg::Tensor x = tg::tensor(kX, {3}, {.dtype = tg::kFloat64}).requires_grad_();
  const tg::Tensor t = tg::tensor({0.1, 0.9, 0.5}, {.dtype = tg::kFloat64});
  const tg::Tensor d = t - tg::sigmoid(x);
  (0.5 * (d * d).sum()).backward();
  const std::vector<double> tv = t.to_vector<double>();
  const std::vector<double> got = x.grad().to_vector<double>();
  for (std::size_t i = 0; i < kX.size(); ++i) {
    const double s = sig(kX[i]);
    CHECK(got[i] == doctest::Approx(-(tv[i] - s) * s * (1.0 - s)).epsilon(1e-12));
  }
}

TEST_CASE("tensor fast paths: a seed passed by the caller is not overwritten") {
  tg::ScopedTape scope;
  tg::Tensor x = tg::tensor(kX, {3}, {.dtype = tg::kFloat64}).requires_grad_();
  const tg::Tensor seed = tg::tensor({1.0, 2.0, 3.0}, {.dtype = tg::kFloat64});
  (tg::sigmoid(x) * 3.0).backward(seed);
  CHECK(seed.to_vector<double>() == std::vector<double>{1.0, 2.0, 3.0});
  const std::vector<double> got = x.grad().to_vector<double>();
  for (std::size_t i = 0; i < kX.size(); ++i) {
    const double s = sig(kX[i]);
    CHECK(got[i] == doctest::Approx(3.0 * (i + 1.0) * s * (1.0 - s)).epsilon(1e-12));
  }
}

TEST_CASE("tensor fast paths: leaf gradients accumulate across steps and zero_grad clears them") {
  tg::ScopedTape scope;
  tg::Tensor w = tg::tensor({{0.5, -0.25}, {1.5, 2.0}}, {.dtype = tg::kFloat64, .requires_grad = true});
  const tg::Tensor v = tg::tensor({1.0, -2.0}, {.dtype = tg::kFloat64});
  for (int step = 1; step <= 3; ++step) {
    scope.tape().reset();
    tg::matmul(w, v).sum().backward();
    // d Σ(Wv) / dW[i][j] = v[j], summed over the steps so far.
    CHECK(w.grad().to_vector<double>() == std::vector<double>{1.0 * step, -2.0 * step, 1.0 * step, -2.0 * step});
  }
  const tg::Tensor g = w.grad();
  const std::uint64_t before = g.version();
  w.zero_grad();
  CHECK(g.to_vector<double>() == std::vector<double>{0.0, 0.0, 0.0, 0.0});
  CHECK(g.version() > before);  // an in-place change, visible to saved-tensor checks
}
