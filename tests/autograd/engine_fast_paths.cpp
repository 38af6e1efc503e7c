// The recording and sweeping fast paths of the scalar tape (single capacity check, straight-line sweep for
// small statements, gradient buffer hand-over, inline Var::grad) against closed forms and central
// differences, across capacity growth, keep_values, coarse nodes and misuse.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/finite_diff.hpp"
#include "tapegrad/var.hpp"

namespace {

// A coarse node standing for out = k * in, to interleave a node slot with scalar statements.
class ScaleNode : public tg::Node {
 public:
  ScaleNode(std::uint32_t in, double k) : in_(in), k_(k) {}
  void backward(tg::BackwardContext& ctx) override {
    ctx.adj[in_] += k_ * ctx.adj[slot];
    ctx.adj[slot] = 0.0;
  }
  const char* name() const override { return "scale"; }

 private:
  std::uint32_t in_;
  double k_;
};

tg::Var scale_node(const tg::Var& x, double k) {
  tg::Tape& t = tg::Tape::active();
  auto* n = t.arena().make<ScaleNode>(x.slot(), k);
  const std::uint32_t slot = t.push_node(n);
  return tg::Var::from_slot(k * x.value(), slot, t.stamp());
}

// f(x) = Σ_i (x_i * x_{i+1} + x_i) / (1 + x_{i+1}²) over a long chain, as doubles and as Vars.
template <class T>
T chain(const std::vector<T>& x) {
  T s = x[0] * 0.0;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) s += (x[i] * x[i + 1] + x[i]) / (x[i + 1] * x[i + 1] + 1.0);
  return s;
}

std::vector<double> inputs(std::size_t n) {
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = std::sin(0.37 * static_cast<double>(i)) + 0.1;
  return x;
}

}  // namespace

TEST_CASE("scalar fast paths: gradients match central differences across capacity growth") {
  tg::ScopedTape scope;
  // Enough statements to cross many growth steps of every array, with few inputs so the check is cheap.
  const std::vector<double> x0 = inputs(3000);
  std::vector<tg::Var> x;
  for (double v : x0) x.emplace_back(v);
  const tg::Var f = chain(x);
  CHECK(scope.tape().size() > 4 * 4096);
  const std::vector<double> g = tg::grad(f, std::span<const tg::Var>(x));
  const std::vector<double> fd = tgtest::central_diff([](const std::vector<double>& v) { return chain(v); }, x0);
  for (std::size_t i = 0; i < x0.size(); i += 97) CHECK(g[i] == doctest::Approx(fd[i]).epsilon(1e-6));
}

TEST_CASE("scalar fast paths: statement arguments") {
  tg::ScopedTape scope;
  SUBCASE("x * x adds both partials into one adjoint") {
    tg::Var x(3.0);
    const tg::Var y = x * x;
    y.backward();
    CHECK(x.grad() == 6.0);
  }
  SUBCASE("an n-ary sum followed by fast-path statements") {
    tg::Var a(1.0);
    tg::Var b(2.0);
    tg::Var c(4.0);
    const std::vector<tg::Var> v{a, b, c};
    const tg::Var s = tg::sum(v);
    const tg::Var y = s * a + b / c;  // dy/da = s + a, dy/db = a + 1/c, dy/dc = a - b/c²
    y.backward();
    CHECK(a.grad() == doctest::Approx(7.0 + 1.0));
    CHECK(b.grad() == doctest::Approx(1.0 + 0.25));
    CHECK(c.grad() == doctest::Approx(1.0 - 2.0 / 16.0));
  }
  SUBCASE("coarse nodes between scalar runs") {
    tg::Var x(0.5);
    tg::Var y = x * 2.0;
    for (int k = 0; k < 3; ++k) y = scale_node(y, 3.0) + x;  // y_{k+1} = 3 y_k + x
    y = y * y;
    // y3 = 54x + 13x = 67x before squaring, so d(y3²)/dx = 2 · 67² x.
    y.backward();
    CHECK(x.grad() == doctest::Approx(2.0 * 67.0 * 67.0 * 0.5));
  }
}

TEST_CASE("scalar fast paths: keep_values records every value") {
  tg::ScopedTape scope(tg::TapeOptions{.keep_values = true});
  tg::Tape& t = scope.tape();
  std::vector<tg::Var> vs;
  tg::Var x(1.5);
  vs.push_back(x);
  for (int i = 0; i < 10000; ++i) {
    vs.push_back(vs.back() * 0.999 + x);
    vs.push_back(tg::sin(vs.back()));
  }
  for (std::size_t i = 0; i < vs.size(); i += 41) CHECK(t.value(vs[i].slot()) == vs[i].value());
  SUBCASE("switching keep_values off and on again") {
    t.set_keep_values(false);
    const tg::Var y = x * 2.0;
    t.set_keep_values(true);
    const tg::Var z = y + 1.0;
    CHECK(t.value(z.slot()) == 4.0);
    CHECK(std::isnan(t.value(y.slot())));  // recorded while values were not kept
  }
}

TEST_CASE("scalar fast paths: accumulated gradients") {
  tg::ScopedTape scope;
  tg::Var x(2.0);
  const tg::Var y = tg::exp(x) * x;  // dy/dx = e^x (1 + x)
  const double d = std::exp(2.0) * 3.0;
  SUBCASE("the first backward after a reset, then a second one accumulating") {
    y.backward({.retain_graph = true});
    CHECK(x.grad() == doctest::Approx(d));
    y.backward({.retain_graph = true});
    CHECK(x.grad() == doctest::Approx(2 * d));
    x.zero_grad();
    CHECK(x.grad() == 0.0);
    y.backward();
    CHECK(x.grad() == doctest::Approx(d));
  }
  SUBCASE("a fresh recording after reset starts from zero") {
    y.backward();
    scope.tape().reset();
    tg::Var x2(2.0);
    const tg::Var y2 = tg::exp(x2) * x2;
    y2.backward();
    CHECK(x2.grad() == doctest::Approx(d));
  }
  SUBCASE("Var::grad of an outer tape while an inner one is active") {
    y.backward();
    tg::ScopedTape inner;
    CHECK(x.grad() == doctest::Approx(d));
  }
}

TEST_CASE("scalar fast paths: misuse and special values are still caught") {
  tg::ScopedTape scope;
  SUBCASE("a stale Var throws in an op and in grad()") {
    tg::Var x(1.0);
    const tg::Var y = x * 2.0;
    y.backward();
    scope.tape().reset();
    tg::Var z(1.0);
    CHECK_THROWS_AS(tg::Var(x * z), tg::TapeError);
    CHECK_THROWS_AS((void)x.grad(), tg::TapeError);
  }
  SUBCASE("NaN reaches the input: 0 times an infinite partial") {
    tg::Var x(0.0);
    const tg::Var y = tg::sqrt(x) * 0.0;  // d sqrt at 0 is +inf, and 0 · inf is NaN, as in PyTorch
    y.backward();
    CHECK(std::isnan(x.grad()));
  }
  SUBCASE("the memory limit applies to the fast path's growth") {
    tg::set_tape_memory_limit(1 << 20);
    tg::Var x(1.0);
    tg::Var y = x;
    CHECK_THROWS_AS(
        [&] {
          for (int i = 0; i < 1000000; ++i) y = y * 1.0000001 + x;
        }(),
        tg::TapeError);
    tg::set_tape_memory_limit(0);
  }
}
