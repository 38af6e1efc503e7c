// The second-order registry check: every differentiable tensor op, differentiated twice (a create_graph
// backward, then a backward of gradient · u) against central differences of its first-order gradient.
#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "support/second_order_check.hpp"

using Args = std::vector<tg::Tensor>;
using tg::Tensor;

namespace {

constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};

Tensor rnd(const tg::Shape& s, std::uint64_t seed = 1) {
  tg::Generator g(seed);
  return tg::randn(s, f64, &g);
}

Tensor pos(const tg::Shape& s, std::uint64_t seed = 2) {
  tg::Generator g(seed);
  return tg::uniform(s, 0.5, 2.0, f64, &g);
}

Tensor idx(std::vector<std::int64_t> v, const tg::Shape& s) { return tg::tensor(v, s); }

// One row of the registry: an op applied to its inputs.
struct OpCase {
  const char* name;
  tgtest::TensorFn f;
  Args inputs;
};

// L = Σ y ⊙ (w + y / 2): the quadratic term makes even a linear op's backward part of the second
// derivative (its backward is then applied to a gradient that depends on x, and must be recorded).
Tensor loss_of(const tgtest::TensorFn& f, const Args& xs) {
  const Tensor y = f(xs);
  tg::Generator g(7);
  const Tensor w = tg::uniform(y.shape(), 0.5, 1.5, {.dtype = y.dtype()}, &g);
  return (y * (w + y * 0.5)).sum();
}

std::vector<OpCase> elementwise_cases() {
  return {
      {"add", [](const Args& x) { return x[0] + x[1]; }, {rnd({2, 3}), rnd({3}, 3)}},
      {"sub", [](const Args& x) { return x[0] - x[1]; }, {rnd({2, 3}), rnd({2, 1}, 3)}},
      {"mul", [](const Args& x) { return x[0] * x[1]; }, {rnd({2, 3}), rnd({3}, 3)}},
      {"mul (x * x)", [](const Args& x) { return x[0] * x[0]; }, {rnd({2, 3})}},
      {"div", [](const Args& x) { return x[0] / x[1]; }, {rnd({2, 3}), pos({2, 3})}},
      {"pow (tensor, tensor)", [](const Args& x) { return tg::pow(x[0], x[1]); }, {pos({2, 3}), rnd({2, 3}, 3)}},
      {"maximum", [](const Args& x) { return tg::maximum(x[0], x[1]); }, {rnd({2, 3}), rnd({2, 3}, 3)}},
      {"minimum", [](const Args& x) { return tg::minimum(x[0], x[1]); }, {rnd({2, 3}), rnd({2, 3}, 3)}},
      {"where", [](const Args& x) { return tg::where(x[0] > 0.0, x[0] * x[1], x[1]); }, {rnd({2, 3}), rnd({2, 3}, 3)}},
      {"neg", [](const Args& x) { return -x[0]; }, {rnd({4})}},
      {"exp", [](const Args& x) { return tg::exp(x[0]); }, {rnd({4})}},
      {"log", [](const Args& x) { return tg::log(x[0]); }, {pos({4})}},
      {"sqrt", [](const Args& x) { return tg::sqrt(x[0]); }, {pos({4})}},
      {"abs", [](const Args& x) { return tg::abs(x[0]); }, {rnd({4})}},
      {"sin", [](const Args& x) { return tg::sin(x[0]); }, {rnd({4})}},
      {"cos", [](const Args& x) { return tg::cos(x[0]); }, {rnd({4})}},
      {"tanh", [](const Args& x) { return tg::tanh(x[0]); }, {rnd({4})}},
      {"sigmoid", [](const Args& x) { return tg::sigmoid(x[0]); }, {rnd({4})}},
      {"relu", [](const Args& x) { return tg::relu(x[0]); }, {rnd({4})}},
      {"leaky_relu", [](const Args& x) { return tg::leaky_relu(x[0], 0.1); }, {rnd({4})}},
      {"elu", [](const Args& x) { return tg::elu(x[0]); }, {rnd({4})}},
      {"selu", [](const Args& x) { return tg::selu(x[0]); }, {rnd({4})}},
      {"softplus", [](const Args& x) { return tg::softplus(x[0], 2.0); }, {rnd({4})}},
      {"gelu", [](const Args& x) { return tg::gelu(x[0]); }, {rnd({4})}},
      {"silu", [](const Args& x) { return tg::silu(x[0]); }, {rnd({4})}},
      {"erf", [](const Args& x) { return tg::erf(x[0]); }, {rnd({4})}},
      {"square", [](const Args& x) { return tg::square(x[0]); }, {rnd({4})}},
      {"pow (tensor, scalar)", [](const Args& x) { return tg::pow(x[0], 3.5); }, {pos({4})}},
      {"pow (scalar, tensor)", [](const Args& x) { return tg::pow(1.7, x[0]); }, {rnd({4})}},
      {"clamp", [](const Args& x) { return tg::clamp(x[0], -0.5, 0.5); }, {rnd({6})}},
      {"scalar + - * /", [](const Args& x) { return (2.0 - x[0] * 3.0 + 1.0) / 4.0; }, {rnd({4})}},
      {"scalar / tensor", [](const Args& x) { return 2.0 / x[0]; }, {pos({4})}},
  };
}

