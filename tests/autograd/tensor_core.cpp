// Tensor basics: creation, dtypes, views, element access, printing, errors.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

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

// The what() of the tg::Error that f throws ("" when it throws none), to compare whole messages.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("labelled tensors are named in op errors") {
  tg::Tensor A = tg::zeros({2, 3});
  A.label("A");
  tg::Tensor B = tg::zeros({4, 5});
  B.label("B");
  tg::Tensor v = tg::zeros({4});
  v.label("v");
  const tg::Tensor plain = tg::zeros({4});
  SUBCASE("broadcasting binary ops") {
    CHECK(error_of([&] { (void)(A + v); }) ==
          "add: shapes 'A' [2, 3] and 'v' [4] cannot be broadcast (dimension 1: 3 vs 4)");
    CHECK(error_of([&] { (void)(A * plain); }) ==
          "mul: shapes 'A' [2, 3] and [4] cannot be broadcast (dimension 1: 3 vs 4)");
    CHECK(error_of([&] { (void)tg::maximum(plain, A); }) ==
          "maximum: shapes [4] and 'A' [2, 3] cannot be broadcast (dimension 1: 4 vs 3)");
    CHECK(error_of([&] { (void)(A + v.to(tg::kFloat64)); }) ==
          "add: dtype mismatch, 'A' float32 and float64; convert one with .to(dtype) first");
  }
  SUBCASE("matmul") {
    CHECK(error_of([&] { (void)tg::matmul(A, B); }) ==
          "matmul: inner dimensions must match, got 'A' [2, 3] and 'B' [4, 5]");
    CHECK(error_of([&] { (void)tg::matmul(v, tg::zeros({3})); }) ==
          "matmul: inner dimensions must match, got 'v' [4] and [3]");
    tg::Tensor batch = tg::zeros({2, 3, 5});
    batch.label("batch");
    CHECK(error_of([&] { (void)tg::matmul(batch, B); }) ==
          "matmul: inner dimensions must match, got 'batch' [2, 3, 5] and 'B' [4, 5]");
  }
  SUBCASE("cat and stack") {
    CHECK(error_of([&] { (void)tg::cat({A, B}, 0); }) ==
          "cat: shapes 'A' [2, 3] and 'B' [4, 5] differ outside dimension 0");
    CHECK(error_of([&] { (void)tg::stack({v, A}, 0); }) ==
          "stack: all tensors must have the same shape, got 'v' [4] and 'A' [2, 3]");
  }
  SUBCASE("reshape and view") {
    CHECK(error_of([&] { (void)A.reshape({4}); }) ==
          "reshape: cannot reshape a tensor 'A' of shape [2, 3] (6 elements) into [4]");
    tg::Tensor At = A.transpose(0, 1);
    At.label("At");
    CHECK(error_of([&] { (void)At.view({6}); }) ==
          "view: a tensor 'At' of shape [3, 2] with strides [1, 3] cannot be viewed as [6] without a copy; use reshape() "
          "(or contiguous() first)");
    CHECK(error_of([&] { (void)A.expand({4, 3}); }) ==
          "expand: shape 'A' [2, 3] cannot be expanded to [4, 3] (only size-1 dims can grow)");
  }
  SUBCASE("index ops") {
    const tg::Tensor idx = tg::tensor(std::vector<std::int64_t>{0, 7}, {2});
    CHECK(error_of([&] { (void)tg::index_select(A, 1, idx); }) ==
          "index_select: index 7 is out of range for dimension 1 of size 3 of tensor 'A'");
    CHECK(error_of([&] { (void)A.select(0, 2); }) ==
          "select: index 2 is out of range for dimension 0 of size 2 of tensor 'A'");
    CHECK(error_of([&] { (void)A.at({0, 3}); }) ==
          "at: index 3 is out of range for dimension 1 of size 3 (shape 'A' [2, 3])");
    tg::Tensor big = tg::zeros({3, 3}, tg::kInt64);
    big.label("idx");
    CHECK(error_of([&] { (void)tg::gather(A, 1, big); }) ==
          "gather: index 'idx' of shape [3, 3] does not fit a tensor 'A' of shape [2, 3] (same number of dims, no larger "
          "outside dimension 1)");
  }
  SUBCASE("in-place ops") {
    tg::Tensor t = tg::zeros({2, 3});
    t.label("t");
    CHECK(error_of([&] { t.add_(v); }) ==
          "add_: shapes 't' [2, 3] and 'v' [4] cannot be broadcast (dimension 1: 3 vs 4)");
    tg::Tensor row = tg::zeros({3});
    row.label("row");
    CHECK(error_of([&] { row.add_(A); }) ==
          "add_: operand 'A' of shape [2, 3] cannot be broadcast to the tensor 'row' of shape [3]");
  }
  SUBCASE("unlabelled operands keep the plain text") {
    CHECK(error_of([] { (void)tg::matmul(tg::zeros({2, 3}), tg::zeros({4, 5})); }) ==
          "matmul: inner dimensions must match, got [2, 3] and [4, 5]");
    CHECK(error_of([] { (void)tg::zeros({2, 3}).reshape({4}); }) ==
          "reshape: cannot reshape a tensor of shape [2, 3] (6 elements) into [4]");
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
