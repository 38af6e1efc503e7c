// Higher-order derivatives of tensor functions: Hessians of closed-form functions against float64 central
// differences of the gradient, third and fourth derivatives of polynomials against their closed forms,
// and the functional helpers (jacobian, hessian, hvp, jvp, vjp) against each other and the truth.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "support/finite_diff.hpp"
#include "support/second_order_check.hpp"

using tg::Tensor;

namespace {

constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};

Tensor rnd(const tg::Shape& s, std::uint64_t seed = 1) {
  tg::Generator g(seed);
  return tg::randn(s, f64, &g);
}

Tensor rosenbrock(const Tensor& x) {
  const std::int64_t n = x.numel();
  const Tensor a = tg::narrow(x, 0, 0, n - 1);
  const Tensor b = tg::narrow(x, 0, 1, n - 1);
  return (100.0 * tg::square(b - a * a) + tg::square(1.0 - a)).sum();
}

// Compares an analytic Hessian tensor [n, n] with a nested-vector reference, entry by entry.
void check_matrix(const Tensor& h, const std::vector<std::vector<double>>& want, double rtol = 1e-5,
                  double atol = 1e-6) {
  const std::size_t n = want.size();
  REQUIRE(h.shape() == tg::Shape{static_cast<std::int64_t>(n), static_cast<std::int64_t>(n)});
  const std::vector<double> hv = h.to_vector<double>();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(std::abs(hv[i * n + j] - want[i][j]) <= atol + rtol * std::abs(want[i][j]));
    }
  }
}

void check_close(const Tensor& got, const Tensor& want, double tol = 1e-9) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_vector<double>();
  const std::vector<double> w = want.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i) {
    CAPTURE(i);
    CHECK(g[i] == doctest::Approx(w[i]).epsilon(tol).scale(1.0));
  }
}

// A small MLP's cross-entropy loss as a function of all its parameters, packed in one vector θ.
struct SmallMlp {
  Tensor x = rnd({5, 3}, 11);
  Tensor labels = tg::tensor(std::vector<std::int64_t>{0, 2, 1, 1, 0}, {5, 1});
  static constexpr std::int64_t kParams = 3 * 4 + 4 + 4 * 3 + 3;

  Tensor operator()(const Tensor& theta) const {
    const Tensor w1 = tg::reshape(tg::narrow(theta, 0, 0, 12), {3, 4});
    const Tensor b1 = tg::narrow(theta, 0, 12, 4);
    const Tensor w2 = tg::reshape(tg::narrow(theta, 0, 16, 12), {4, 3});
    const Tensor b2 = tg::narrow(theta, 0, 28, 3);
    const Tensor h = tg::tanh(tg::matmul(x, w1) + b1);
    const Tensor logits = tg::matmul(h, w2) + b2;
    return -tg::gather(tg::log_softmax(logits, 1), 1, labels).mean();
  }
};

}  // namespace

TEST_CASE("higher order: Hessians of closed-form functions") {
  tg::ScopedTape scope;
  SUBCASE("Rosenbrock in 2-d against its closed-form Hessian") {
    const double x = -1.2;
    const double y = 1.0;
    const Tensor h = tg::hessian(rosenbrock, tg::tensor({x, y}, f64));
    check_matrix(h, {{1200 * x * x - 400 * y + 2, -400 * x}, {-400 * x, 200}}, 1e-12, 1e-9);
  }
  SUBCASE("Rosenbrock in 5-d against central differences of the gradient") {
    const Tensor x = rnd({5}, 3);
    check_matrix(tg::hessian(rosenbrock, x), tgtest::numeric_hessian(rosenbrock, x), 1e-5, 1e-4);
  }
  SUBCASE("log-sum-exp: diag(p) - p pᵀ, and central differences") {
    const Tensor x = rnd({4}, 4);
    auto lse = [](const Tensor& v) { return tg::logsumexp(v, {0}); };
    const std::vector<double> p = tg::softmax(x, 0).to_vector<double>();
    std::vector<std::vector<double>> want(4, std::vector<double>(4));
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t j = 0; j < 4; ++j) want[i][j] = (i == j ? p[i] : 0.0) - p[i] * p[j];
    }
    const Tensor h = tg::hessian(lse, x);
    check_matrix(h, want, 1e-10, 1e-12);
    check_matrix(h, tgtest::numeric_hessian(lse, x));
  }
  SUBCASE("a small MLP's loss against central differences, and symmetric") {
    const SmallMlp mlp;
    const Tensor theta = rnd({SmallMlp::kParams}, 5) * 0.5;
    const Tensor h = tg::hessian(mlp, theta);
    check_matrix(h, tgtest::numeric_hessian(mlp, theta));
    check_close(h, tg::transpose(h, 0, 1).contiguous(), 1e-12);
  }
}

