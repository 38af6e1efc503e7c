// Optimizers: the first three steps of each update rule against the rule worked out in plain double
// arithmetic (the published algorithm boxes of torch.optim, written out independently here), parameter
// groups, zero_grad, version bumps, allocation-free steps, and convergence to known minima.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "tapegrad/nn/optim.hpp"
#include "tapegrad/ops.hpp"

// Counts calls of the global operator new, to show that a steady-state step allocates nothing. GCC
// inlines these replacements and then misreads the new/free pairing; the pairing is correct.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
namespace {
std::atomic<long> g_news{0};
}  // namespace

void* operator new(std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace tg::nn;
using Vec = std::vector<double>;

namespace {

constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};

const Vec kP0 = {1.0, -2.0, 0.5};
const std::vector<Vec> kGrads = {{0.1, -0.3, 0.2}, {0.4, 0.1, -0.5}, {-0.2, 0.3, 0.6}};

tg::Tensor leaf(const Vec& v, tg::Dtype d = tg::kFloat64) {
  tg::Tensor t = tg::tensor(v, tg::Shape{static_cast<std::int64_t>(v.size())}, {.dtype = d});
  t.requires_grad_();
  return t;
}

// Sets p's gradient to g (clearing the old one) and takes one step.
void step_with(Optimizer& opt, tg::Tensor& p, const Vec& g) {
  opt.zero_grad();
  p.backward(tg::tensor(g, tg::Shape{static_cast<std::int64_t>(g.size())}, {.dtype = p.dtype()}));
  opt.step();
}

// The parameter after each of the three steps of kGrads.
std::vector<Vec> three_steps(Optimizer& opt, tg::Tensor& p) {
  std::vector<Vec> out;
  for (const Vec& g : kGrads) {
    step_with(opt, p, g);
    out.push_back(p.to_vector<double>());
  }
  return out;
}

void check_close(const std::vector<Vec>& got, const std::vector<Vec>& want, double rtol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (std::size_t s = 0; s < got.size(); ++s) {
    REQUIRE(got[s].size() == want[s].size());
    for (std::size_t i = 0; i < got[s].size(); ++i) {
      INFO("step " << s + 1 << " element " << i);
      CHECK(got[s][i] == doctest::Approx(want[s][i]).epsilon(rtol));
    }
  }
}

// --- the published rules, element by element ---------------------------------------------------------

std::vector<Vec> sgd_by_hand(double lr, double mu, double damp, double wd, bool nesterov) {
  Vec p = kP0;
  Vec b(p.size(), 0.0);
  std::vector<Vec> out;
  for (std::size_t t = 0; t < kGrads.size(); ++t) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = kGrads[t][i] + wd * p[i];
      if (mu != 0.0) {
        b[i] = t == 0 ? g : mu * b[i] + (1.0 - damp) * g;
        g = nesterov ? g + mu * b[i] : b[i];
      }
      p[i] = p[i] - lr * g;
    }
    out.push_back(p);
  }
  return out;
}

std::vector<Vec> adam_by_hand(double lr, double b1, double b2, double eps, double wd, bool amsgrad, bool decoupled,
                              const std::vector<Vec>& grads = kGrads) {
  Vec p = kP0;
  Vec m(p.size(), 0.0);
  Vec v(p.size(), 0.0);
  Vec vmax(p.size(), 0.0);
  std::vector<Vec> out;
  for (std::size_t t = 1; t <= grads.size(); ++t) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grads[t - 1][i];
      if (decoupled) {
        p[i] = p[i] - lr * wd * p[i];
      } else {
        g += wd * p[i];
      }
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      const double mhat = m[i] / (1.0 - std::pow(b1, static_cast<double>(t)));
      vmax[i] = std::max(vmax[i], v[i]);
      const double vhat = (amsgrad ? vmax[i] : v[i]) / (1.0 - std::pow(b2, static_cast<double>(t)));
      p[i] = p[i] - lr * mhat / (std::sqrt(vhat) + eps);
    }
    out.push_back(p);
  }
  return out;
}

