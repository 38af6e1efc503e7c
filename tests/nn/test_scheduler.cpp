// Learning-rate schedulers against lr sequences worked out by hand from PyTorch's formulas.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "tapegrad/nn/optim.hpp"
#include "tapegrad/nn/scheduler.hpp"

using namespace tg::nn;
using Vec = std::vector<double>;

namespace {

tg::Tensor leaf() {
  tg::Tensor t = tg::zeros({2}, {.dtype = tg::kFloat64});
  t.requires_grad_();
  return t;
}

// lr of group g after construction and after each of `steps` further steps.
Vec lrs(LRScheduler& s, const Optimizer& opt, int steps, std::size_t g = 0) {
  Vec out{opt.lr(g)};
  for (int i = 0; i < steps; ++i) {
    s.step();
    out.push_back(opt.lr(g));
  }
  return out;
}

void check_seq(const Vec& got, const Vec& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("epoch " << i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("epoch schedules") {
  tg::Tensor a = leaf();
  tg::Tensor b = leaf();
  SGD opt({ParamGroup<SGDOptions>{{a}, {.lr = 0.1}}, ParamGroup<SGDOptions>{{b}, {.lr = 1.0}}});
  SUBCASE("StepLR halves every 3 epochs, each group from its own base") {
    StepLR s(opt, {.step_size = 3, .gamma = 0.5});
    const Vec g0 = lrs(s, opt, 7);
    check_seq(g0, {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025});
    CHECK(opt.lr(1) == doctest::Approx(0.25));
    CHECK(s.last_epoch() == 7);
    CHECK_THROWS_AS(StepLR(opt, {.step_size = 0}), tg::ValueError);
  }
  SUBCASE("ExponentialLR") {
    ExponentialLR s(opt, 0.9);
    check_seq(lrs(s, opt, 3), {0.1, 0.09, 0.081, 0.0729});
  }
  SUBCASE("CosineAnnealingLR follows the closed form and rises again past t_max") {
    CosineAnnealingLR s(opt, {.t_max = 4, .eta_min = 0.01});
    // 0.01 + 0.09·(1 + cos(πe/4))/2 with cos(π/4) = 0.7071067811865476.
    check_seq(lrs(s, opt, 5), {0.1, 0.08681980515339464, 0.055, 0.023180194846605362, 0.01, 0.023180194846605362});
    s.set_epoch(2);
    CHECK(opt.lr(0) == doctest::Approx(0.055));
    CHECK(opt.lr(1) == doctest::Approx(0.01 + 0.99 * 0.5));
  }
}

TEST_CASE("ReduceLROnPlateau") {
  tg::Tensor a = leaf();
  SGD opt({a}, {.lr = 0.1});
  SUBCASE("min mode, relative threshold, patience, cooldown and min_lr") {
    ReduceLROnPlateau s(opt, {.factor = 0.5, .patience = 2, .threshold = 0.1, .cooldown = 1, .min_lr = 0.02});
    const Vec metrics = {1.0, 0.95, 0.92, 0.91, 0.99, 0.95, 0.93, 0.95, 0.5, 0.46, 0.46, 0.46, 0.46, 0.46, 0.46, 0.46};
    // Traced by hand: a metric counts as better only below 0.9·best.
    const Vec want = {0.1,   0.1,   0.1,   0.05, 0.05, 0.05, 0.05, 0.025,
                      0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02};
    Vec got;
    for (double m : metrics) {
      s.step(m);
      got.push_back(opt.lr(0));
    }
    check_seq(got, want);
    CHECK(s.best() == 0.5);
  }
  SUBCASE("max mode, absolute threshold, no patience") {
    SGD opt2({leaf()}, {.lr = 1.0});
    ReduceLROnPlateau s(opt2, {.mode = ReduceLROnPlateauOptions::Mode::Max, .patience = 0, .threshold = 0.5,
                               .threshold_mode = ReduceLROnPlateauOptions::ThresholdMode::Abs});
    Vec got;
    for (double m : {1.0, 1.4, 2.0, 2.0}) {
      s.step(m);
      got.push_back(opt2.lr(0));
    }
    check_seq(got, {1.0, 0.1, 0.1, 0.01});
    CHECK(s.best() == 2.0);
  }
  SUBCASE("bad options") {
    CHECK_THROWS_AS(ReduceLROnPlateau(opt, {.factor = 1.0}), tg::ValueError);
    CHECK_THROWS_AS(ReduceLROnPlateau(opt, {.patience = -1}), tg::ValueError);
  }
}

TEST_CASE("scheduler state dicts resume the schedule") {
  tg::Tensor a = leaf();
  SUBCASE("StepLR") {
    SGD opt({a}, {.lr = 0.1});
    StepLR s(opt, {.step_size = 2, .gamma = 0.5});
    s.step();
    s.step();
    s.step();
    const NamedTensors sd = s.state_dict();
    SGD opt2({leaf()}, {.lr = 0.1});
    StepLR s2(opt2, {.step_size = 2, .gamma = 0.5});
    s2.load_state_dict(sd);
    CHECK(s2.last_epoch() == 3);
    s.step();
    s2.step();
    CHECK(opt2.lr(0) == opt.lr(0));
    CHECK(opt2.lr(0) == doctest::Approx(0.025));
    CHECK_THROWS_AS(s2.load_state_dict({}), StateDictError);
  }
  SUBCASE("ReduceLROnPlateau") {
    SGD opt({a}, {.lr = 0.1});
    ReduceLROnPlateau s(opt, {.patience = 1});
    s.step(1.0);
    s.step(2.0);
    ReduceLROnPlateau s2(opt, {.patience = 1});
    s2.load_state_dict(s.state_dict());
    CHECK(s2.best() == 1.0);
    CHECK(s2.num_bad_epochs() == 1);
    s2.step(2.0);
    CHECK(opt.lr(0) == doctest::Approx(0.01));
  }
}
