// Tensor basics: creation, dtypes, views, element access, printing, errors.
#include <doctest/doctest.h>

#include <sstream>

#include "support/tensor_check.hpp"
#include "tapegrad/tapegrad.hpp"

using tgtest::f64;

TEST_CASE("tensor creation") {
  SUBCASE("zeros ones full") {
    const tg::Tensor z = tg::zeros({2, 3});
    CHECK(z.dtype() == tg::kFloat32);
    CHECK(z.shape() == tg::Shape{2, 3});
    CHECK(z.numel() == 6);
    CHECK(z.sum().item() == 0.0);
    CHECK(tg::ones({4}, f64).sum().item() == 4.0);
    CHECK(tg::full({2, 2}, 2.5, f64).at({1, 1}) == 2.5);
  }
  SUBCASE("arange linspace eye") {
    CHECK(tg::arange(5).to_vector<double>() == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(tg::arange(1, 2, 0.25, f64).to_vector<double>() == std::vector<double>{1, 1.25, 1.5, 1.75});
    CHECK(tg::linspace(0, 1, 5, f64).to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
    CHECK(tg::eye(3).to_vector<double>() == std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1});
    CHECK_THROWS_AS(tg::arange(0, 1, 0), tg::ValueError);
  }
  SUBCASE("from data") {
    const tg::Tensor a = tg::tensor({{1, 2, 3}, {4, 5, 6}}, f64);
    CHECK(a.shape() == tg::Shape{2, 3});
    CHECK(a.at({1, 0}) == 4.0);
    CHECK(a.at({-1, -1}) == 6.0);
    const tg::Tensor v = tg::tensor(std::vector<double>{1, 2, 3, 4}, {2, 2});
    CHECK(v.dtype() == tg::kFloat64);
    CHECK(v.at({0, 1}) == 2.0);
    const tg::Tensor i = tg::tensor(std::vector<std::int64_t>{3, 1}, {2});
    CHECK(i.dtype() == tg::kInt64);
    CHECK_THROWS_AS(tg::tensor(std::vector<double>{1, 2, 3}, {2, 2}), tg::ShapeError);
    CHECK_THROWS_AS(tg::tensor({{1, 2}, {3}}), tg::ShapeError);
  }
  SUBCASE("random tensors repeat with the seed and agree across dtypes") {
    tg::Generator g1(7);
    tg::Generator g2(7);
    const tg::Tensor a = tg::randn({3, 4}, f64, &g1);
    const tg::Tensor b = tg::randn({3, 4}, {.dtype = tg::kFloat32}, &g2);
    CHECK(tg::allclose(a.to(tg::kFloat32), b));
    tg::Generator g3(7);
    tg::Generator ref(7);
    const tg::Tensor u = tg::rand({5}, f64, &g3);
    for (std::int64_t i = 0; i < 5; ++i) CHECK(u.at({i}) == ref.uniform());
    tg::Generator g4(1);
    const tg::Tensor bern = tg::bernoulli({1000}, 0.3, f64, &g4);
    CHECK(bern.mean().item() == doctest::Approx(0.3).epsilon(0.1));
    CHECK_THROWS_AS(tg::bernoulli({2}, 1.5), tg::ValueError);
    CHECK_THROWS_AS(tg::normal({2}, 0, -1), tg::ValueError);
  }
}

TEST_CASE("tensor dtype conversion and checks") {
  const tg::Tensor a = tg::tensor({1.5, 2.5}, f64);
  const tg::Tensor b = tg::tensor({1.0, 2.0});
  SUBCASE("explicit to()") {
    CHECK(a.to(tg::kFloat32).dtype() == tg::kFloat32);
    CHECK(a.to(tg::kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
    CHECK((a.to(tg::kFloat32) + b).dtype() == tg::kFloat32);
  }
  SUBCASE("mixing dtypes is an error naming both") {
    try {
      (void)(a + b);
      FAIL("no error");
    } catch (const tg::DtypeError& e) {
      CHECK(std::string(e.what()).find("float64 and float32") != std::string::npos);
    }
  }
  SUBCASE("int tensors are refused by float ops") {
    CHECK_THROWS_AS(tg::exp(tg::arange(3, {.dtype = tg::kInt64})), tg::DtypeError);
    CHECK_THROWS_AS(tg::arange(3, {.dtype = tg::kInt64}).requires_grad_(), tg::DtypeError);
  }
}

TEST_CASE("tensor views share storage") {
  tg::Tensor a = tg::arange(6, f64).reshape({2, 3});
  SUBCASE("transpose is a strided view") {
    const tg::Tensor t = a.t();
    CHECK(t.shape() == tg::Shape{3, 2});
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.at({2, 1}) == 5.0);
    CHECK(t.contiguous().to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5});
    a.set({1, 2}, 50.0);
    CHECK(t.at({2, 1}) == 50.0);
  }
  SUBCASE("slice, select, narrow") {
    CHECK(a.slice(1, 0, 3, 2).to_vector<double>() == std::vector<double>{0, 2, 3, 5});
    CHECK(a[1].to_vector<double>() == std::vector<double>{3, 4, 5});
    CHECK(a.narrow(1, 1, 2).to_vector<double>() == std::vector<double>{1, 2, 4, 5});
    CHECK(a.slice(1, -2, 100).to_vector<double>() == std::vector<double>{1, 2, 4, 5});
  }
  SUBCASE("reshape of a non-viewable tensor copies, view refuses") {
    CHECK(a.t().reshape({6}).to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK_THROWS_AS(a.t().view({6}), tg::ShapeError);
    CHECK(a.view({3, -1}).shape() == tg::Shape{3, 2});
    CHECK_THROWS_AS(a.reshape({4, 2}), tg::ShapeError);
  }
  SUBCASE("squeeze, unsqueeze, flatten, permute, expand") {
    CHECK(a.unsqueeze(0).shape() == tg::Shape{1, 2, 3});
    CHECK(a.unsqueeze(-1).shape() == tg::Shape{2, 3, 1});
    CHECK(a.unsqueeze(0).squeeze().shape() == tg::Shape{2, 3});
    CHECK(a.reshape({1, 2, 1, 3}).flatten().shape() == tg::Shape{6});
    CHECK(a.reshape({1, 2, 3}).permute({2, 0, 1}).shape() == tg::Shape{3, 1, 2});
    const tg::Tensor e = tg::tensor({1.0, 2.0}, f64).reshape({2, 1}).expand({2, 3});
    CHECK(e.to_vector<double>() == std::vector<double>{1, 1, 1, 2, 2, 2});
    CHECK_THROWS_AS(a.expand({4, 3}), tg::ShapeError);
  }
  SUBCASE("detach shares data and drops the graph") {
    tg::Tensor w = tg::ones({2}, f64).requires_grad_();
    const tg::Tensor d = (w * 2.0).detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.is_leaf());
  }
}

TEST_CASE("tensor errors") {
  const tg::Tensor a = tg::zeros({2, 3});
  SUBCASE("shape mismatch names both shapes") {
    try {
      (void)(a + tg::zeros({4}));
      FAIL("no error");
    } catch (const tg::ShapeError& e) {
      CHECK(std::string(e.what()).find("[2, 3]") != std::string::npos);
      CHECK(std::string(e.what()).find("[4]") != std::string::npos);
    }
    try {
      (void)tg::matmul(a, tg::zeros({4, 5}));
      FAIL("no error");
    } catch (const tg::ShapeError& e) {
      CHECK(std::string(e.what()) == "matmul: inner dimensions must match, got [2, 3] and [4, 5]");
    }
  }
  SUBCASE("index out of range") {
    CHECK_THROWS_AS((void)a.at({2, 0}), tg::IndexError);
    CHECK_THROWS_AS((void)a.at({0}), tg::IndexError);
    CHECK_THROWS_AS((void)a.select(1, 3), tg::IndexError);
    CHECK_THROWS_AS((void)a.narrow(1, 2, 2), tg::IndexError);
    CHECK_THROWS_AS((void)tg::index_select(a, 0, tg::tensor(std::vector<std::int64_t>{2}, {1})), tg::IndexError);
  }
  SUBCASE("bad axis") {
    CHECK_THROWS_AS((void)a.sum(2), tg::IndexError);
    CHECK_THROWS_AS((void)a.sum(-3), tg::IndexError);
    CHECK_THROWS_AS((void)a.transpose(0, 5), tg::IndexError);
    CHECK_THROWS_AS((void)tg::softmax(a, 2), tg::IndexError);
    CHECK_THROWS_AS((void)a.sum({0, 0}), tg::IndexError);
  }
  SUBCASE("item needs one element") {
    CHECK_THROWS_AS((void)a.item(), tg::ShapeError);
    CHECK_THROWS_AS((void)tg::Tensor().item(), tg::ValueError);
  }
}

TEST_CASE("tensor printing") {
  std::ostringstream os;
  os << tg::tensor({{1, 2}, {3, 4.5}}, f64);
  CHECK(os.str() == "tensor([[1, 2],\n        [3, 4.5]], shape=[2, 2], dtype=float64)");
  std::ostringstream os2;
  os2 << tg::tensor({1.0, 2.0}).requires_grad_();
  CHECK(os2.str() == "tensor([1, 2], dtype=float32, requires_grad=true)");
  std::ostringstream os3;
  os3 << tg::arange(2000);
  CHECK(os3.str().find("...") != std::string::npos);
}

TEST_CASE("tensor creation shorthands take a dtype as LibTorch") {
  CHECK(tg::zeros({2, 3}, tg::kFloat64).dtype() == tg::kFloat64);
  CHECK(tg::ones({2}, tg::kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1});
  CHECK(tg::tensor({1.0, 2.0}, tg::kFloat64).dtype() == tg::kFloat64);
  CHECK(tg::arange(3, tg::kInt64).dtype() == tg::kInt64);
  CHECK(tg::eye(2, tg::kFloat64).sum().item() == 2.0);
  tg::Tensor w = tg::randn({3, 2}, {.dtype = tg::kFloat64, .requires_grad = true});
  const tg::Tensor x = tg::ones({4, 3}, tg::kFloat64);
  tg::sigmoid(tg::matmul(x, w)).sum().backward();
  CHECK(w.grad().shape() == tg::Shape{3, 2});
}
