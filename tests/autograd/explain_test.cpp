// explain(): the worked example's chain-rule factors, sums over paths against autograd and numeric
// differences on random DAGs, top-k paths against brute-force enumeration, and a 10^6-node timing.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <utility>
#include <vector>
#include <tapegrad/tapegrad.hpp>

#include "support/finite_diff.hpp"
#include "worked_example_net.hpp"

namespace {

// Every path from slot `from` down to slot `to` by depth-first search: the slow, obvious truth.
void enumerate_paths(const tg::Tape& t, std::uint32_t from, std::uint32_t to, double product,
                     std::vector<double>& out, std::size_t cap) {
  if (out.size() >= cap) return;
  if (from == to) {
    out.push_back(product);
    return;
  }
  for (std::uint32_t k = t.arg_begin(from); k < t.arg_end(from); ++k) {
    if (t.arg(k) >= to) enumerate_paths(t, t.arg(k), to, product * t.partial(k), out, cap);
  }
}

// A random expression DAG over n inputs: each step applies a random op to earlier values (so values are
// shared by later ones), some values are labelled, and the output sums the last few.
struct RandomProgram {
  struct Step {
    int op;
    std::size_t a, b, c;
    bool labelled;
  };
  std::size_t inputs;
  std::vector<Step> steps;

  RandomProgram(std::uint64_t seed, std::size_t n_inputs, std::size_t n_steps) : inputs(n_inputs) {
    tg::Generator g(seed);
    for (std::size_t s = 0; s < n_steps; ++s) {
      const std::size_t have = n_inputs + s;
      auto pick = [&] { return static_cast<std::size_t>(g.below(have)); };
      steps.push_back({static_cast<int>(g.below(9)), pick(), pick(), pick(), g.bernoulli(0.3)});
    }
  }

  tg::Var run(std::span<const tg::Var> x) const {
    std::vector<tg::Var> v(x.begin(), x.end());
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const Step& st = steps[s];
      const tg::Var& a = v[st.a];
      const tg::Var& b = v[st.b];
      const tg::Var& c = v[st.c];
      tg::Var r;
      switch (st.op) {
        case 0: r = a + b; break;
        case 1: r = a - 0.5 * b; break;
        case 2: r = a * b; break;
        case 3: r = a / (1.0 + tg::square(b)); break;
        case 4: r = tg::sin(a) + tg::tanh(b); break;
        case 5: r = a * a; break;  // one op reading the same input twice: two edges
        case 6: r = tg::sigmoid(a - b) * c; break;
        case 7: {
          const tg::Var xs[3] = {a, b, c};
          r = tg::sum(xs);
          break;
        }
        default: r = tg::exp(0.3 * tg::tanh(a)) * b; break;
      }
      // Keep magnitudes tame so products and differences stay well conditioned.
      if (std::abs(r.value()) > 4.0) r = tg::tanh(r);
      if (st.labelled && r.requires_grad()) r.label(tgtest::indexed("v", s));
      v.push_back(r);
    }
    const std::size_t tail = std::min<std::size_t>(3, steps.size());
    return tg::sum(std::span<const tg::Var>(v.end() - static_cast<std::ptrdiff_t>(tail), v.end()));
  }
};


// The collapsed view computed the slow, obvious way: from y and from every labelled slot on a path from y
// to x, one DP over all the slots below it that stops at labelled ones; then the number of label sequences
// from y to x, their summed products and the largest log|product|, by DP over the labelled slots.
struct ReferenceCollapse {
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> w;  // (u, v) -> sum over sub-paths
  std::size_t labelled = 0;  // labelled slots on the paths, y and x included
  double num_paths = 0.0;
  double total = 0.0;
  double best_log = 0.0;
};

