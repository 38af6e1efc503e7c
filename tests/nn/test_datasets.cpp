// Toy datasets: determinism per seed, class balance, and the geometry each generator promises.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <numbers>

#include "tapegrad/nn/datasets.hpp"

using namespace tg::nn;

namespace {

double px(const ToyDataset& d, std::size_t i) { return d.x[2 * i]; }
double py(const ToyDataset& d, std::size_t i) { return d.x[2 * i + 1]; }
double radius(const ToyDataset& d, std::size_t i) { return std::hypot(px(d, i), py(d, i)); }

std::map<std::int64_t, int> histogram(const ToyDataset& d) {
  std::map<std::int64_t, int> h;
  for (const auto y : d.y) ++h[y];
  return h;
}

// True when the set is not simply in class order (the builders shuffle).
bool mixed(const ToyDataset& d) {
  for (std::size_t i = 1; i < d.size(); ++i) {
    if (d.y[i] < d.y[i - 1]) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("toy datasets are a function of the seed") {
  const std::vector<std::function<ToyDataset(std::uint64_t)>> makers{
      [](std::uint64_t s) { return make_moons(101, 0.1, s); },
      [](std::uint64_t s) { return make_circles(101, 0.05, 0.5, s); },
      [](std::uint64_t s) { return make_spirals(101, 3, 0.05, s); },
      [](std::uint64_t s) { return make_xor(101, 0.1, s); },
      [](std::uint64_t s) { return make_blobs(101, 4, 1.0, s); },
  };
  for (const auto& make : makers) {
    const ToyDataset a = make(7);
    const ToyDataset b = make(7);
    const ToyDataset c = make(8);
    CHECK(a.x == b.x);
    CHECK(a.y == b.y);
    CHECK(a.x != c.x);
    CHECK(a.size() == 101);
    CHECK(a.x.size() == 202);
    CHECK(mixed(a));
  }
}

TEST_CASE("make_moons") {
  SUBCASE("class balance: n/2 rounded down in the outer moon") {
    const auto h = histogram(make_moons(101, 0.0, 1));
    CHECK(h.at(0) == 50);
    CHECK(h.at(1) == 51);
  }
  SUBCASE("without noise the moons are unit half circles centred at (0, 0) and (1, 0.5)") {
    const ToyDataset d = make_moons(200, 0.0, 3);
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d.y[i] == 0) {
        CHECK(radius(d, i) == doctest::Approx(1.0));
        CHECK(py(d, i) >= -1e-12);
      } else {
        CHECK(std::hypot(px(d, i) - 1.0, py(d, i) - 0.5) == doctest::Approx(1.0));
        CHECK(py(d, i) <= 0.5 + 1e-12);
      }
    }
  }
  SUBCASE("noise has the requested standard deviation") {
    const ToyDataset noisy = make_moons(20000, 0.2, 5);
    // The spread of distances to each moon's circle estimates the noise std.
    double sum_sq = 0.0;
    for (std::size_t i = 0; i < noisy.size(); ++i) {
      const double cx = noisy.y[i] == 0 ? 0.0 : 1.0;
      const double cy = noisy.y[i] == 0 ? 0.0 : 0.5;
      const double dr = std::hypot(px(noisy, i) - cx, py(noisy, i) - cy) - 1.0;
      sum_sq += dr * dr;
    }
    // Radial deviation of 2-D isotropic noise is close to its std when noise << radius.
    CHECK(std::sqrt(sum_sq / static_cast<double>(noisy.size())) == doctest::Approx(0.2).epsilon(0.08));
  }
}

TEST_CASE("make_circles") {
  SUBCASE("radii are 1 and factor, evenly spaced in angle") {
    const ToyDataset d = make_circles(100, 0.0, 0.3, 2);
    const auto h = histogram(d);
    CHECK(h.at(0) == 50);
    CHECK(h.at(1) == 50);
    double sum_x = 0.0;
    for (std::size_t i = 0; i < d.size(); ++i) {
      CHECK(radius(d, i) == doctest::Approx(d.y[i] == 0 ? 1.0 : 0.3));
      sum_x += px(d, i);
    }
    // Evenly spaced points on a circle sum to zero.
    CHECK(sum_x == doctest::Approx(0.0).epsilon(1e-9).scale(1.0));
  }
  SUBCASE("bad factor") {
    CHECK_THROWS_AS(make_circles(10, 0.0, 1.0, 0), tg::ValueError);
    CHECK_THROWS_AS(make_circles(10, 0.0, 0.0, 0), tg::ValueError);
  }
}

TEST_CASE("make_spirals") {
  const ToyDataset d = make_spirals(300, 3, 0.0, 4);
  const auto h = histogram(d);
  CHECK(h.size() == 3);
  for (const auto& [label, count] : h) CHECK(count == 100);
  SUBCASE("each point lies on its arm: angle = 2 pi a / arms + 3 pi r") {
    for (std::size_t i = 0; i < d.size(); ++i) {
      const double r = radius(d, i);
      CHECK(r > 0.0);
      CHECK(r <= 1.0 + 1e-12);
      const double angle = 2.0 * std::numbers::pi * static_cast<double>(d.y[i]) / 3.0 + 3.0 * std::numbers::pi * r;
      CHECK(px(d, i) == doctest::Approx(r * std::cos(angle)).scale(1.0));
      CHECK(py(d, i) == doctest::Approx(r * std::sin(angle)).scale(1.0));
    }
  }
  SUBCASE("uneven split gives the first arms one more point") {
    const auto h2 = histogram(make_spirals(7, 2, 0.0, 0));
    CHECK(h2.at(0) == 4);
    CHECK(h2.at(1) == 3);
  }
}

TEST_CASE("make_xor") {
  const ToyDataset d = make_xor(400, 0.0, 9);
  const auto h = histogram(d);
  CHECK(h.at(0) == 200);
  CHECK(h.at(1) == 200);
  for (std::size_t i = 0; i < d.size(); ++i) {
    CHECK(std::abs(px(d, i)) <= 1.0);
    CHECK(std::abs(py(d, i)) <= 1.0);
    CHECK(d.y[i] == ((px(d, i) > 0.0) != (py(d, i) > 0.0) ? 1 : 0));
  }
}

TEST_CASE("make_blobs") {
  SUBCASE("sample mean and spread match the centres and std") {
    const std::vector<std::array<double, 2>> centers{{{-5.0, 2.0}}, {{3.0, 3.0}}};
    const ToyDataset d = make_blobs(20000, centers, 0.5, 11);
    double sum[2][2] = {};
    double sq[2] = {};
    int count[2] = {};
    for (std::size_t i = 0; i < d.size(); ++i) {
      const auto c = static_cast<std::size_t>(d.y[i]);
      sum[c][0] += px(d, i);
      sum[c][1] += py(d, i);
      sq[c] += std::pow(px(d, i) - centers[c][0], 2) + std::pow(py(d, i) - centers[c][1], 2);
      ++count[c];
    }
    for (std::size_t c = 0; c < 2; ++c) {
      CHECK(count[c] == 10000);
      // Standard error of the mean is 0.5 / sqrt(10000) = 0.005; allow 5 of them.
      CHECK(std::abs(sum[c][0] / count[c] - centers[c][0]) < 0.025);
      CHECK(std::abs(sum[c][1] / count[c] - centers[c][1]) < 0.025);
      CHECK(std::sqrt(sq[c] / (2.0 * count[c])) == doctest::Approx(0.5).epsilon(0.03));
    }
  }
  SUBCASE("random centres lie in [-10, 10]^2 and do not depend on n") {
    const ToyDataset a = make_blobs(3, 3, 0.0, 5);
    const ToyDataset b = make_blobs(30, 3, 0.0, 5);
    for (std::size_t i = 0; i < a.x.size(); ++i) CHECK(std::abs(a.x[i]) <= 10.0);
    for (std::size_t i = 0; i < a.size(); ++i) {
      for (std::size_t j = 0; j < b.size(); ++j) {
        if (b.y[j] == a.y[i]) CHECK(px(b, j) == px(a, i));
      }
    }
  }
}

TEST_CASE("toy datasets validate their arguments") {
  CHECK_THROWS_AS(make_moons(-1, 0.0, 0), tg::ValueError);
  CHECK_THROWS_AS(make_moons(10, -0.1, 0), tg::ValueError);
  CHECK_THROWS_AS(make_moons(10, std::nan(""), 0), tg::ValueError);
  CHECK_THROWS_AS(make_spirals(10, 0, 0.0, 0), tg::ValueError);
  CHECK_THROWS_AS(make_blobs(10, 0, 1.0, 0), tg::ValueError);
  CHECK_THROWS_AS(make_blobs(10, 2, -1.0, 0), tg::ValueError);
  CHECK(make_xor(0, 0.0, 0).size() == 0);
}
