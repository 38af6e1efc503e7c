// Gradients of reductions, matmul, shape, index and softmax ops against float64 central differences.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "support/tensor_check.hpp"

using tgtest::f64;
using Args = std::vector<tg::Tensor>;

namespace {

tg::Tensor rnd(const tg::Shape& s, std::uint64_t seed = 1) {
  tg::Generator g(seed);
  return tg::randn(s, f64, &g);
}

tg::Tensor idx(std::vector<std::int64_t> v, const tg::Shape& s) { return tg::tensor(v, s); }

}  // namespace

TEST_CASE("tensor grad: reductions") {
  SUBCASE("sum and mean over any axes") {
    for (bool keep : {false, true}) {
      CAPTURE(keep);
      CHECK_TENSOR_GRAD([](const Args& x) { return x[0].sum(); }, {rnd({2, 3, 4})});
      CHECK_TENSOR_GRAD([keep](const Args& x) { return tg::sum(x[0], {1}, keep); }, {rnd({2, 3, 4})});
      CHECK_TENSOR_GRAD([keep](const Args& x) { return tg::sum(x[0], {0, 2}, keep); }, {rnd({2, 3, 4})});
      CHECK_TENSOR_GRAD([keep](const Args& x) { return tg::mean(x[0], {-1}, keep); }, {rnd({2, 3, 4})});
      CHECK_TENSOR_GRAD([keep](const Args& x) { return tg::mean(x[0], {0}, keep); }, {rnd({3, 4})},
                        {.noncontiguous = true});
    }
  }
  SUBCASE("max, min, var, std") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::amax(x[0], {1}); }, {rnd({3, 4})});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::amin(x[0], {0}, true); }, {rnd({3, 4})}, {.noncontiguous = true});
    CHECK_TENSOR_GRAD([](const Args& x) { return x[0].max(); }, {rnd({3, 4})});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::var(x[0], {1}); }, {rnd({3, 4})});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::var(x[0], {}, 0, true); }, {rnd({3, 4})});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::std(x[0], {0}); }, {rnd({3, 4})});
  }
  SUBCASE("values") {
    const tg::Tensor a = tg::tensor({{1, 5, 3}, {4, 2, 6}}, f64);
    CHECK(tg::sum(a, {0}).to_vector<double>() == std::vector<double>{5, 7, 9});
    CHECK(tg::sum(a, {1}, true).shape() == tg::Shape{2, 1});
    CHECK(tg::amax(a, {1}).to_vector<double>() == std::vector<double>{5, 6});
    CHECK(tg::var(a).item() == doctest::Approx(3.5));
    CHECK(tg::argmax(a, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
    CHECK(tg::argmin(a, 0).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 0});
    CHECK(a.argmax().item() == 5);
    CHECK(tg::argmax(a, 1, true).shape() == tg::Shape{2, 1});
  }
  SUBCASE("ties share the max gradient") {
    tg::Tensor x = tg::tensor({1.0, 3.0, 3.0}, {.dtype = tg::kFloat64, .requires_grad = true});
    x.max().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0.5});
  }
  SUBCASE("0-size dimensions") {
    const tg::Tensor e = tg::zeros({0, 3}, f64);
    CHECK(e.sum().item() == 0.0);
    CHECK(tg::sum(e, {0}).shape() == tg::Shape{3});
    CHECK(std::isnan(e.mean().item()));
    CHECK_THROWS_AS(e.max(), tg::IndexError);
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::sum(x[0], {1}); }, {rnd({0, 3})});
  }
}