ReferenceCollapse reference_collapse(const tg::Tape& t, std::uint32_t y, std::uint32_t x) {
  const std::size_t n = y - x + 1;
  std::vector<char> down(n, 0);
  std::vector<char> on(n, 0);
  down[y - x] = 1;
  for (std::uint32_t s = y; s > x; --s) {
    if (!down[s - x]) continue;
    for (std::uint32_t k = t.arg_begin(s); k < t.arg_end(s); ++k) {
      if (t.arg(k) >= x) down[t.arg(k) - x] = 1;
    }
  }
  on[0] = down[0];
  for (std::uint32_t s = x + 1; s <= y; ++s) {
    for (std::uint32_t k = t.arg_begin(s); k < t.arg_end(s); ++k) {
      if (t.arg(k) >= x && on[t.arg(k) - x]) on[s - x] = down[s - x];
    }
  }
  auto labelled = [&](std::uint32_t s) { return on[s - x] && (s == y || s == x || !t.label(s).empty()); };
  ReferenceCollapse r;
  std::map<std::uint32_t, double> count;
  std::map<std::uint32_t, double> total;
  std::map<std::uint32_t, double> best;
  count[y] = 1.0;
  total[y] = 1.0;
  best[y] = 0.0;
  for (std::uint32_t u = y + 1; u-- > x;) {
    if (!labelled(u)) continue;
    ++r.labelled;
    if (u == x) break;
    std::vector<double> acc(n, 0.0);
    std::vector<char> reached(n, 0);
    acc[u - x] = 1.0;
    reached[u - x] = 1;
    for (std::uint32_t s = u + 1; s-- > x;) {
      if (!reached[s - x]) continue;
      if (s != u && labelled(s)) {
        const double w = acc[s - x];
        r.w[{u, s}] = w;
        count[s] += count[u];
        total[s] += total[u] * w;
        const double b = best[u] + std::log(std::abs(w));
        best[s] = best.count(s) ? std::max(best[s], b) : b;
        continue;
      }
      if (s != u && !on[s - x]) continue;
      for (std::uint32_t k = t.arg_begin(s); k < t.arg_end(s); ++k) {
        const std::uint32_t a = t.arg(k);
        if (a < x) continue;
        acc[a - x] += t.partial(k) * acc[s - x];
        reached[a - x] = 1;
      }
    }
  }
  r.num_paths = count[x];
  r.total = total[x];
  r.best_log = best.count(x) ? best[x] : 0.0;
  return r;
}

// Checks explain's collapsed view against the reference: counts, total, and each listed path's factors.
void check_collapsed(const tg::Tape& t, const tg::Explanation& ex, std::uint32_t y, std::uint32_t x) {
  const ReferenceCollapse ref = reference_collapse(t, y, x);
  CHECK_FALSE(ex.collapsed_skipped);
  CHECK(ex.collapsed.num_paths == ref.num_paths);
  CHECK(ex.collapsed.total == doctest::Approx(ref.total).epsilon(1e-12).scale(1.0));
  REQUIRE_FALSE(ex.collapsed.paths.empty());
  CHECK(std::isfinite(ref.best_log));
  CHECK(ex.collapsed.paths[0].log_abs_product == doctest::Approx(ref.best_log).epsilon(1e-12).scale(1.0));
  for (std::size_t j = 0; j < ex.collapsed.paths.size(); ++j) {
    const tg::ExplainPath& p = ex.collapsed.paths[j];
    if (j > 0) CHECK(p.log_abs_product <= ex.collapsed.paths[j - 1].log_abs_product);
    REQUIRE(p.factors.size() + 1 == p.slots.size());
    for (std::size_t i = 0; i < p.factors.size(); ++i) {
      const auto it = ref.w.find({p.slots[i], p.slots[i + 1]});
      REQUIRE(it != ref.w.end());
      CHECK(std::abs(p.factors[i] - it->second) <= 1e-12 * std::abs(it->second));
    }
  }
}
}  // namespace

