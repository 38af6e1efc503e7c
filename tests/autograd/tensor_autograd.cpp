// Tensor autograd semantics: .grad() accumulation, retain_grad, tg::grad, stale tapes, the version
// counter, in-place ops, and the Tensor ↔ Var bridges on one tape.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "support/tensor_check.hpp"

using tgtest::f64;

namespace {
tg::TensorOptions param{.dtype = tg::kFloat64, .requires_grad = true};
}

TEST_CASE("tensor backward accumulates into leaves") {
  tg::ScopedTape scope;
  tg::Tensor w = tg::tensor({1.0, 2.0, 3.0}, param);
  SUBCASE("two backward calls add up until zero_grad") {
    (w * w).sum().backward();
    CHECK(w.grad().to_vector<double>() == std::vector<double>{2, 4, 6});
    (w * 3.0).sum().backward();
    CHECK(w.grad().to_vector<double>() == std::vector<double>{5, 7, 9});
    w.zero_grad();
    CHECK(w.grad().to_vector<double>() == std::vector<double>{0, 0, 0});
    w.grad().zero_();
  }
  SUBCASE("backward with an explicit gradient") {
    tg::Tensor y = w * 2.0;
    y.backward(tg::tensor({1.0, 0.0, -1.0}, f64));
    CHECK(w.grad().to_vector<double>() == std::vector<double>{2, 0, -2});
    CHECK_THROWS_AS(y.backward(), tg::ShapeError);
    CHECK_THROWS_AS((w * 2.0).backward(tg::ones({2}, f64)), tg::ShapeError);
    CHECK_THROWS_AS((w * 2.0).backward(tg::ones({3})), tg::DtypeError);
  }
  SUBCASE("a gradient that reaches the leaf by two paths is summed") {
    const tg::Tensor a = w.reshape({3, 1});
    (a * w).sum().backward();  // Σ_ij w_i w_j: gradient 2 Σ w
    CHECK(w.grad().to_vector<double>() == std::vector<double>{12, 12, 12});
  }
  SUBCASE("the leaf's grad is its own memory, not a view of another gradient") {
    tg::Tensor v = tg::tensor({1.0, 1.0, 1.0}, param);
    (w + v).sum().backward();
    w.grad().add_(tg::ones({3}, f64));
    CHECK(v.grad().to_vector<double>() == std::vector<double>{1, 1, 1});
  }
  SUBCASE("retain_grad keeps an intermediate's gradient") {
    tg::Tensor h = w * 2.0;
    h.retain_grad();
    (h * h).sum().backward();
    CHECK(h.grad().to_vector<double>() == std::vector<double>{4, 8, 12});
    CHECK_FALSE((w * 1.0).grad().defined());
  }
  SUBCASE("backward on a tensor without a graph") {
    CHECK_THROWS_AS(tg::ones({1}, f64).backward(), tg::ValueError);
  }
  SUBCASE("NoGradGuard records nothing") {
    tg::NoGradGuard ng;
    CHECK_FALSE((w * 2.0).requires_grad());
  }
}

TEST_CASE("tg::grad returns gradients without touching .grad()") {
  tg::ScopedTape scope;
  tg::Tensor x = tg::tensor({1.0, 2.0}, param);
  tg::Tensor y = tg::tensor({3.0, 4.0}, param);
  const tg::Tensor h = x * y;
  const tg::Tensor out = (h * h).sum();
  const std::vector<tg::Tensor> g = tg::grad({out}, {x, h, tg::ones({2}, f64)}, {}, {.retain_graph = true});
  CHECK(g[0].to_vector<double>() == std::vector<double>{2 * 3 * 3, 2 * 2 * 4 * 4});
  CHECK(g[1].to_vector<double>() == std::vector<double>{6, 16});
  CHECK(g[2].to_vector<double>() == std::vector<double>{0, 0});
  CHECK_FALSE(x.grad().defined());
  out.backward();
  CHECK(y.grad().to_vector<double>() == std::vector<double>{2 * 1 * 1 * 3, 2 * 2 * 2 * 4});
}

TEST_CASE("tensor graphs and tapes") {
  tg::Tensor w = tg::tensor({1.0, 2.0}, param);
  SUBCASE("a tensor whose tape was reset is detected") {
    tg::Tensor h;
    {
      tg::ScopedTape scope;
      h = w * 2.0;
    }
    CHECK_THROWS_AS(h.backward(tg::ones({2}, f64)), tg::TapeError);
    tg::ScopedTape scope2;
    CHECK_THROWS_AS(h * 2.0, tg::TapeError);
    CHECK((h.detach() * 2.0).at({1}) == 8.0);
    CHECK(h.grad_fn() == nullptr);
  }
  SUBCASE("parameters survive tape resets") {
    tg::ScopedTape scope;
    for (int step = 0; step < 3; ++step) {
      (w * w).sum().backward();
      scope.tape().reset();
    }
    CHECK(w.grad().to_vector<double>() == std::vector<double>{6, 12});
  }
  SUBCASE("a second backward through a released graph is an error; retain_graph allows it") {
    tg::ScopedTape scope;
    tg::Tensor loss = (w.exp() * w).sum();
    loss.backward({.retain_graph = true});
    loss.backward();
    CHECK(w.grad().at({0}) == doctest::Approx(2 * 2 * std::exp(1.0)));
    CHECK_THROWS_AS(loss.backward(), tg::TapeError);
  }
}

