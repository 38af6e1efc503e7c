// Gradient clipping against norms worked by hand (3-4-5 and 5-12-13 triangles).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tapegrad/nn/clip.hpp"

using namespace tg::nn;
using Vec = std::vector<double>;

namespace {

tg::Tensor with_grad(const Vec& v, const Vec& g, tg::Dtype d = tg::kFloat64) {
  tg::Tensor t = tg::tensor(v, tg::Shape{static_cast<std::int64_t>(v.size())}, {.dtype = d});
  t.requires_grad_();
  t.backward(tg::tensor(g, tg::Shape{static_cast<std::int64_t>(g.size())}, {.dtype = d}));
  return t;
}

}  // namespace

TEST_CASE("clip_grad_norm_") {
  // Gradients [3, 4] and [12]: 2-norm 13, 1-norm 19, inf-norm 12.
  tg::Tensor a = with_grad({0.0, 0.0}, {3.0, 4.0});
  tg::Tensor b = with_grad({0.0}, {12.0});
  tg::Tensor none = tg::zeros({3}, {.dtype = tg::kFloat64});
  none.requires_grad_();
  SUBCASE("2-norm: scaled by max_norm / (total + 1e-6)") {
    CHECK(clip_grad_norm_({a, none, b}, 6.5) == doctest::Approx(13.0).epsilon(1e-15));
    const double c = 6.5 / (13.0 + 1e-6);
    CHECK(a.grad().to_vector<double>() == Vec{3.0 * c, 4.0 * c});
    CHECK(b.grad().at({0}) == 12.0 * c);
    CHECK_FALSE(none.grad().defined());
  }
  SUBCASE("a total below max_norm leaves the gradients alone") {
    CHECK(clip_grad_norm_({a, b}, 20.0) == doctest::Approx(13.0));
    CHECK(a.grad().to_vector<double>() == Vec{3.0, 4.0});
  }
  SUBCASE("infinity norm and 1-norm") {
    CHECK(clip_grad_norm_({a, b}, 100.0, kInfNorm) == 12.0);
    CHECK(clip_grad_norm_({a, b}, 100.0, 1.0) == doctest::Approx(19.0));
    CHECK(clip_grad_norm_({a, b}, 6.0, kInfNorm) == 12.0);
    CHECK(b.grad().at({0}) == doctest::Approx(6.0).epsilon(1e-6));
  }
  SUBCASE("float32 gradients") {
    tg::Tensor f = with_grad({0.0, 0.0}, {3.0, 4.0}, tg::kFloat32);
    CHECK(clip_grad_norm_({f}, 1.0) == doctest::Approx(5.0));
    CHECK(f.grad().at({1}) == doctest::Approx(0.8).epsilon(1e-6));
  }
  SUBCASE("non-finite norms and bad arguments") {
    tg::Tensor n = with_grad({0.0}, {std::numeric_limits<double>::infinity()});
    CHECK_THROWS_AS(clip_grad_norm_({a, n}, 1.0, 2.0, true), tg::ValueError);
    CHECK(a.grad().to_vector<double>() == Vec{3.0, 4.0});
    CHECK(std::isinf(clip_grad_norm_({n}, 1.0)));
    CHECK_THROWS_AS(clip_grad_norm_({a}, 1.0, 0.0), tg::ValueError);
    CHECK_THROWS_AS(clip_grad_norm_({a}, -1.0), tg::ValueError);
  }
}

TEST_CASE("clip_grad_value_") {
  tg::Tensor a = with_grad({0.0, 0.0, 0.0}, {-5.0, 0.25, 4.0});
  const auto v0 = a.grad().version();
  clip_grad_value_({a}, 1.0);
  CHECK(a.grad().to_vector<double>() == Vec{-1.0, 0.25, 1.0});
  CHECK(a.grad().version() > v0);
  CHECK_THROWS_AS(clip_grad_value_({a}, -1.0), tg::ValueError);
}