TEST_CASE("explain: the worked example's chain-rule factors") {
  tg::ScopedTape scope;
  tgtest::WorkedExample net;

  SUBCASE("dE/dw5 collapses onto out_o1 and net_o1: the article's three factors") {
    const tg::Explanation ex = tg::explain(net.E, net.w[4]);
    CHECK(ex.consistent);
    CHECK(ex.autograd_checked);
    CHECK(ex.gradient == doctest::Approx(0.082167040564230784).epsilon(1e-12));
    REQUIRE(ex.collapsed.paths.size() == 1);
    const tg::ExplainPath& p = ex.collapsed.paths[0];
    REQUIRE(p.factors.size() == 3);
    CHECK(std::abs(p.factors[0] - 0.74136506955231574) < 1e-9);
    CHECK(std::abs(p.factors[1] - 0.18681560180895948) < 1e-9);
    CHECK(std::abs(p.factors[2] - 0.59326999210718723) < 1e-9);
    CHECK(std::abs(p.product - 0.082167040564230784) < 1e-9);
    CHECK(ex.name(p.slots[1]) == "out_o1");
    CHECK(ex.name(p.slots[2]) == "net_o1");
    const std::string text = ex.str();
    CHECK(text.find("∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5 = 0.74136507 × 0.186815602 × 0.593269992 = "
                    "0.082167041") != std::string::npos);
    MESSAGE(text);
  }

  SUBCASE("dE/dw5 edge by edge: one path of elementary edges with the same product") {
    const tg::Explanation ex = tg::explain(net.E, net.w[4]);
    CHECK(ex.elementary.num_paths == 1.0);
    REQUIRE(ex.elementary.paths.size() == 1);
    const tg::ExplainPath& p = ex.elementary.paths[0];
    // add, mul by 0.5, pow, sub, sigmoid, add (bias), add, mul: more edges than the labelled view.
    CHECK(p.factors.size() > 3);
    CHECK(p.slots.front() == net.E.slot());
    CHECK(p.slots.back() == net.w[4].slot());
    CHECK(std::abs(p.product - 0.082167040564230784) < 1e-9);
  }

  SUBCASE("dE/dw1: two paths, through o1 and through o2, and their sum") {
    const tg::Explanation ex = tg::explain(net.E, net.w[0]);
    CHECK(ex.consistent);
    REQUIRE(ex.collapsed.paths.size() == 2);
    CHECK(ex.collapsed.num_paths == 2.0);
    const double via_o1 = 0.055399424651422793 * 0.24130070857232525 * 0.05;
    const double via_o2 = -0.019049118258278114 * 0.24130070857232525 * 0.05;
    // Ranked by |product|: the path through o1 first.
    CHECK(std::abs(ex.collapsed.paths[0].product - via_o1) < 1e-9);
    CHECK(std::abs(ex.collapsed.paths[1].product - via_o2) < 1e-9);
    CHECK(ex.name(ex.collapsed.paths[0].slots[1]) == "out_o1");
    CHECK(ex.name(ex.collapsed.paths[1].slots[1]) == "out_o2");
    CHECK(std::abs(ex.collapsed.total - 0.00043856773447434685) < 1e-12);
    CHECK(std::abs(ex.gradient - 0.00043856773447434685) < 1e-12);
    const std::string text = ex.str();
    CHECK(text.find("∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂out_h1 × ∂out_h1/∂net_h1 × ∂net_h1/∂w1 = "
                    "0.74136507 × 0.186815602 × 0.4 × 0.241300709 × 0.05") != std::string::npos);
    CHECK(text.find("sum 0.000438568") != std::string::npos);
    MESSAGE(text);
  }

  SUBCASE("an input the output does not depend on has no paths") {
    tg::Var unused(3.0);
    const tg::Explanation ex = tg::explain(net.E, unused);
    CHECK(ex.gradient == 0.0);
    CHECK(ex.elementary.num_paths == 0.0);
    CHECK(ex.elementary.paths.empty());
    CHECK(ex.consistent);
  }

  SUBCASE("y with respect to itself is one empty path of product 1") {
    const tg::Explanation ex = tg::explain(net.E, net.E);
    CHECK(ex.gradient == 1.0);
    REQUIRE(ex.collapsed.paths.size() == 1);
    CHECK(ex.collapsed.paths[0].factors.empty());
    CHECK(ex.collapsed.paths[0].product == 1.0);
  }

  SUBCASE("after a backward that released the graph, the paths are still summed") {
    net.E.backward();
    const tg::Explanation ex = tg::explain(net.E, net.w[4]);
    CHECK_FALSE(ex.autograd_checked);
    CHECK(ex.consistent);
    CHECK(std::abs(ex.gradient - net.w[4].grad()) < 1e-15);
  }

  SUBCASE("past its work budget the collapsed view is skipped, the elementary one still checked") {
    const tg::Explanation ex = tg::explain(net.E, net.w[0], tg::ExplainOptions{.collapse_budget = 5});
    CHECK(ex.collapsed_skipped);
    CHECK(ex.collapsed.paths.empty());
    CHECK(ex.consistent);
    CHECK(ex.elementary.paths.size() == 2);
    CHECK(ex.str().find("skipped") != std::string::npos);
  }

  SUBCASE("a constant x is refused") {
    CHECK_THROWS_AS(tg::explain(net.E, tg::Var::constant(1.0)), tg::ValueError);
  }
}