TEST_CASE("the version counter detects in-place changes to saved tensors") {
  tg::ScopedTape scope;
  tg::Tensor w = tg::tensor({1.0, 2.0}, param);
  SUBCASE("a saved input changed in place") {
    tg::Tensor a = tg::tensor({3.0, 4.0}, f64).label("a");
    tg::Tensor loss = (w * a).sum();
    a.add_(1.0);
    try {
      loss.backward();
      FAIL("no error");
    } catch (const tg::ValueError& e) {
      const std::string msg = e.what();
      CHECK(msg.find("'mul'") != std::string::npos);
      CHECK(msg.find("'a'") != std::string::npos);
      CHECK(msg.find("version 1") != std::string::npos);
    }
  }
  SUBCASE("a saved output changed through a detached alias") {
    tg::Tensor y = w.exp();
    tg::Tensor loss = y.sum();
    y.detach().mul_(2.0);
    CHECK_THROWS_AS(loss.backward(), tg::ValueError);
  }
  SUBCASE("an unsaved tensor may change") {
    tg::Tensor a = tg::tensor({3.0, 4.0}, f64);
    tg::Tensor loss = (w + a).sum();
    a.zero_();
    loss.backward();
    CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 1});
  }
}

TEST_CASE("in-place ops") {
  tg::Tensor p = tg::tensor({1.0, 2.0, 3.0}, param);
  SUBCASE("refused on a parameter while recording, allowed under NoGradGuard") {
    CHECK_THROWS_AS(p.sub_(1.0), tg::ValueError);
    tg::NoGradGuard ng;
    p.sub_(tg::tensor({1.0, 1.0, 1.0}, f64), 0.5);
    CHECK(p.to_vector<double>() == std::vector<double>{0.5, 1.5, 2.5});
    CHECK(p.version() == 1);
  }
  SUBCASE("each op") {
    tg::Tensor t = tg::zeros({2, 2}, f64);
    t.fill_(2.0).add_(tg::tensor({1.0, 2.0}, f64)).mul_(2.0).sub_(1.0);
    CHECK(t.to_vector<double>() == std::vector<double>{5, 7, 5, 7});
    t.div_(tg::full({2, 2}, 2.0, f64)).mul_(tg::ones({1}, f64));
    CHECK(t.at({0, 1}) == 3.5);
    t.t().copy_(tg::tensor({{1, 2}, {3, 4}}, f64));
    CHECK(t.to_vector<double>() == std::vector<double>{1, 3, 2, 4});
    t.zero_();
    CHECK(t.sum().item() == 0.0);
    CHECK(t.version() == 8);
    CHECK_THROWS_AS(t.add_(tg::zeros({3}, f64)), tg::ShapeError);
    CHECK_THROWS_AS(tg::zeros({1}, f64).expand({3}).fill_(1.0), tg::ValueError);
  }
}

TEST_CASE("tensors and Vars share one tape") {
  tg::ScopedTape scope;
  SUBCASE("Tensor -> Var") {
    tg::Tensor w = tg::tensor({1.0, 2.0}, param);
    tg::Var s = (w * w).sum().to_var();
    tg::Var y = tg::sin(s) * 2.0;  // dy/dw = 2 cos(Σw²) 2w
    y.backward();
    const double c = 2 * std::cos(5.0);
    CHECK(w.grad().at({0}) == doctest::Approx(c * 2));
    CHECK(w.grad().at({1}) == doctest::Approx(c * 4));
    CHECK_THROWS_AS(w.to_var(), tg::ShapeError);
  }
  SUBCASE("Var -> Tensor") {
    tg::Var a(2.0);
    tg::Var b(3.0);
    std::vector<tg::Var> vs{a, b, a * b};
    tg::Tensor t = tg::Tensor::from_vars(vs, {3});
    tg::Tensor out = (t * t).sum();  // a² + b² + a²b²
    out.backward();
    CHECK(a.grad() == doctest::Approx(2 * 2 + 2 * 2 * 9));
    CHECK(b.grad() == doctest::Approx(2 * 3 + 2 * 3 * 4));
  }
  SUBCASE("round trip") {
    tg::Var a(0.5);
    tg::Tensor t = tg::Tensor::from_vars(std::vector<tg::Var>{a}, {1});
    tg::Var back = tg::exp(t).sum().to_var() * a;  // a e^a
    back.backward();
    CHECK(a.grad() == doctest::Approx(std::exp(0.5) * 1.5));
  }
}