std::vector<Vec> rmsprop_by_hand(double lr, double alpha, double eps, double wd, double mu, bool centered) {
  Vec p = kP0;
  Vec v(p.size(), 0.0);
  Vec b(p.size(), 0.0);
  Vec gavg(p.size(), 0.0);
  std::vector<Vec> out;
  for (const Vec& grad : kGrads) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      v[i] = alpha * v[i] + (1.0 - alpha) * g * g;
      double vt = v[i];
      if (centered) {
        gavg[i] = gavg[i] * alpha + (1.0 - alpha) * g;
        vt = vt - gavg[i] * gavg[i];
      }
      if (mu > 0.0) {
        b[i] = mu * b[i] + g / (std::sqrt(vt) + eps);
        p[i] = p[i] - lr * b[i];
      } else {
        p[i] = p[i] - lr * g / (std::sqrt(vt) + eps);
      }
    }
    out.push_back(p);
  }
  return out;
}

std::vector<Vec> adagrad_by_hand(double lr, double lr_decay, double wd, double init, double eps) {
  Vec p = kP0;
  Vec sum(p.size(), init);
  std::vector<Vec> out;
  for (std::size_t t = 1; t <= kGrads.size(); ++t) {
    const double clr = lr / (1.0 + static_cast<double>(t - 1) * lr_decay);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = kGrads[t - 1][i] + wd * p[i];
      sum[i] = sum[i] + g * g;
      p[i] = p[i] - clr * g / (std::sqrt(sum[i]) + eps);
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace

TEST_CASE("SGD: three steps match the published rule") {
  tg::Tensor p = leaf(kP0);
  SUBCASE("plain") {
    SGD opt({p}, {.lr = 0.1});
    const auto got = three_steps(opt, p);
    // Worked by hand: 1 - 0.1·0.1 = 0.99 after step 1.
    CHECK(got[0][0] == doctest::Approx(0.99).epsilon(1e-15));
    check_close(got, sgd_by_hand(0.1, 0.0, 0.0, 0.0, false));
  }
  SUBCASE("momentum with dampening and weight decay: the first buffer is undampened") {
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5, .weight_decay = 0.01});
    const auto got = three_steps(opt, p);
    // Step 1 by hand: g = 0.1 + 0.01·1 = 0.11, buffer = g, p = 1 - 0.011.
    CHECK(got[0][0] == doctest::Approx(0.989).epsilon(1e-15));
    check_close(got, sgd_by_hand(0.1, 0.9, 0.5, 0.01, false));
  }
  SUBCASE("Nesterov momentum with weight decay") {
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    const auto got = three_steps(opt, p);
    // Step 1: g = 0.11, buffer = 0.11, update g + 0.9·0.11 = 0.209.
    CHECK(got[0][0] == doctest::Approx(1.0 - 0.0209).epsilon(1e-15));
    check_close(got, sgd_by_hand(0.1, 0.9, 0.0, 0.01, true));
  }
  SUBCASE("invalid options are refused") {
    CHECK_THROWS_AS(SGD({p}, {.lr = -1.0}), tg::ValueError);
    CHECK_THROWS_AS(SGD({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}), tg::ValueError);
    CHECK_THROWS_AS(SGD({p}, {.lr = 0.1, .nesterov = true}), tg::ValueError);
  }
}