TEST_CASE("explain: custom ops appear under their own name") {
  const tg::CustomOp cube = tg::custom_op(
      "cube", [](std::span<const double> v) { return v[0] * v[0] * v[0]; },
      [](std::span<const double> v, double) { return std::vector<double>{3.0 * v[0] * v[0]}; });
  tg::ScopedTape scope;
  tg::Var x(1.5);
  x.label("x");
  const tg::Var c = cube(x);
  const tg::Var y = c * x;  // x⁴: paths through the cube (3x² · x) and directly (x³)
  const tg::Explanation ex = tg::explain(y, x);
  CHECK(ex.consistent);
  CHECK(ex.elementary.num_paths == 2.0);
  CHECK(ex.gradient == doctest::Approx(4 * 1.5 * 1.5 * 1.5).epsilon(1e-14));
  REQUIRE(ex.elementary.paths.size() == 2);
  CHECK(ex.elementary.paths[0].product == doctest::Approx(3 * 1.5 * 1.5 * 1.5).epsilon(1e-14));
  CHECK(ex.name(ex.elementary.paths[0].slots[1]) == "cube#" + std::to_string(c.slot()));
  CHECK(ex.elementary_str().find("-> cube#") != std::string::npos);
}

TEST_CASE("explain: sums over paths equal the gradient on random DAGs") {
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    CAPTURE(seed);
    const RandomProgram prog(seed, 3, 6 + seed % 14);
    const std::vector<double> x0 = {0.7, -0.4, 1.3};
    auto plain = [&](const std::vector<double>& x) {
      tg::NoGradGuard off;
      std::vector<tg::Var> v;
      for (double xi : x) v.push_back(tg::Var::constant(xi));
      return prog.run(v).value();
    };
    const std::vector<double> numeric = tgtest::central_diff(plain, x0);
    tg::ScopedTape scope;
    std::vector<tg::Var> xs;
    for (double xi : x0) xs.emplace_back(xi);
    const tg::Var y = prog.run(xs);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      CAPTURE(i);
      const tg::Explanation ex = tg::explain(y, xs[i], tg::ExplainOptions{.top_k = 6});
      CHECK(ex.consistent);
      CHECK(ex.elementary.total == doctest::Approx(numeric[i]).epsilon(1e-6).scale(1.0));
      CHECK(ex.collapsed.total == doctest::Approx(ex.gradient).epsilon(1e-12).scale(1.0));
      // Brute force: every path, enumerated.
      std::vector<double> all;
      enumerate_paths(scope.tape(), y.slot(), xs[i].slot(), 1.0, all, 200000);
      if (all.size() >= 200000) continue;
      CHECK(ex.elementary.num_paths == static_cast<double>(all.size()));
      std::sort(all.begin(), all.end(), [](double a, double b) { return std::abs(a) > std::abs(b); });
      const std::size_t k = std::min<std::size_t>(6, all.size());
      REQUIRE(ex.elementary.paths.size() == k);
      for (std::size_t j = 0; j < k; ++j) {
        const tg::ExplainPath& p = ex.elementary.paths[j];
        CHECK(std::abs(std::abs(p.product) - std::abs(all[j])) <= 1e-12 * (1.0 + std::abs(all[j])));
        CHECK(p.slots.front() == y.slot());
        CHECK(p.slots.back() == xs[i].slot());
        CHECK(p.factors.size() + 1 == p.slots.size());
        CHECK(std::exp(p.log_abs_product) == doctest::Approx(std::abs(p.product)).epsilon(1e-9));
      }
      // Collapsed paths are products of their factors, and the factors' paths visit labelled nodes only.
      for (const tg::ExplainPath& p : ex.collapsed.paths) {
        double prod = 1.0;
        for (double f : p.factors) prod *= f;
        CHECK(prod == doctest::Approx(p.product).epsilon(1e-12));
        for (std::size_t j = 1; j + 1 < p.slots.size(); ++j) CHECK_FALSE(scope.tape().label(p.slots[j]).empty());
      }
    }
  }
}

