// BatchSampler: batch counts and sizes, coverage of every index, per-epoch determinism, and gather_rows.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <numeric>
#include <ranges>

#include "tapegrad/nn/loader.hpp"

using namespace tg::nn;

namespace {

std::vector<std::vector<std::int64_t>> collect(const BatchSampler& s) {
  std::vector<std::vector<std::int64_t>> out;
  for (std::span<const std::int64_t> b : s) out.emplace_back(b.begin(), b.end());
  return out;
}

std::vector<std::int64_t> flatten(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), std::int64_t{0});
  return v;
}

}  // namespace

static_assert(std::forward_iterator<BatchSampler::iterator>);
static_assert(std::ranges::forward_range<const BatchSampler>);

TEST_CASE("BatchSampler batch sizes") {
  SUBCASE("last partial batch is kept: 10 samples in batches of 4 -> 4, 4, 2") {
    const BatchSampler s(10, 4);
    CHECK(s.size() == 3);
    const auto b = collect(s);
    REQUIRE(b.size() == 3);
    CHECK(b[0] == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK(b[1] == std::vector<std::int64_t>{4, 5, 6, 7});
    CHECK(b[2] == std::vector<std::int64_t>{8, 9});
  }
  SUBCASE("drop_last drops the partial batch") {
    const BatchSampler s(10, 4, false, true);
    CHECK(s.size() == 2);
    const auto b = collect(s);
    CHECK(b.size() == 2);
    CHECK(flatten(b) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  }
  SUBCASE("drop_last with an exact multiple keeps everything") {
    CHECK(BatchSampler(12, 4, true, true).size() == 3);
    CHECK(BatchSampler(12, 4, true, false).size() == 3);
  }
  SUBCASE("fewer samples than one batch") {
    CHECK(BatchSampler(3, 8).size() == 1);
    CHECK(BatchSampler(3, 8, false, true).size() == 0);
    CHECK(collect(BatchSampler(3, 8, false, true)).empty());
  }
  SUBCASE("no samples") { CHECK(BatchSampler(0, 8).size() == 0); }
}

TEST_CASE("BatchSampler shuffling") {
  BatchSampler s(103, 10, true, false, 42);
  SUBCASE("every index exactly once per epoch") {
    for (std::int64_t e = 0; e < 5; ++e) {
      s.set_epoch(e);
      auto all = flatten(collect(s));
      CHECK(all.size() == 103);
      std::sort(all.begin(), all.end());
      CHECK(all == iota(103));
    }
  }
  SUBCASE("epochs differ from each other and from the identity") {
    s.set_epoch(0);
    const auto e0 = flatten(collect(s));
    s.set_epoch(1);
    const auto e1 = flatten(collect(s));
    CHECK(e0 != e1);
    CHECK(e0 != iota(103));
  }
  SUBCASE("an epoch's order depends only on seed and epoch, not on history") {
    s.set_epoch(3);
    const auto direct = collect(s);
    BatchSampler other(103, 10, true, false, 42);
    for (std::int64_t e = 0; e <= 3; ++e) other.set_epoch(e);
    CHECK(collect(other) == direct);
    CHECK(flatten(direct) == BatchSampler::permutation(103, 42, 3));
  }
  SUBCASE("different seeds give different orders") {
    CHECK(BatchSampler::permutation(103, 42, 0) != BatchSampler::permutation(103, 43, 0));
  }
  SUBCASE("shuffle with drop_last drops a random tail, not always the same indices") {
    BatchSampler d(10, 4, true, true, 7);
    bool nine_seen = false;
    for (std::int64_t e = 0; e < 20; ++e) {
      d.set_epoch(e);
      const auto all = flatten(collect(d));
      CHECK(all.size() == 8);
      nine_seen = nine_seen || std::find(all.begin(), all.end(), 9) != all.end();
    }
    CHECK(nine_seen);
  }
  SUBCASE("each index lands in each position about equally often") {
    // Over 2000 epochs of n = 4, each of the 4 values occupies position 0 about 500 times.
    std::vector<int> first(4, 0);
    for (std::int64_t e = 0; e < 2000; ++e) ++first[static_cast<std::size_t>(BatchSampler::permutation(4, 1, e)[0])];
    for (const int c : first) CHECK(std::abs(c - 500) < 90);  // 4 standard deviations
  }
}

TEST_CASE("BatchSampler errors") {
  CHECK_THROWS_AS(BatchSampler(-1, 4), tg::ValueError);
  CHECK_THROWS_AS(BatchSampler(10, 0), tg::ValueError);
  BatchSampler s(10, 4);
  CHECK_THROWS_AS(s.set_epoch(-1), tg::ValueError);
  CHECK_THROWS_AS(s.batch(3), tg::IndexError);
  CHECK_THROWS_AS(s.batch(-1), tg::IndexError);
}

TEST_CASE("gather_rows") {
  const std::vector<double> m{0, 1, 10, 11, 20, 21};
  const std::vector<std::int64_t> idx{2, 0};
  CHECK(gather_rows<double>(m, 2, idx) == std::vector<double>{20, 21, 0, 1});
  const std::vector<std::int64_t> bad{3};
  CHECK_THROWS_AS(gather_rows<double>(m, 2, bad), tg::IndexError);
}
