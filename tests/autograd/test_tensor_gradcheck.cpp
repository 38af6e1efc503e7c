// The gradient-checking tools on tensor functions: gradcheck against central differences, a wrong custom
// backward caught and pinpointed, anomaly mode naming the tensor op, DOT export, CHECK_GRAD.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "tapegrad/doctest.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

using tg::Tensor;
using Inputs = std::vector<Tensor>;
constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// x³ elementwise with a correct backward (3x² g), and the same op with a deliberately wrong one (2x² g).
tg::CustomTensorOp cube_op(double factor, const char* name) {
  return tg::custom_tensor_op(
      name, [](const Inputs& x) { return x[0] * x[0] * x[0]; },
      [factor](const Inputs& x, const Tensor&, const Tensor& g) { return Inputs{g * factor * x[0] * x[0]}; });
}

// a ⊙ b with a correct backward, except that the wrong variant drops b's gradient at element [1, 2].
tg::CustomTensorOp hadamard_op(bool wrong) {
  return tg::custom_tensor_op(
      "hadamard", [](const Inputs& x) { return x[0] * x[1]; },
      [wrong](const Inputs& x, const Tensor&, const Tensor& g) {
        Tensor gb = (g * x[0]).clone();
        if (wrong) gb.set({1, 2}, 0.0);
        return Inputs{g * x[1], gb};
      });
}

}  // namespace

TEST_CASE("tensor gradcheck against central differences") {
  tg::Generator gen(7);
  const Tensor a = tg::randn({2, 3}, f64, &gen);
  const Tensor b = tg::randn({3, 4}, f64, &gen);

  SUBCASE("a correct composite passes, with per-input errors and shapes") {
    auto f = [](const Inputs& x) { return tg::tanh(tg::matmul(x[0], x[1])); };
    const tg::GradcheckResult r = tg::gradcheck(f, {a, b});
    CHECK_MESSAGE(r.ok, r.report());
    REQUIRE(r.inputs.size() == 2);
    CHECK(r.inputs[0].shape == std::vector<std::int64_t>{2, 3});
    CHECK(r.inputs[1].max_abs_error < 1e-7);
    CHECK(contains(r.report(), "sum(out * w)"));
  }

  SUBCASE("float32 inputs are converted, and the report says so") {
    auto f = [](const Inputs& x) { return tg::sum(tg::exp(x[0])); };
    const tg::GradcheckResult r = tg::gradcheck(f, {a.to(tg::kFloat32)});
    CHECK_MESSAGE(r.ok, r.report());
    CHECK(contains(r.report(), "converted to float64"));
  }

  SUBCASE("a correct custom op passes") {
    const auto cube = cube_op(3.0, "cube");
    auto f = [&](const Inputs& x) { return cube(x[0]); };
    const tg::GradcheckResult r = tg::gradcheck(f, {a});
    CHECK_MESSAGE(r.ok, r.report());
  }

  SUBCASE("integer inputs are refused") {
    auto f = [](const Inputs& x) { return x[0]; };
    CHECK_THROWS_AS(tg::gradcheck(f, {tg::zeros({2}, {.dtype = tg::kInt64})}), tg::DtypeError);
  }
}