TEST_CASE("explain: the collapsed view matches a reference collapse on graphs with many labels") {
  // More labelled nodes than one batch of the collapse holds (64), so sources are swept in several.
  SUBCASE("a wide random DAG") {
    tg::ScopedTape scope;
    tg::Generator gen(11);
    tg::Var x(0.4);
    x.label("x");
    std::vector<tg::Var> v{x, tg::Var(0.9)};
    for (std::size_t i = 0; i < 600; ++i) {
      const std::size_t lo = v.size() > 8 ? v.size() - 8 : 0;
      const tg::Var& a = v[lo + gen.below(v.size() - lo)];
      const tg::Var& b = v[lo + gen.below(v.size() - lo)];
      // Bounded values and derivatives of order 1, so no product underflows to 0.
      tg::Var r = i % 3 == 0   ? tg::Var(a * (1.0 + 0.3 * tg::tanh(b)))
                  : i % 3 == 1 ? tg::Var(tg::tanh(a + 0.5 * tg::sin(b)))
                               : tg::Var(0.6 * a + 0.4 * tg::tanh(b));
      if (gen.bernoulli(0.5)) r.label(tgtest::indexed("n", i));
      v.push_back(r);
    }
    const tg::Var y = v.back() + v[v.size() - 2];
    const tg::Explanation ex = tg::explain(y, x, tg::ExplainOptions{.top_k = 8});
    CHECK(ex.consistent);
    REQUIRE(reference_collapse(scope.tape(), y.slot(), x.slot()).labelled > 2 * 64);
    check_collapsed(scope.tape(), ex, y.slot(), x.slot());
  }
  SUBCASE("a node feeding 200000 others under many labelled nodes") {
    // Every labelled node reaches the wide sum directly, so a batch's frontier holds all 200000 terms.
    tg::ScopedTape scope;
    tg::Var x(0.7);
    x.label("x");
    std::vector<tg::Var> terms;
    for (std::size_t i = 0; i < 200000; ++i) terms.push_back(x * (1.0 + 1e-6 * static_cast<double>(i)));
    const tg::Var wide = tg::sum(terms) * 1e-5;
    tg::Var h = tg::sin(wide);
    for (std::size_t i = 0; i < 70; ++i) {
      h = tg::tanh(h) + 0.01 * wide;
      h.label(tgtest::indexed("h", i));
    }
    const tg::Explanation ex = tg::explain(h, x, tg::ExplainOptions{.top_k = 5});
    CHECK(ex.consistent);
    REQUIRE(reference_collapse(scope.tape(), h.slot(), x.slot()).labelled == 71);
    check_collapsed(scope.tape(), ex, h.slot(), x.slot());
  }
}