TEST_CASE("Adam and AdamW: three steps match the published rule") {
  tg::Tensor p = leaf(kP0);
  SUBCASE("without weight decay: the first step moves each weight by lr against the gradient's sign") {
    Adam opt({p}, {.lr = 0.1});
    const auto got = three_steps(opt, p);
    // Step 1: m̂ = g and v̂ = g², so the move is lr·g/(|g| + eps) ≈ lr·sign(g).
    CHECK(got[0][0] == doctest::Approx(1.0 - 0.1 * 0.1 / (0.1 + 1e-8)).epsilon(1e-14));
    CHECK(got[0][1] == doctest::Approx(-2.0 + 0.1 * 0.3 / (0.3 + 1e-8)).epsilon(1e-14));
    check_close(got, adam_by_hand(0.1, 0.9, 0.999, 1e-8, 0.0, false, false));
  }
  SUBCASE("with L2 weight decay") {
    Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    check_close(three_steps(opt, p), adam_by_hand(0.1, 0.9, 0.999, 1e-8, 0.1, false, false));
  }
  SUBCASE("AMSGrad uses the running maximum of the second moment") {
    // With beta2 = 0.5 and shrinking gradients the second moment falls, so the maximum matters.
    const std::vector<Vec> grads = {{0.4, -0.4, 0.2}, {0.1, -0.1, 0.05}, {0.05, 0.02, 0.01}};
    Adam opt({p}, {.lr = 0.1, .beta2 = 0.5, .amsgrad = true});
    std::vector<Vec> got;
    for (const Vec& g : grads) {
      step_with(opt, p, g);
      got.push_back(p.to_vector<double>());
    }
    const auto want = adam_by_hand(0.1, 0.9, 0.5, 1e-8, 0.0, true, false, grads);
    check_close(got, want);
    const auto plain = adam_by_hand(0.1, 0.9, 0.5, 1e-8, 0.0, false, false, grads);
    CHECK(std::abs(plain[2][0] - want[2][0]) > 1e-3);
  }
  SUBCASE("AdamW decays the weights directly: p·(1 - lr·wd) before the Adam step") {
    AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    const auto got = three_steps(opt, p);
    CHECK(got[0][0] == doctest::Approx(1.0 * (1.0 - 0.01) - 0.1 * 0.1 / (0.1 + 1e-8)).epsilon(1e-14));
    check_close(got, adam_by_hand(0.1, 0.9, 0.999, 1e-8, 0.1, false, true));
    CHECK(AdamW({leaf(kP0)}).options(0).weight_decay == 1e-2);
  }
  SUBCASE("invalid betas are refused") {
    CHECK_THROWS_AS(Adam({p}, {.beta1 = 1.0}), tg::ValueError);
    CHECK_THROWS_AS(AdamW({p}, {.beta2 = -0.1}), tg::ValueError);
  }
}

TEST_CASE("RMSprop: three steps match the published rule") {
  tg::Tensor p = leaf(kP0);
  SUBCASE("plain") {
    RMSprop opt({p}, {.lr = 0.01});
    const auto got = three_steps(opt, p);
    // Step 1: v = 0.01·g², so the move is lr·g/(0.1·|g| + eps) ≈ 10·lr·sign(g).
    CHECK(got[0][0] == doctest::Approx(1.0 - 0.01 * 0.1 / (0.01 + 1e-8)).epsilon(1e-14));
    check_close(got, rmsprop_by_hand(0.01, 0.99, 1e-8, 0.0, 0.0, false));
  }
  SUBCASE("centered, with momentum and weight decay") {
    RMSprop opt({p}, {.lr = 0.01, .alpha = 0.9, .weight_decay = 0.1, .momentum = 0.5, .centered = true});
    check_close(three_steps(opt, p), rmsprop_by_hand(0.01, 0.9, 1e-8, 0.1, 0.5, true));
  }
}

TEST_CASE("Adagrad: three steps match the published rule") {
  tg::Tensor p = leaf(kP0);
  SUBCASE("plain: the first step moves by lr·sign(g)") {
    Adagrad opt({p}, {.lr = 0.1});
    const auto got = three_steps(opt, p);
    CHECK(got[0][0] == doctest::Approx(1.0 - 0.1 * 0.1 / (0.1 + 1e-10)).epsilon(1e-14));
    check_close(got, adagrad_by_hand(0.1, 0.0, 0.0, 0.0, 1e-10));
  }
  SUBCASE("lr decay, initial accumulator and weight decay") {
    Adagrad opt({p}, {.lr = 0.1, .lr_decay = 0.5, .weight_decay = 0.1, .initial_accumulator_value = 0.2});
    check_close(three_steps(opt, p), adagrad_by_hand(0.1, 0.5, 0.1, 0.2, 1e-10));
  }
}

TEST_CASE("float32 parameters follow the same rules to float precision") {
  tg::Tensor p = leaf(kP0, tg::kFloat32);
  SUBCASE("SGD") {
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    check_close(three_steps(opt, p), sgd_by_hand(0.1, 0.9, 0.0, 0.01, true), 1e-6);
  }
  SUBCASE("Adam") {
    Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    check_close(three_steps(opt, p), adam_by_hand(0.1, 0.9, 0.999, 1e-8, 0.1, false, false), 1e-6);
  }
}

