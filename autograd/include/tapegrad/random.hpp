// Seedable random numbers that are the same on every machine and compiler: the generator and the
// distributions are written out here, since std::normal_distribution and friends differ between
// standard libraries.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace tg {

/// A xoshiro256** generator seeded through splitmix64: fast, 256-bit state, identical streams everywhere.
class Generator {
 public:
  /// Everything that decides the rest of a generator's stream, as six 64-bit words: the four xoshiro
  /// state words, then the bits of the cached second Box–Muller normal (0 when none is cached), then 1 or
  /// 0 for whether one is cached. Saving it and restoring it with set_state() continues the stream
  /// exactly, draw for draw, including normal().
  using State = std::array<std::uint64_t, 6>;

  /// A generator seeded with `seed`.
  explicit Generator(std::uint64_t seed = 0x5eed) { this->seed(seed); }

  /// Restarts the stream from `seed`.
  void seed(std::uint64_t seed) {
    std::uint64_t z = seed;
    for (auto& s : s_) s = splitmix(z);
    has_spare_ = false;
  }

  /// The full state (see State); the same value on every machine for the same history of draws.
  State state() const;
  /// Continues from a state() taken earlier, here or on another machine. ValueError, leaving the
  /// generator unchanged, for a value state() cannot return: all four xoshiro words zero, a flag other
  /// than 0 or 1, spare bits without the flag, or a cached normal that is not finite.
  void set_state(const State& state);

  /// The next 64 random bits.
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal by the Box–Muller transform (pairs are cached, so each call costs half a pair).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }
  /// Normal with the given mean and standard deviation.
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }
  /// Uniform integer in [0, n) without modulo bias. n must be > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t r = next_u64();
    while (r >= limit) r = next_u64();
    return r % n;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& z) {
    z += 0x9e3779b97f4a7c15ull;
    std::uint64_t x = z;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  std::uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// The global generator used when no generator is passed (one per thread, so threads never race).
Generator& default_generator();
/// Seeds the calling thread's default generator: with the same seed a run repeats bit for bit.
void manual_seed(std::uint64_t seed);

}  // namespace tg