TEST_CASE("explain: a 10^6-node graph explains in linear time") {
#if defined(__SANITIZE_ADDRESS__)
  const std::size_t n = 100000;
#else
  const std::size_t n = 1000000;
#endif
  SUBCASE("a chain") {
    tg::ScopedTape scope;
    tg::Var x(0.5);
    x.label("x");
    tg::Var v = x;
    for (std::size_t i = 0; i < n; ++i) v = (i % 2 == 0) ? v * 1.0000001 : tg::sin(v) + 0.3;
    v.label("y");
    const auto t0 = std::chrono::steady_clock::now();
    const tg::Explanation ex = tg::explain(v, x);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(ex.consistent);
    CHECK(ex.elementary.num_paths == 1.0);
    REQUIRE(ex.elementary.paths.size() == 1);
    CHECK(ex.elementary.paths[0].factors.size() == n + n / 2);
    MESSAGE("explain on a chain of " << scope.tape().size() << " recorded ops: " << secs << " s");
  }
  SUBCASE("a ladder with 2^(n/2) paths") {
    tg::ScopedTape scope;
    tg::Var x(0.5);
    x.label("x");
    tg::Var a = x;
    tg::Var b = x * 1.0;
    const double wa[2] = {0.6, 0.4};  // row-stochastic: the gradient stays finite
    const double wb[2] = {0.3, 0.7};
    for (std::size_t i = 0; i < n / 2; ++i) {
      const tg::Var ab[2] = {a, b};
      const tg::Var na = tg::dot(ab, wa);
      b = tg::dot(ab, wb);
      a = na;
      if (i % 100000 == 0) a.label(tgtest::indexed("a", i));
    }
    const tg::Var y = a + b;
    const auto t0 = std::chrono::steady_clock::now();
    const tg::Explanation ex = tg::explain(y, x, tg::ExplainOptions{.top_k = 5});
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(ex.consistent);
    CHECK(ex.elementary.paths.size() == 5);
    for (std::size_t j = 1; j < ex.elementary.paths.size(); ++j) {
      // The products underflow (2^(n/2) paths share a gradient of order 1); their logarithms do not.
      CHECK(ex.elementary.paths[j].log_abs_product <= ex.elementary.paths[j - 1].log_abs_product);
    }
    MESSAGE("explain (top 5 paths of " << ex.elementary.num_paths << ") on a ladder of " << scope.tape().size()
                                       << " recorded ops: " << secs << " s");
  }
  SUBCASE("a wide random DAG with a label every 300 nodes") {
    // Each value mixes two of the last 50, so the regions below the labelled nodes overlap almost entirely:
    // the collapsed view's work is (labelled nodes) x (graph), about 1.4e9 edge visits at 10^6 nodes.
    tg::ScopedTape scope;
    tg::Generator gen(5);
    tg::Var x(0.3);
    x.label("x");
    std::vector<tg::Var> v{x};
    for (std::size_t i = 0; i < n / 3; ++i) {
      const std::size_t lo = v.size() > 50 ? v.size() - 50 : 0;
      const tg::Var& a = v[lo + gen.below(v.size() - lo)];
      const tg::Var& b = v[lo + gen.below(v.size() - lo)];
      tg::Var r = i % 10 == 0 ? tg::Var(a + 0.01 * tg::sin(b)) : tg::Var(0.6 * a + 0.4 * b);  // three recorded ops either way
      if (i % 100 == 0) r.label(tgtest::indexed("n", i));
      v.push_back(r);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const tg::Explanation ex = tg::explain(v.back(), x);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(ex.consistent);
    CHECK_FALSE(ex.collapsed_skipped);  // within the default work budget
    CHECK(ex.collapsed.total == doctest::Approx(ex.gradient).epsilon(1e-9).scale(1.0));
    MESSAGE("explain on a wide random DAG of " << scope.tape().size() << " recorded ops, " << (n / 3 + 99) / 100
                                               << " labels: " << secs << " s");
  }
}
