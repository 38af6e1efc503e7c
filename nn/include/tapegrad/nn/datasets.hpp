// Seeded 2-D toy classification sets (moons, circles, spirals, XOR, blobs) for examples and tests.
// They draw from tg::Generator only, so a seed gives the same points on every machine and compiler.
// Every set is shuffled, so its first rows already mix the classes; bad arguments throw tg::ValueError.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tapegrad/error.hpp"

namespace tg::nn {

/// A 2-D labelled point set: point i is (x[2i], x[2i+1]) with class y[i].
struct ToyDataset {
  std::vector<double> x;        ///< n x 2, row-major.
  std::vector<std::int64_t> y;  ///< n labels in 0..classes-1.

  /// Number of points.
  std::size_t size() const { return y.size(); }
};

/// Two interleaved half circles (as scikit-learn's make_moons): class 0 is the upper arc of the unit
/// circle, class 1 the lower arc shifted by (1, -0.5); n/2 points go to class 0 (rounded down), the rest
/// to class 1; Gaussian noise of std `noise` is added to both coordinates.
ToyDataset make_moons(std::int64_t n, double noise, std::uint64_t seed);

/// Two concentric circles: class 0 of radius 1, class 1 of radius `factor` in (0, 1); points evenly
/// spaced in angle, n/2 (rounded down) on the outer circle, plus Gaussian noise of std `noise`.
ToyDataset make_circles(std::int64_t n, double noise, double factor, std::uint64_t seed);

/// `arms` interleaved spiral arms, one class per arm (points split as evenly as possible). Without
/// noise, point j of m on arm a lies at radius r = (j + 1) / m and angle 2*pi*a/arms + 3*pi*r.
ToyDataset make_spirals(std::int64_t n, std::int64_t arms, double noise, std::uint64_t seed);

/// The XOR pattern: points uniform in the four quadrants of [-1, 1]^2 (quadrants filled in turn, so the
/// classes balance), class 1 when the coordinates' signs differ; noise is added after labelling.
ToyDataset make_xor(std::int64_t n, double noise, std::uint64_t seed);

/// Isotropic Gaussian blobs of std `stddev` around `centers` centres drawn uniformly in [-10, 10]^2;
/// points split as evenly as possible, class k around centre k.
ToyDataset make_blobs(std::int64_t n, std::int64_t centers, double stddev, std::uint64_t seed);

/// Gaussian blobs around the given centres (class k around centers[k]).
ToyDataset make_blobs(std::int64_t n, const std::vector<std::array<double, 2>>& centers, double stddev,
                      std::uint64_t seed);

}  // namespace tg::nn
