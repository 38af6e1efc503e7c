// Toy 2-D datasets. Each builder places points deterministically (or from the seeded generator), then
// adds noise and shuffles with the same generator, so the whole set is a function of the seed.
#include "tapegrad/nn/datasets.hpp"

#include <cmath>
#include <numbers>
#include <string>
#include <utility>

#include "tapegrad/error.hpp"
#include "tapegrad/random.hpp"

namespace tg::nn {

namespace {

constexpr double kPi = std::numbers::pi;

void check_common(const char* op, std::int64_t n, double noise, const char* noise_name = "noise") {
  if (n < 0) throw ValueError(std::string(op) + ": n must be >= 0, got " + std::to_string(n));
  if (!(noise >= 0.0) || !std::isfinite(noise)) {
    throw ValueError(std::string(op) + ": " + noise_name + " must be a finite value >= 0, got " +
                     std::to_string(noise));
  }
}

void push(ToyDataset& d, double a, double b, std::int64_t label) {
  d.x.push_back(a);
  d.x.push_back(b);
  d.y.push_back(label);
}

// Noise then a Fisher–Yates shuffle, both from `gen`, so that the order of draws is fixed.
ToyDataset finish(ToyDataset d, double noise, Generator& gen) {
  if (noise > 0.0) {
    for (double& v : d.x) v += noise * gen.normal();
  }
  for (std::size_t i = d.size(); i > 1; --i) {
    const std::size_t j = gen.below(i);
    std::swap(d.y[i - 1], d.y[j]);
    std::swap(d.x[2 * (i - 1)], d.x[2 * j]);
    std::swap(d.x[2 * (i - 1) + 1], d.x[2 * j + 1]);
  }
  return d;
}

// numpy's linspace(0, end, count, endpoint): the k-th of `count` evenly spaced values.
double spaced(std::int64_t k, std::int64_t count, double end, bool endpoint) {
  const std::int64_t steps = endpoint ? count - 1 : count;
  return steps <= 0 ? 0.0 : end * static_cast<double>(k) / static_cast<double>(steps);
}

}  // namespace

ToyDataset make_moons(std::int64_t n, double noise, std::uint64_t seed) {
  check_common("make_moons", n, noise);
  Generator gen(seed);
  const std::int64_t outer = n / 2;
  const std::int64_t inner = n - outer;
  ToyDataset d;
  for (std::int64_t k = 0; k < outer; ++k) {
    const double t = spaced(k, outer, kPi, true);
    push(d, std::cos(t), std::sin(t), 0);
  }
  for (std::int64_t k = 0; k < inner; ++k) {
    const double t = spaced(k, inner, kPi, true);
    push(d, 1.0 - std::cos(t), 0.5 - std::sin(t), 1);
  }
  return finish(std::move(d), noise, gen);
}

ToyDataset make_circles(std::int64_t n, double noise, double factor, std::uint64_t seed) {
  check_common("make_circles", n, noise);
  if (!(factor > 0.0 && factor < 1.0)) {
    throw ValueError("make_circles: factor must be in (0, 1), got " + std::to_string(factor));
  }
  Generator gen(seed);
  const std::int64_t outer = n / 2;
  const std::int64_t inner = n - outer;
  ToyDataset d;
  for (std::int64_t k = 0; k < outer; ++k) {
    const double t = spaced(k, outer, 2.0 * kPi, false);
    push(d, std::cos(t), std::sin(t), 0);
  }
  for (std::int64_t k = 0; k < inner; ++k) {
    const double t = spaced(k, inner, 2.0 * kPi, false);
    push(d, factor * std::cos(t), factor * std::sin(t), 1);
  }
  return finish(std::move(d), noise, gen);
}

ToyDataset make_spirals(std::int64_t n, std::int64_t arms, double noise, std::uint64_t seed) {
  check_common("make_spirals", n, noise);
  if (arms < 1) throw ValueError("make_spirals: arms must be >= 1, got " + std::to_string(arms));
  Generator gen(seed);
  ToyDataset d;
  for (std::int64_t a = 0; a < arms; ++a) {
    const std::int64_t m = n / arms + (a < n % arms ? 1 : 0);
    for (std::int64_t j = 0; j < m; ++j) {
      const double r = static_cast<double>(j + 1) / static_cast<double>(m);
      const double angle = 2.0 * kPi * static_cast<double>(a) / static_cast<double>(arms) + 3.0 * kPi * r;
      push(d, r * std::cos(angle), r * std::sin(angle), a);
    }
  }
  return finish(std::move(d), noise, gen);
}

ToyDataset make_xor(std::int64_t n, double noise, std::uint64_t seed) {
  check_common("make_xor", n, noise);
  Generator gen(seed);
  ToyDataset d;
  for (std::int64_t i = 0; i < n; ++i) {
    const double sx = (i % 4 == 0 || i % 4 == 3) ? 1.0 : -1.0;
    const double sy = (i % 4 < 2) ? 1.0 : -1.0;
    // 1 - uniform() lies in (0, 1], so no point sits on an axis and the label is never ambiguous.
    const double a = sx * (1.0 - gen.uniform());
    const double b = sy * (1.0 - gen.uniform());
    push(d, a, b, sx * sy < 0.0 ? 1 : 0);
  }
  return finish(std::move(d), noise, gen);
}

ToyDataset make_blobs(std::int64_t n, const std::vector<std::array<double, 2>>& centers, double stddev,
                      std::uint64_t seed) {
  check_common("make_blobs", n, stddev, "stddev");
  if (centers.empty()) throw ValueError("make_blobs: need at least one centre");
  Generator gen(seed);
  const auto k = static_cast<std::int64_t>(centers.size());
  ToyDataset d;
  for (std::int64_t c = 0; c < k; ++c) {
    const std::int64_t m = n / k + (c < n % k ? 1 : 0);
    for (std::int64_t j = 0; j < m; ++j) push(d, centers[c][0], centers[c][1], c);
  }
  return finish(std::move(d), stddev, gen);
}

ToyDataset make_blobs(std::int64_t n, std::int64_t centers, double stddev, std::uint64_t seed) {
  if (centers < 1) throw ValueError("make_blobs: centers must be >= 1, got " + std::to_string(centers));
  // The centres come from a generator of their own so that they do not depend on n.
  Generator gen(seed ^ 0xb10b5ull);
  std::vector<std::array<double, 2>> where(static_cast<std::size_t>(centers));
  for (auto& c : where) {
    c[0] = gen.uniform(-10.0, 10.0);
    c[1] = gen.uniform(-10.0, 10.0);
  }
  return make_blobs(n, where, stddev, seed);
}

}  // namespace tg::nn