TEST_CASE("higher order: derivatives of polynomials to any order") {
  tg::ScopedTape scope;
  SUBCASE("f = Σ 3x⁴ - 2x³ + 5x² - x: f', f'', f''', f'''' against the closed forms") {
    Tensor x = tg::tensor({0.7, -1.3, 2.1}, f64);
    x.requires_grad_(true);
    const Tensor f = (3.0 * tg::pow(x, 4.0) - 2.0 * (x * x * x) + 5.0 * tg::square(x) - x).sum();
    const Tensor d1 = tg::grad({f}, {x}, {}, {.create_graph = true})[0];
    const Tensor d2 = tg::grad({d1.sum()}, {x}, {}, {.create_graph = true})[0];
    const Tensor d3 = tg::grad({d2.sum()}, {x}, {}, {.create_graph = true})[0];
    const Tensor d4 = tg::grad({d3.sum()}, {x}, {}, {.create_graph = true})[0];
    const Tensor d5 = tg::grad({d4.sum()}, {x})[0];
    tg::NoGradGuard ng;
    check_close(d1, 12.0 * tg::pow(x, 3.0) - 6.0 * tg::square(x) + 10.0 * x - 1.0);
    check_close(d2, 36.0 * tg::square(x) - 12.0 * x + 10.0);
    check_close(d3, 72.0 * x - 12.0);
    check_close(d4, tg::full({3}, 72.0, f64));
    check_close(d5, tg::zeros({3}, f64));
  }
  SUBCASE("mixed third derivative of x² y³ over two inputs: ∂³/∂x∂y² = 12 x y") {
    Tensor x = tg::tensor({1.5, -0.5}, f64);
    Tensor y = tg::tensor({0.8, 2.0}, f64);
    x.requires_grad_(true);
    y.requires_grad_(true);
    const Tensor f = (tg::square(x) * tg::pow(y, 3.0)).sum();
    const Tensor fy = tg::grad({f}, {y}, {}, {.create_graph = true})[0];
    const Tensor fyy = tg::grad({fy.sum()}, {y}, {}, {.create_graph = true})[0];
    const Tensor fyyx = tg::grad({fyy.sum()}, {x})[0];
    tg::NoGradGuard ng;
    check_close(fyy, 6.0 * tg::square(x) * y);
    check_close(fyyx, 12.0 * x * y);
  }
  SUBCASE("backward(create_graph) leaves a differentiable .grad()") {
    Tensor x = tg::tensor({0.5, -2.0}, f64);
    x.requires_grad_(true);
    (x * x * x).sum().backward({.create_graph = true});
    const Tensor g = x.grad();
    REQUIRE(g.requires_grad());
    const Tensor h = tg::grad({g.sum()}, {x})[0];
    tg::NoGradGuard ng;
    check_close(g, 3.0 * tg::square(x));
    check_close(h, 6.0 * x);
  }
}