std::vector<OpCase> structural_cases() {
  return {
      {"sum", [](const Args& x) { return tg::sum(x[0], {1}, true) * x[0]; }, {rnd({2, 3})}},
      {"mean", [](const Args& x) { return tg::mean(x[0], {0}) * x[0]; }, {rnd({2, 3})}},
      {"amax", [](const Args& x) { return tg::amax(x[0], {1}); }, {rnd({3, 4})}},
      {"amin", [](const Args& x) { return tg::amin(x[0], {0}, true); }, {rnd({3, 4})}},
      {"var", [](const Args& x) { return tg::var(x[0], {1}); }, {rnd({3, 4})}},
      {"std", [](const Args& x) { return tg::std(x[0], {0}); }, {rnd({3, 4})}},
      {"matmul 2-d", [](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({2, 3}), rnd({3, 4}, 3)}},
      {"matmul batched", [](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({2, 2, 3}), rnd({3, 2}, 3)}},
      {"matmul vector", [](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({3}), rnd({3, 2}, 3)}},
      {"matmul dot", [](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({3}), rnd({3}, 3)}},
      {"softmax", [](const Args& x) { return tg::softmax(x[0], 1); }, {rnd({2, 3})}},
      {"log_softmax", [](const Args& x) { return tg::log_softmax(x[0], 0); }, {rnd({2, 3})}},
      {"logsumexp", [](const Args& x) { return tg::logsumexp(x[0], {1}); }, {rnd({2, 3})}},
      {"reshape", [](const Args& x) { return tg::reshape(x[0], {3, 2}); }, {rnd({2, 3})}},
      {"view", [](const Args& x) { return tg::view(x[0], {6}); }, {rnd({2, 3})}},
      {"flatten", [](const Args& x) { return tg::flatten(x[0]); }, {rnd({2, 3})}},
      {"squeeze", [](const Args& x) { return tg::squeeze(x[0], 1); }, {rnd({2, 1, 3})}},
      {"unsqueeze", [](const Args& x) { return tg::unsqueeze(x[0], 0); }, {rnd({2, 3})}},
      {"transpose", [](const Args& x) { return tg::transpose(x[0], 0, 1) * x[1]; }, {rnd({2, 3}), rnd({3, 2}, 3)}},
      {"permute", [](const Args& x) { return tg::permute(x[0], {2, 0, 1}); }, {rnd({2, 3, 2})}},
      {"expand", [](const Args& x) { return tg::expand(x[0], {3, 4}); }, {rnd({3, 1})}},
      {"slice", [](const Args& x) { return tg::slice(x[0], 1, 1, 4); }, {rnd({2, 5})}},
      {"slice (step 2)", [](const Args& x) { return tg::slice(x[0], 1, 0, 5, 2); }, {rnd({2, 5})}},
      {"narrow", [](const Args& x) { return tg::narrow(x[0], 0, 1, 2); }, {rnd({4, 2})}},
      {"select", [](const Args& x) { return tg::select(x[0], 1, 2); }, {rnd({2, 3})}},
      {"cat", [](const Args& x) { return tg::cat({x[0], x[1]}, 1); }, {rnd({2, 3}), rnd({2, 2}, 3)}},
      {"stack", [](const Args& x) { return tg::stack({x[0], x[1]}, 0); }, {rnd({2, 3}), rnd({2, 3}, 3)}},
      {"pad", [](const Args& x) { return tg::pad(x[0], {1, 2}, 0.5); }, {rnd({2, 3})}},
      {"index_select", [](const Args& x) { return tg::index_select(x[0], 0, idx({2, 0, 2}, {3})); }, {rnd({3, 2})}},
      {"index_add", [](const Args& x) { return tg::index_add(x[0], 0, idx({1, 1}, {2}), x[1]); },
       {rnd({3, 2}), rnd({2, 2}, 3)}},
      {"gather", [](const Args& x) { return tg::gather(x[0], 1, idx({0, 2, 1, 1}, {2, 2})); }, {rnd({2, 3})}},
      {"scatter_add", [](const Args& x) { return tg::scatter_add(x[0], 1, idx({0, 2, 0, 0}, {2, 2}), x[1]); },
       {rnd({2, 3}), rnd({2, 2}, 3)}},
      {"clone / contiguous", [](const Args& x) { return tg::transpose(x[0], 0, 1).contiguous().clone(); },
       {rnd({2, 3})}},
      {"to (same dtype)", [](const Args& x) { return x[0].to(tg::kFloat64); }, {rnd({2, 3})}},
  };
}