TEST_CASE("tensor grad: matmul") {
  SUBCASE("2-d") { CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({2, 3}, 1), rnd({3, 4}, 2)}); }
  SUBCASE("2-d large enough for BLAS, transposed inputs") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({20, 17}, 1), rnd({17, 19}, 2)},
                      {.noncontiguous = true});
  }
  SUBCASE("dot, matrix-vector, vector-matrix") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({5}, 1), rnd({5}, 2)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({3, 5}, 1), rnd({5}, 2)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({5}, 1), rnd({5, 2}, 2)});
  }
  SUBCASE("batched with broadcast batch dims") {
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({2, 3, 4}, 1), rnd({4, 5}, 2)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({2, 1, 3, 4}, 1), rnd({3, 4, 2}, 2)});
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({2, 3, 4}, 1), rnd({4}, 2)});
    CHECK(tg::matmul(rnd({2, 1, 3, 4}), rnd({3, 4, 2})).shape() == tg::Shape{2, 3, 3, 2});
  }
  SUBCASE("values, including BLAS sizes and a transposed view") {
    const tg::Tensor a = rnd({40, 30}, 3);
    const tg::Tensor b = rnd({30, 20}, 4);
    const tg::Tensor c = tg::matmul(a, b);
    double ref = 0;
    for (std::int64_t k = 0; k < 30; ++k) ref += a.at({7, k}) * b.at({k, 11});
    CHECK(c.at({7, 11}) == doctest::Approx(ref).epsilon(1e-12));
    const tg::Tensor ct = tg::matmul(b.t(), a.t());
    CHECK(ct.at({11, 7}) == doctest::Approx(ref).epsilon(1e-12));
    CHECK(tg::matmul(a.to(tg::kFloat32), b.to(tg::kFloat32)).at({7, 11}) == doctest::Approx(ref).epsilon(1e-4));
  }
  SUBCASE("0-size inner dimension gives zeros") {
    CHECK(tg::matmul(tg::zeros({2, 0}, f64), tg::zeros({0, 3}, f64)).to_vector<double>() == std::vector<double>(6, 0.0));
    CHECK_TENSOR_GRAD([](const Args& x) { return tg::matmul(x[0], x[1]); }, {rnd({0, 3}, 1), rnd({3, 2}, 2)});
  }
}

// The layout of nn::Linear (x·Wᵀ with W a leaf): matmul's backward hands the transpose a gradient it can
// turn back into a contiguous .grad() without a copy; the values must still be Σ_b g[b][o] x[b][i], and
// the weight's gradient must not share memory with the transposed view's retained gradient.
TEST_CASE("tensor grad: matmul with a transposed weight as in a linear layer") {
  const tg::Tensor x = rnd({16, 24}, 5);  // 16·20·24 flop: large enough for BLAS
  tg::Tensor w = rnd({20, 24}, 6);
  w.requires_grad_(true);
  tg::Tensor wt = w.t();
  wt.retain_grad();
  const tg::Tensor g = rnd({16, 20}, 7);
  (tg::matmul(x, wt) * g).sum().backward();
  REQUIRE(w.grad().defined());
  CHECK(w.grad().shape() == tg::Shape{20, 24});
  CHECK(w.grad().is_contiguous());
  double worst = 0.0;
  for (std::int64_t o = 0; o < 20; ++o) {
    for (std::int64_t i = 0; i < 24; ++i) {
      double ref = 0.0;
      for (std::int64_t b = 0; b < 16; ++b) ref += g.at({b, o}) * x.at({b, i});
      worst = std::max(worst, std::abs(w.grad().at({o, i}) - ref));
      worst = std::max(worst, std::abs(wt.grad().at({i, o}) - ref));
    }
  }
  CHECK(worst < 1e-12);
  const double before = wt.grad().at({3, 2});
  tg::Tensor wg = w.grad();
  wg.add_(1.0);
  CHECK(wt.grad().at({3, 2}) == before);
  CHECK(w.grad().at({2, 3}) == doctest::Approx(before + 1.0).epsilon(1e-12));

  // A second backward accumulates into the existing .grad(): twice the closed form.
  tg::Tensor w2 = rnd({20, 24}, 6);
  w2.requires_grad_(true);
  for (int rep = 0; rep < 2; ++rep) (tg::matmul(x, w2.t()) * g).sum().backward();
  double ref = 0.0;
  for (std::int64_t b = 0; b < 16; ++b) ref += g.at({b, 4}) * x.at({b, 9});
  CHECK(w2.grad().at({4, 9}) == doctest::Approx(2.0 * ref).epsilon(1e-12));
}