TEST_CASE("higher order: jacobian, hessian, hvp, jvp, vjp") {
  tg::ScopedTape scope;
  const Tensor a = rnd({3, 4}, 21);
  auto f = [a](const Tensor& x) { return tg::tanh(tg::matmul(a, x)) * tg::sum(x * x); };
  const Tensor x = rnd({4}, 22);
  SUBCASE("jacobian against central differences of f") {
    const Tensor j = tg::jacobian(f, x);
    REQUIRE(j.shape() == tg::Shape{3, 4});
    const std::vector<double> jv = j.to_vector<double>();
    for (std::int64_t out = 0; out < 3; ++out) {
      auto fi = [&](const std::vector<double>& p) {
        tg::NoGradGuard ng;
        return f(tg::tensor(std::span<const double>(p), {4}, f64)).at({out});
      };
      const std::vector<double> num = tgtest::central_diff(fi, x.to_vector<double>());
      for (std::size_t k = 0; k < 4; ++k) CHECK(jv[out * 4 + k] == doctest::Approx(num[k]).epsilon(1e-6));
    }
  }
  SUBCASE("jacobian keeps f(x)'s and x's shapes") {
    const Tensor m = rnd({2, 3}, 23);
    const Tensor j = tg::jacobian([](const Tensor& v) { return tg::softmax(v, 1); }, m);
    CHECK(j.shape() == tg::Shape{2, 3, 2, 3});
  }
  SUBCASE("vjp = vᵀ J and jvp = J v") {
    const Tensor j = tg::jacobian(f, x);
    const Tensor v_out = rnd({3}, 24);
    const Tensor v_in = rnd({4}, 25);
    const tg::ValueAndProduct l = tg::vjp(f, x, v_out);
    const tg::ValueAndProduct r = tg::jvp(f, x, v_in);
    check_close(l.value, f(x).detach());
    check_close(r.value, f(x).detach());
    check_close(l.product, tg::matmul(v_out, j));
    check_close(r.product, tg::matmul(j, v_in));
    CHECK_FALSE(l.product.requires_grad());
  }
  SUBCASE("hvp = hessian · v, without forming the Hessian") {
    const SmallMlp mlp;
    const Tensor theta = rnd({SmallMlp::kParams}, 26) * 0.5;
    const Tensor v = rnd({SmallMlp::kParams}, 27);
    const tg::ValueAndProduct hv = tg::hvp(mlp, theta, v);
    check_close(hv.product, tg::matmul(tg::hessian(mlp, theta), v), 1e-9);
    check_close(hv.value, mlp(theta).detach());
  }
  SUBCASE("create_graph results are differentiable: d/dx trace(H) of Σ x⁴ is 24 x") {
    Tensor p = tg::tensor({0.3, -1.1, 0.8}, f64);
    p.requires_grad_(true);
    auto quartic = [](const Tensor& v) { return tg::pow(v, 4.0).sum(); };
    const Tensor h = tg::hessian(quartic, p, {.create_graph = true});
    REQUIRE(h.requires_grad());
    const Tensor trace = (h * tg::eye(3, f64)).sum();
    const Tensor d = tg::grad({trace}, {p})[0];
    tg::NoGradGuard ng;
    check_close(d, 24.0 * p);
  }
  SUBCASE("under NoGradGuard the helpers still record what they differentiate") {
    tg::NoGradGuard ng;
    auto cubic = [](const Tensor& v) { return tg::pow(v, 3.0).sum(); };
    check_close(tg::hessian(cubic, tg::tensor({0.5, -1.5}, f64)), tg::tensor({{3.0, 0.0}, {0.0, -9.0}}, f64));
  }
  SUBCASE("a create_graph backward started under NoGradGuard is still recorded") {
    Tensor q = tg::tensor({0.5, -1.5}, f64);
    q.requires_grad_(true);
    const Tensor fq = tg::pow(q, 3.0).sum();
    Tensor g;
    {
      tg::NoGradGuard ng;
      g = tg::grad({fq}, {q}, {}, {.create_graph = true})[0];
    }
    REQUIRE(g.requires_grad());
    const Tensor h = tg::grad({g.sum()}, {q})[0];
    tg::NoGradGuard ng;
    check_close(h, 6.0 * q);
  }
  SUBCASE("functions the helpers cannot take are refused") {
    CHECK_THROWS_AS(tg::hessian(f, x), tg::ShapeError);
    CHECK_THROWS_AS(tg::hvp(f, x, rnd({4})), tg::ShapeError);
    CHECK_THROWS_AS(tg::jvp(f, x, rnd({3})), tg::ShapeError);
    CHECK_THROWS_AS(tg::vjp(f, x, rnd({4})), tg::ShapeError);
    CHECK_THROWS_AS(tg::jacobian(f, tg::tensor(std::vector<std::int64_t>{1, 2}, {2})), tg::DtypeError);
  }
  SUBCASE("the helpers leave x and its .grad() alone") {
    Tensor p = rnd({4}, 28);
    p.requires_grad_(true);
    (void)tg::hessian([](const Tensor& v) { return tg::pow(v, 3.0).sum(); }, p);
    (void)tg::hvp([](const Tensor& v) { return tg::pow(v, 3.0).sum(); }, p, rnd({4}));
    CHECK_FALSE(p.grad().defined());
  }
}