void run(const std::vector<OpCase>& cases) {
  for (const OpCase& c : cases) {
    CAPTURE(std::string(c.name));
    const tgtest::TensorFn f = c.f;
    CHECK_SECOND_ORDER([f](const Args& xs) { return loss_of(f, xs); }, c.inputs);
  }
}

}  // namespace

TEST_CASE("second order: every elementwise tensor op") { run(elementwise_cases()); }

TEST_CASE("second order: reductions, matmul, softmax, shape and index ops") { run(structural_cases()); }

TEST_CASE("second order: dtype conversion to float32 and back") {
  // Float32 in the middle rules out central differences at 1e-6; the closed form of Σ y³ is exact:
  // d/dx [∇(Σ x³) · u] = 6 x u.
  tg::ScopedTape scope;
  Tensor x = rnd({4});
  x.requires_grad_(true);
  const Tensor y = x.to(tg::kFloat32).to(tg::kFloat64);
  const Tensor g = tg::grad({(y * y * y).sum()}, {x}, {}, {.create_graph = true})[0];
  const Tensor u = rnd({4}, 5);
  const Tensor h = tg::grad({(g * u).sum()}, {x})[0];
  const std::vector<double> xv = x.to_vector<double>();
  const std::vector<double> uv = u.to_vector<double>();
  const std::vector<double> hv = h.to_vector<double>();
  for (std::size_t i = 0; i < xv.size(); ++i) CHECK(hv[i] == doctest::Approx(6 * xv[i] * uv[i]).epsilon(1e-5));
}

// Ops that refuse second order, each with the error it must raise (a wrong number is never returned).
TEST_CASE("second order: first-order-only ops refuse, naming the op") {
  SUBCASE("scalar Var statements") {
    tg::ScopedTape scope;
    const tg::Var x(0.3);
    const tg::Var y = tg::sigmoid(x) * x;
    CHECK_THROWS_WITH_AS(tg::grad(y, {x}, {.create_graph = true}),
                         doctest::Contains("mul (scalar Var op, tape slot"), tg::TapeError);
    const tg::Var z = tg::sigmoid(x);
    CHECK_THROWS_WITH_AS(tg::grad(z, {x}, {.create_graph = true}), doctest::Contains("sigmoid"), tg::TapeError);
    CHECK_THROWS_WITH_AS(tg::grad(z, {x}, {.create_graph = true}),
                         doctest::Contains("is first-order only"), tg::TapeError);
  }
  SUBCASE("Tensor → Var bridge (to_var)") {
    tg::ScopedTape scope;
    Tensor t = rnd({1});
    t.requires_grad_(true);
    const tg::Var v = t.sum().to_var();
    CHECK_THROWS_WITH_AS(tg::grad(v, {v}, {.create_graph = true}),
                         doctest::Contains("to_var (a Tensor/Var bridge) is first-order only"), tg::TapeError);
    const tg::Var w = tg::sigmoid(v);
    CHECK_THROWS_WITH_AS(tg::grad(w, {v}, {.create_graph = true}), doctest::Contains("sigmoid"), tg::TapeError);
  }
  SUBCASE("Var → Tensor bridge (from_vars)") {
    tg::ScopedTape scope;
    const tg::Var v(0.7);
    Tensor x = rnd({1});
    x.requires_grad_(true);
    const Tensor t = Tensor::from_vars(std::span<const tg::Var>(&v, 1), {1});
    CHECK_THROWS_WITH_AS(tg::grad({(t * x).sum()}, {x}, {}, {.create_graph = true}),
                         doctest::Contains("from_vars"), tg::TapeError);
  }
  SUBCASE("first-order backward through the same scalar ops still works") {
    tg::ScopedTape scope;
    const tg::Var x(0.3);
    const tg::Var y = tg::sigmoid(x);
    const double s = 1 / (1 + std::exp(-0.3));
    CHECK(tg::grad(y, {x})[0] == doctest::Approx(s * (1 - s)));
  }
}