TEST_CASE("tensor grad: shape ops") {
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].reshape({3, 2}); }, {rnd({2, 3})}, {.noncontiguous = true});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].transpose(0, 1) * x[1]; }, {rnd({2, 3}), rnd({3, 2}, 2)});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].permute({2, 0, 1}); }, {rnd({2, 3, 4})});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].unsqueeze(1).expand({2, 4, 3}); }, {rnd({2, 3})});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].squeeze().flatten(); }, {rnd({2, 1, 3})});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].slice(1, 1, 4); }, {rnd({2, 5})});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].slice(1, 0, 5, 2); }, {rnd({2, 5})});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].narrow(1, 1, 3) * x[0].select(1, 2); }, {rnd({3, 4})});
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::cat({x[0], x[1], x[0]}, 1); }, {rnd({2, 3}), rnd({2, 1}, 2)});
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::stack({x[0], x[1]}, 1); }, {rnd({2, 3}), rnd({2, 3}, 2)});
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::pad(x[0], {1, 2, 0, 1}, 0.5); }, {rnd({2, 3})});
  CHECK_TENSOR_GRAD([](const Args& x) { return x[0].t().contiguous() * x[0].clone().t(); }, {rnd({2, 3})});
  SUBCASE("to() passes the gradient back in the input's dtype") {
    tg::Tensor x = tg::tensor({1.0, 2.0}, {.dtype = tg::kFloat64, .requires_grad = true});
    (x.to(tg::kFloat32) * 3.0).sum().backward();
    CHECK(x.grad().dtype() == tg::kFloat64);
    CHECK(x.grad().to_vector<double>() == std::vector<double>{3, 3});
  }
  SUBCASE("values") {
    const tg::Tensor a = tg::tensor({{1, 2}, {3, 4}}, f64);
    CHECK(tg::cat({a, a}, 0).shape() == tg::Shape{4, 2});
    CHECK(tg::stack({a, a}, 2).shape() == tg::Shape{2, 2, 2});
    CHECK(tg::pad(a, {1, 0}).to_vector<double>() == std::vector<double>{0, 1, 2, 0, 3, 4});
    CHECK_THROWS_AS(tg::cat({a, tg::zeros({3, 3}, f64)}, 0), tg::ShapeError);
    CHECK_THROWS_AS(tg::pad(a, {-1, 0}), tg::ValueError);
  }
}

TEST_CASE("tensor grad: index ops") {
  const tg::Tensor i3 = idx({2, 0, 2}, {3});
  CHECK_TENSOR_GRAD([&](const Args& x) { return tg::index_select(x[0], 0, i3); }, {rnd({3, 2})});
  CHECK_TENSOR_GRAD([&](const Args& x) { return tg::index_select(x[0], 1, i3); }, {rnd({2, 3})}, {.noncontiguous = true});
  CHECK_TENSOR_GRAD([&](const Args& x) { return tg::index_add(x[0], 0, i3, x[1]); }, {rnd({3, 2}), rnd({3, 2}, 2)});
  const tg::Tensor g = idx({1, 1, 0, 2, 0, 0}, {2, 3});
  CHECK_TENSOR_GRAD([&](const Args& x) { return tg::gather(x[0], 1, g); }, {rnd({2, 4})});
  CHECK_TENSOR_GRAD([&](const Args& x) { return tg::scatter_add(x[0], 1, g, x[1]); }, {rnd({2, 4}), rnd({2, 3}, 2)});
  SUBCASE("values") {
    const tg::Tensor a = tg::tensor({{1, 2, 3}, {4, 5, 6}}, f64);
    CHECK(tg::gather(a, 1, idx({2, 0, 1, 1}, {2, 2})).to_vector<double>() == std::vector<double>{3, 1, 5, 5});
    CHECK(tg::scatter_add(tg::zeros({2, 3}, f64), 1, idx({2, 2, 0, 0}, {2, 2}), tg::ones({2, 2}, f64))
              .to_vector<double>() == std::vector<double>{0, 0, 2, 2, 0, 0});
    CHECK(tg::one_hot(idx({2, 0}, {2}), 3).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 1, 1, 0, 0});
    CHECK(tg::one_hot(idx({1}, {1})).shape() == tg::Shape{1, 2});
    CHECK_THROWS_AS(tg::one_hot(idx({3}, {1}), 3), tg::IndexError);
    CHECK_THROWS_AS(tg::gather(a, 1, idx({3}, {1, 1})), tg::IndexError);
    CHECK_THROWS_AS(tg::index_select(a, 0, tg::tensor({0.0})), tg::DtypeError);
  }
}

TEST_CASE("tensor grad: softmax family") {
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::softmax(x[0], 1); }, {rnd({2, 4})});
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::softmax(x[0], 0); }, {rnd({3, 2})}, {.noncontiguous = true});
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::log_softmax(x[0], -1); }, {rnd({2, 4})});
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::logsumexp(x[0], {1}); }, {rnd({2, 4})});
  CHECK_TENSOR_GRAD([](const Args& x) { return tg::logsumexp(x[0], {0, 1}, true); }, {rnd({2, 4})});
  SUBCASE("stable for large inputs") {
    const tg::Tensor x = tg::tensor({1000.0, 1000.0, -1000.0}, f64);
    CHECK(tg::softmax(x, 0).to_vector<double>() == std::vector<double>{0.5, 0.5, 0.0});
    CHECK(tg::log_softmax(x, 0).at({0}) == doctest::Approx(-std::log(2.0)));
    CHECK(tg::logsumexp(x, {0}).item() == doctest::Approx(1000.0 + std::log(2.0)));
    const tg::Tensor ninf = tg::full({2}, -INFINITY, f64);
    CHECK(tg::logsumexp(ninf, {0}).item() == -INFINITY);
  }
}