TEST_CASE("a wrong custom tensor backward is caught and pinpointed") {
  tg::Generator gen(11);
  const Tensor a = tg::randn({2, 3}, f64, &gen);
  const Tensor b = tg::randn({2, 3}, f64, &gen);

  SUBCASE("the wrong element of the wrong input is named, with the op, its label and its input shapes") {
    const auto bad = hadamard_op(true);
    // Correct ops before and after the faulty one: localisation must skip them and stop at the fault.
    auto f = [&](const Inputs& x) {
      Tensor h = tg::exp(x[0]);
      Tensor p = bad(h, x[1]);
      p.label("prod");
      return tg::sum(tg::sin(p));
    };
    const tg::GradcheckResult r = tg::gradcheck(f, {a, b});
    CHECK_FALSE(r.ok);
    CHECK(r.inputs[0].ok);
    CHECK_FALSE(r.inputs[1].ok);
    CHECK(r.inputs[1].worst_index == std::vector<std::int64_t>{1, 2});
    // Independent truth at the worst element: d/db[1,2] of sum(sin(e^a b)) = cos(e^a b) e^a there.
    const double ea = std::exp(a.at({1, 2}));
    CHECK(r.inputs[1].numeric == doctest::Approx(std::cos(ea * b.at({1, 2})) * ea).epsilon(1e-6));
    REQUIRE(r.fault.has_value());
    CHECK(r.fault->op == "hadamard");
    CHECK(r.fault->label == "prod");
    CHECK(r.fault->worst_input == 1);
    CHECK(r.fault->worst_element == 5);
    REQUIRE(r.fault->input_shapes.size() == 2);
    CHECK(r.fault->input_shapes[0] == std::vector<std::int64_t>{2, 3});
    CHECK(r.ops_checked == 2);  // exp (fine), then hadamard (wrong)
    const std::string rep = r.report();
    CHECK(contains(rep, "'hadamard' (label 'prod')"));
    CHECK(contains(rep, "(index [1, 2])"));
  }

  SUBCASE("a wrong elementwise backward is pinpointed with its error") {
    const auto bad = cube_op(2.0, "cube");
    auto f = [&](const Inputs& x) { return tg::mean(bad(x[0])); };
    const tg::GradcheckResult r = tg::gradcheck(f, {a});
    CHECK_FALSE(r.ok);
    REQUIRE(r.fault.has_value());
    CHECK(r.fault->op == "cube");
    // backward gives 2x²v, differences give 3x²v: the relative error is exactly 1/3 everywhere.
    CHECK(r.fault->rel_error == doctest::Approx(1.0 / 3.0).epsilon(1e-5));
  }

  SUBCASE("ops that cannot be re-run alone are listed, not silently skipped") {
    // x * 2 folds its constant in; exp runs outside tracing, so its input was not kept. The custom op
    // saves its own inputs, so it is still checked (and found wrong).
    const auto bad = cube_op(2.0, "cube");
    auto f = [&](const Inputs& x) {
      const Tensor h = x[0] * 2.0;
      Tensor e;
      {
        tg::TensorTraceGuard off(false);
        e = tg::exp(h);
      }
      return tg::sum(bad(e));
    };
    const tg::GradcheckResult r = tg::gradcheck(f, {a});
    CHECK_FALSE(r.ok);
    REQUIRE(r.fault.has_value());
    CHECK(r.fault->op == "cube");
    const std::string rep = r.report();
    CHECK(contains(rep, "not re-run alone: mul#"));
    CHECK(contains(rep, "not recorded"));
    CHECK(contains(rep, "not re-run alone: exp#"));
    CHECK(contains(rep, "recorded without tracing"));
  }

  SUBCASE("a backward returning the wrong shape throws a ShapeError naming the op") {
    const auto bad = tg::custom_tensor_op(
        "squash", [](const Inputs& x) { return x[0] * 1.0; },
        [](const Inputs&, const Tensor&, const Tensor& g) { return Inputs{tg::sum(g)}; });
    Tensor x = a.clone().requires_grad_(true);
    tg::ScopedTape scope;
    const Tensor y = tg::sum(bad(x));
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("'squash'"), tg::ShapeError);
  }
}