TEST_CASE("float32 SGD over many values rounds exactly as the rule in float, in whichever CPU version runs") {
  // The SGD loop has AVX2 and AVX-512 versions picked at load time; each must give the bits of the rule
  // evaluated one float at a time. 1003 values: full vectors and a remainder for every vector width.
  constexpr std::size_t n = 1003;
  std::vector<float> p0(n);
  std::vector<std::vector<float>> grads(3, std::vector<float>(n));
  for (std::size_t i = 0; i < n; ++i) {
    p0[i] = std::sin(0.37f * static_cast<float>(i)) * 2.0f;
    for (std::size_t t = 0; t < 3; ++t) grads[t][i] = std::cos(0.11f * static_cast<float>(i * (t + 1))) * 0.3f;
  }
  struct Case {
    const char* name;
    float lr, mu, damp, wd;
    bool nesterov;
  };
  for (const Case& c : {Case{"plain", 0.1f, 0.0f, 0.0f, 0.0f, false}, Case{"momentum, dampening, decay", 0.05f, 0.9f, 0.25f, 0.01f, false},
                        Case{"nesterov", 0.01f, 0.9f, 0.0f, 0.001f, true}}) {
    CAPTURE(c.name);
    tg::Tensor p = tg::tensor(std::vector<double>(p0.begin(), p0.end()), tg::Shape{static_cast<std::int64_t>(n)},
                              {.dtype = tg::kFloat32});
    p.requires_grad_();
    SGD opt({p}, {.lr = c.lr, .momentum = c.mu, .dampening = c.damp, .weight_decay = c.wd, .nesterov = c.nesterov});
    std::vector<float> want = p0;
    std::vector<float> buf(n, 0.0f);
    for (std::size_t t = 0; t < 3; ++t) {
      opt.zero_grad();
      p.backward(tg::tensor(std::vector<double>(grads[t].begin(), grads[t].end()),
                            tg::Shape{static_cast<std::int64_t>(n)}, {.dtype = tg::kFloat32}));
      opt.step();
      for (std::size_t i = 0; i < n; ++i) {  // the rule, one rounded float operation at a time
        const float decay = c.wd * want[i];
        float g = grads[t][i] + decay;
        if (c.mu != 0.0f) {
          const float kept = c.mu * buf[i];
          const float taken = (1.0f - c.damp) * g;
          buf[i] = t == 0 ? g : kept + taken;
          const float ahead = c.mu * buf[i];
          g = c.nesterov ? g + ahead : buf[i];
        }
        const float delta = c.lr * g;
        want[i] = want[i] - delta;
      }
      const std::vector<float> got = p.to_vector<float>();
      std::size_t differ = 0;
      for (std::size_t i = 0; i < n; ++i) differ += got[i] != want[i] ? 1 : 0;
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("parameter groups") {
  tg::Tensor a = leaf({1.0, 2.0});
  tg::Tensor b = leaf({1.0, 2.0});
  SUBCASE("each group steps with its own options") {
    SGD opt({ParamGroup<SGDOptions>{{a}, {.lr = 0.1}}, ParamGroup<SGDOptions>{{b}, {.lr = 0.01}}});
    CHECK(opt.num_param_groups() == 2);
    a.backward(tg::tensor({1.0, 1.0}, f64));
    b.backward(tg::tensor({1.0, 1.0}, f64));
    opt.step();
    CHECK(a.to_vector<double>() == Vec{0.9, 1.9});
    CHECK(b.to_vector<double>() == Vec{0.99, 1.99});
    opt.set_lr(1, 0.5);
    CHECK(opt.lr(1) == 0.5);
    CHECK(opt.option(0, "lr") == 0.1);
    CHECK_THROWS_AS(opt.option(0, "beta1"), tg::ValueError);
    CHECK_THROWS_AS(opt.set_lr(0, -1.0), tg::ValueError);
    CHECK_THROWS_AS(opt.params(2), tg::IndexError);
  }
  SUBCASE("add_param_group with defaults or its own options") {
    Adam opt({a}, {.lr = 0.2});
    opt.add_param_group({b}, {.lr = 0.3, .amsgrad = true});
    tg::Tensor c = leaf({0.0});
    opt.add_param_group({c});
    CHECK(opt.num_param_groups() == 3);
    CHECK(opt.options(1).amsgrad);
    CHECK(opt.lr(2) == 0.2);
    CHECK_THROWS_AS(opt.add_param_group({a}), tg::ValueError);  // already optimized
  }
  SUBCASE("only float leaves can be optimized") {
    CHECK_THROWS_AS(SGD(std::vector<tg::Tensor>{}), tg::ValueError);
    CHECK_THROWS_AS(SGD({tg::tensor({1.0, 2.0}, {.dtype = tg::kInt64})}), tg::DtypeError);
    CHECK_THROWS_AS(SGD({a * 2.0}), tg::ValueError);
    CHECK_THROWS_AS(SGD({a, a}), tg::ValueError);
  }
}

TEST_CASE("step and zero_grad mechanics") {
  tg::Tensor a = leaf({1.0, 2.0});
  tg::Tensor b = leaf({3.0});
  SGD opt({a, b}, {.lr = 0.1, .momentum = 0.9});
  SUBCASE("a parameter without a gradient is left alone") {
    a.backward(tg::tensor({1.0, 1.0}, f64));
    opt.step();
    CHECK(b.to_vector<double>() == Vec{3.0});
    CHECK(opt.step_count(0) == 1);
    CHECK(opt.step_count(1) == 0);
  }
  SUBCASE("zero_grad to none or to zeros in place") {
    a.backward(tg::tensor({1.0, 1.0}, f64));
    const double* mem = a.grad().data_ptr<double>();
    opt.zero_grad(false);
    REQUIRE(a.grad().defined());
    CHECK(a.grad().data_ptr<double>() == mem);
    CHECK(a.grad().to_vector<double>() == Vec{0.0, 0.0});
    opt.zero_grad();
    CHECK_FALSE(a.grad().defined());
  }
  SUBCASE("a step bumps the version, so a graph that saved the old weights refuses to backpropagate") {
    tg::Tensor y = (a * a).sum();
    const auto v0 = a.version();
    a.backward(tg::tensor({1.0, 1.0}, f64));
    opt.step();
    CHECK(a.version() == v0 + 1);
    CHECK_THROWS_AS(y.backward(), tg::ValueError);
    tg::reset_tape();
  }
  SUBCASE("steps after the first allocate nothing") {
    tg::Tensor w = leaf({1.0, 2.0, 3.0});
    for (int kind = 0; kind < 5; ++kind) {
      std::unique_ptr<Optimizer> o;
      if (kind == 0) o = std::make_unique<SGD>(std::vector<tg::Tensor>{w}, SGDOptions{.lr = 0.1, .momentum = 0.9});
      if (kind == 1) o = std::make_unique<Adam>(std::vector<tg::Tensor>{w}, AdamOptions{.amsgrad = true});
      if (kind == 2) o = std::make_unique<AdamW>(std::vector<tg::Tensor>{w});
      if (kind == 3) o = std::make_unique<RMSprop>(std::vector<tg::Tensor>{w}, RMSpropOptions{.momentum = 0.5, .centered = true});
      if (kind == 4) o = std::make_unique<Adagrad>(std::vector<tg::Tensor>{w});
      const std::string name = o->name();
      INFO("optimizer " << name);  // before the count: doctest's first INFO allocates its context list
      w.backward(tg::tensor({0.1, 0.2, 0.3}, f64));
      o->step();
      const long before = g_news.load();
      o->step();
      o->step();
      CHECK(g_news.load() == before);
      o->zero_grad();
    }
  }
}

TEST_CASE("optimizers reach known minima") {
  SUBCASE("SGD with momentum on a quadratic bowl") {
    tg::Tensor x = leaf({0.0, 0.0});
    const tg::Tensor c = tg::tensor({3.0, -1.0}, f64);
    SGD opt({x}, {.lr = 0.05, .momentum = 0.9});
    for (int i = 0; i < 300; ++i) {
      opt.zero_grad();
      tg::square(x - c).sum().backward();
      opt.step();
      tg::reset_tape();
    }
    CHECK(x.at({0}) == doctest::Approx(3.0).epsilon(1e-6));
    CHECK(x.at({1}) == doctest::Approx(-1.0).epsilon(1e-6));
  }
  SUBCASE("Adam on the Rosenbrock function, minimum at (1, 1)") {
    tg::Tensor x = leaf({-1.5});
    tg::Tensor y = leaf({2.0});
    Adam opt({x, y}, {.lr = 0.02});
    for (int i = 0; i < 6000; ++i) {
      opt.zero_grad();
      (tg::square(1.0 - x) + 100.0 * tg::square(y - x * x)).sum().backward();
      opt.step();
      tg::reset_tape();
    }
    CHECK(x.item() == doctest::Approx(1.0).epsilon(1e-3));
    CHECK(y.item() == doctest::Approx(1.0).epsilon(1e-3));
  }
}
