// The tools on coarse nodes (how tensor ops appear on the tape): a node that describes itself through the
// Node introspection methods is explained, gradchecked, checked for anomalies and drawn; an opaque one is
// reported as such instead of giving wrong answers.
#include <doctest/doctest.h>

#include <cmath>
#include <tapegrad/tapegrad.hpp>

namespace {

// y = c·x as a coarse node; its backward uses `claimed` (which a test can set wrong) for dy/dx.
class ScaleNode final : public tg::Node {
 public:
  ScaleNode(std::uint32_t in, double x, double c, double claimed, bool introspect)
      : in_(in), x_(x), c_(c), claimed_(claimed), introspect_(introspect) {}
  void backward(tg::BackwardContext& ctx) override { ctx.adj[in_] += claimed_ * ctx.adj[slot]; }
  const char* name() const override { return "scale"; }
  void input_slots(std::vector<std::uint32_t>& out) const override {
    if (introspect_) out.push_back(in_);
  }
  bool local_partials(std::vector<double>& out) const override {
    if (!introspect_) return false;
    out.push_back(claimed_);
    return true;
  }
  double scalar_value() const override { return c_ * x_; }
  bool local_op(tg::LocalOp& op) const override {
    if (!introspect_) return false;
    const double c = c_;
    const double claimed = claimed_;
    op.name = "scale";
    op.input_shapes = {{}};
    op.inputs = {x_};
    op.forward = [c](std::span<const double> x) { return std::vector<double>{c * x[0]}; };
    op.backward = [claimed](std::span<const double>, std::span<const double> g) {
      return std::vector<double>{claimed * g[0]};
    };
    return true;
  }

 private:
  std::uint32_t in_;
  double x_;
  double c_;
  double claimed_;
  bool introspect_;
};

tg::Var scale(const tg::Var& x, double c, double claimed, bool introspect = true) {
  if (!x.requires_grad() || !tg::grad_enabled()) return tg::Var::constant(c * x.value());
  tg::Tape& t = tg::Tape::active();
  ScaleNode* n = t.arena().make<ScaleNode>(x.slot(), x.value(), c, claimed, introspect);
  const std::uint32_t slot = t.push_node(n);
  return tg::Var::from_slot(c * x.value(), slot, t.stamp());
}

}  // namespace

TEST_CASE("tools on coarse nodes") {
  SUBCASE("explain goes through a node that lists its inputs and partials") {
    tg::ScopedTape scope;
    tg::Var x(0.4);
    tg::Var s = scale(x, 3.0, 3.0);
    s.label("s");
    const tg::Var y = tg::sin(s) + x;
    const tg::Explanation ex = tg::explain(y, x);
    CHECK(ex.consistent);
    CHECK(ex.elementary.num_paths == 2.0);
    CHECK(ex.gradient == doctest::Approx(3.0 * std::cos(1.2) + 1.0).epsilon(1e-14));
    CHECK(ex.str().find("s[scale]") != std::string::npos);
  }
  SUBCASE("an opaque node is reported, not silently skipped") {
    tg::ScopedTape scope;
    tg::Var x(0.4);
    const tg::Var y = tg::sin(scale(x, 3.0, 3.0, false)) + x;
    const tg::Explanation ex = tg::explain(y, x);
    CHECK_FALSE(ex.consistent);
    REQUIRE(ex.opaque_ops.size() == 1);
    CHECK(ex.opaque_ops[0].find("scale#") == 0);
    CHECK(ex.str().find("paths through these ops are missing") != std::string::npos);
  }
  SUBCASE("gradcheck pinpoints a node with a wrong backward") {
    const auto f = [](std::span<const tg::Var> x) { return tg::exp(scale(x[0], 3.0, 2.0)); };
    const tg::GradcheckResult r = tg::gradcheck(f, {0.2});
    CHECK_FALSE(r.ok);
    REQUIRE(r.fault);
    CHECK(r.fault->op == "scale");
    CHECK(r.fault->analytic == doctest::Approx(2.0));
    CHECK(r.fault->numeric == doctest::Approx(3.0).epsilon(1e-9));
  }
  SUBCASE("anomaly mode names a node whose backward makes an Inf") {
    tg::ScopedTape scope;
    tg::AnomalyGuard guard;
    tg::Var x(0.4);
    const tg::Var y = scale(x, 3.0, INFINITY) * 2.0;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("the backward of 'scale'"), tg::AnomalyError);
  }
  SUBCASE("anomaly mode blames an opaque node when its input's gradient turns out non-finite") {
    tg::ScopedTape scope;
    tg::AnomalyGuard guard;
    tg::Var x(0.4);
    const tg::Var y = scale(tg::sin(x), 3.0, INFINITY, false) * 2.0;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("written by the backward of the coarse node 'scale'"),
                         tg::AnomalyError);
  }
  SUBCASE("DOT shows the node, its value and its edge") {
    tg::ScopedTape scope;
    tg::Var x(0.5);
    const tg::Var y = scale(x, 3.0, 3.0);
    const std::string dot = tg::to_dot(y);
    CHECK(dot.find("scale #2\\nvalue 1.5") != std::string::npos);
    CHECK(dot.find("n1 -> n2 [label=\"3\"]") != std::string::npos);
  }
}