TEST_CASE("the 2-2-2 worked example in tensor form") {
  // Values from /work/shared/reference/worked_example.md (exact doubles).
  tg::Tensor w1 = tg::tensor({{0.15, 0.20}, {0.25, 0.30}}, param);
  tg::Tensor w2 = tg::tensor({{0.40, 0.45}, {0.50, 0.55}}, param);
  const tg::Tensor x = tg::tensor({0.05, 0.10}, f64);
  const tg::Tensor t = tg::tensor({0.01, 0.99}, f64);
  auto forward = [&] {
    const tg::Tensor h = tg::sigmoid(tg::matmul(w1, x) + 0.35);
    const tg::Tensor o = tg::sigmoid(tg::matmul(w2, h) + 0.60);
    return 0.5 * tg::square(t - o).sum();
  };
  tg::ScopedTape scope;
  const tg::Tensor e = forward();
  CHECK(e.item() == doctest::Approx(0.29837110876000272).epsilon(1e-14));
  e.backward();
  CHECK(w2.grad().at({0, 0}) == doctest::Approx(0.082167040564230784).epsilon(1e-12));
  CHECK(w2.grad().at({1, 1}) == doctest::Approx(-0.02274024221597822).epsilon(1e-12));
  CHECK(w1.grad().at({0, 0}) == doctest::Approx(0.00043856773447434685).epsilon(1e-12));
  CHECK(w1.grad().at({1, 1}) == doctest::Approx(0.0009954254705217202).epsilon(1e-12));
  for (int step = 0; step < 10000; ++step) {
    if (step > 0) {
      scope.tape().reset();
      forward().backward();
    }
    tg::NoGradGuard ng;
    w1.sub_(w1.grad(), 0.5);
    w2.sub_(w2.grad(), 0.5);
    w1.zero_grad();
    w2.zero_grad();
  }
  scope.tape().reset();
  CHECK(forward().item() == doctest::Approx(3.510187782978859e-05).epsilon(1e-10));
  CHECK(w1.at({0, 0}) == doctest::Approx(0.3785099883501318).epsilon(1e-10));
  CHECK(w2.at({0, 0}) == doctest::Approx(-3.8929771988657245).epsilon(1e-10));
}

TEST_CASE("float32 gradients agree with float64") {
  tg::Generator gen(5);
  const tg::Tensor x64 = tg::randn({3, 4}, f64, &gen);
  const tg::Tensor w64 = tg::randn({4, 2}, f64, &gen);
  auto grads = [](const tg::Tensor& x, const tg::Tensor& w0) {
    tg::ScopedTape scope;
    tg::Tensor w = w0.clone().detach().requires_grad_();
    tg::log_softmax(tg::tanh(tg::matmul(x, w)), 1).sum().backward();
    return w.grad().to(tg::kFloat64);
  };
  const tg::Tensor g64 = grads(x64, w64);
  const tg::Tensor g32 = grads(x64.to(tg::kFloat32), w64.to(tg::kFloat32));
  CHECK(g32.shape() == g64.shape());
  CHECK(tg::allclose(g32, g64, 1e-4, 1e-5));
}

TEST_CASE("recorded tensor graphs can be walked by tooling") {
  tg::ScopedTape scope;
  tg::Tensor w = tg::tensor({{1.0, 2.0}, {3.0, 4.0}}, param);
  const tg::Tensor x = tg::tensor({1.0, -1.0}, f64);
  const tg::Tensor loss = tg::sigmoid(tg::matmul(w, x)).sum();
  std::vector<std::string> names;
  for (tg::TensorNode* n = loss.grad_fn(); n != nullptr; n = n->num_inputs() ? n->input(0).node : nullptr) {
    names.push_back(n->name());
  }
  CHECK(names == std::vector<std::string>{"sum", "sigmoid", "matmul"});
  tg::TensorNode* mm = loss.grad_fn()->input(0).node->input(0).node;
  CHECK(mm->output_shape() == tg::Shape{2});
  CHECK(mm->num_inputs() == 2);
  CHECK(mm->input(0).leaf.get() == w.impl());
  CHECK_FALSE(mm->input(1).live());
  CHECK(scope.tape().node_at(mm->slot) == mm);
}

TEST_CASE("printing int and bool tensors") {
  std::ostringstream os;
  os << tg::tensor(std::vector<std::int64_t>{3, -1}, {2}) << ' ' << (tg::tensor({1.0, 2.0}) > 1.5);
  CHECK(os.str() == "tensor([3, -1], dtype=int64) tensor([false, true], dtype=bool)");
}