TEST_CASE("anomaly mode on tensor ops") {
  SUBCASE("forward: log of a tensor containing 0 is named, with its input summary") {
    tg::ScopedTape scope;
    Tensor x = tg::tensor({1.0, 0.0, 2.0}, f64).requires_grad_(true);
    x.label("x");
    const Tensor h = tg::exp(x);
    const Tensor z = h - 1.0;  // exactly 0 where x is 0
    tg::AnomalyGuard anomaly;
    try {
      (void)tg::log(z);
      FAIL("no anomaly raised");
    } catch (const tg::AnomalyError& e) {
      CHECK(e.op() == "log");
      CHECK_FALSE(e.in_backward());
      const std::string m = e.what();
      CHECK(contains(m, "1 Inf"));
      CHECK(contains(m, "shape [3]"));
      CHECK(contains(m, "min 0"));
    }
  }

  SUBCASE("backward: sqrt at 0 gives an Inf gradient, blamed on sqrt with the path to the output") {
    tg::AnomalyGuard anomaly;
    tg::ScopedTape scope;
    Tensor x = tg::tensor({4.0, 0.0}, f64).requires_grad_(true);
    x.label("x");
    Tensor r = tg::sqrt(x);
    r.label("root");
    const Tensor y = tg::sum(r * 3.0);
    try {
      y.backward();
      FAIL("no anomaly raised");
    } catch (const tg::AnomalyError& e) {
      CHECK(e.op() == "sqrt");
      CHECK(e.in_backward());
      const std::string m = e.what();
      CHECK(contains(m, "(label 'root')"));
      CHECK(contains(m, "leaf 'x'"));
      CHECK(contains(m, "path to the output: sqrt#"));
      CHECK(contains(m, "sum#"));
    }
  }

  SUBCASE("finite values pass untouched") {
    tg::AnomalyGuard anomaly;
    tg::ScopedTape scope;
    Tensor x = tg::tensor({1.0, 2.0}, f64).requires_grad_(true);
    tg::sum(tg::log(x)).backward();
    CHECK(x.grad().at({1}) == doctest::Approx(0.5));
  }
}

TEST_CASE("DOT export of a tensor graph") {
  tg::ScopedTape scope;
  tg::TensorTraceGuard trace;
  Tensor w = tg::tensor({{1.0, 2.0}, {3.0, 4.0}}, f64).requires_grad_(true);
  w.label("W");
  Tensor x = tg::tensor({0.5, -1.0}, f64);
  Tensor h = tg::matmul(w, x);
  h.label("h");
  Tensor y = tg::sum(tg::tanh(h));
  y.label("loss");
  y.backward();
  const std::string dot = tg::to_dot(y);
  CHECK(contains(dot, "digraph"));
  CHECK(contains(dot, "matmul #"));
  CHECK(contains(dot, "tanh #"));
  CHECK(contains(dot, "loss\\nsum #"));
  CHECK(contains(dot, "h\\nmatmul"));
  CHECK(contains(dot, "W\\nleaf"));
  CHECK(contains(dot, "shape [2, 2]"));
  // h = W x = [-1.5, -2.5]: its summary shows both ends.
  CHECK(contains(dot, "min -2.5, max -1.5"));
  CHECK(contains(dot, "\\ngrad shape [2, 2]"));
  CHECK(contains(dot, " -> n"));
  CHECK_FALSE(contains(dot, "TensorTraceGuard"));
}

TEST_CASE("DOT export without tracing hints at it") {
  tg::ScopedTape scope;
  Tensor x = tg::tensor({0.5, 1.0}, f64).requires_grad_(true);
  const Tensor y = tg::sum(tg::exp(x));
  const std::string dot = tg::to_dot(y);
  CHECK(contains(dot, "exp #"));
  CHECK(contains(dot, "TensorTraceGuard"));
}

TEST_CASE("CHECK_GRAD with tensor functions") {
  tg::Generator gen(3);
  const Tensor a = tg::randn({3}, f64, &gen);
  auto f = [](const Inputs& x) { return tg::sum(tg::sigmoid(x[0]) * x[0]); };
  CHECK_GRAD(f, {a});
  auto g = [](std::span<const tg::Var> v) { return v[0] * v[1]; };
  CHECK_GRAD(g, {0.5, 2.0});
}

TEST_CASE("explain on a graph with tensor ops says they are not explained element by element") {
  tg::ScopedTape scope;
  tg::Var v(0.5);
  v.label("v");
  const Tensor t = tg::Tensor::from_vars(std::vector<tg::Var>{v, v * 2.0}, {2});
  const tg::Var y = tg::sum(tg::exp(t)).to_var();
  const tg::Explanation ex = tg::explain(y, v);
  CHECK_FALSE(ex.opaque_ops.empty());
  CHECK(contains(ex.str(), "tensor ops are not explained element by element"));
}
