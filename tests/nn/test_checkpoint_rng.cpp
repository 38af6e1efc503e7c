// Generator state and checkpoints that carry it: a run drawing random numbers (Dropout from the default
// generator and from its own seeded one) with a StepLR schedule must resume bit for bit, and every
// generator or scheduler entry of a checkpoint is validated like the model and optimizer entries.
#include <doctest/doctest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("tapegrad_test_checkpoint_rng_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// A net that draws from both kinds of generator: the first Dropout from the default generator, the
// second from its own (seeded) one.
nn::Sequential make_net() {
  return nn::Sequential(nn::Linear(4, 8), nn::Tanh(), nn::Dropout(0.5), nn::Linear(8, 8), nn::Tanh(),
                        nn::Dropout({.p = 0.5, .seed = 17}), nn::Linear(8, 1));
}

// The same net with both Dropouts on the default generator (the same state_dict as make_net()).
nn::Sequential make_net_without_own_generator() {
  return nn::Sequential(nn::Linear(4, 8), nn::Tanh(), nn::Dropout(0.5), nn::Linear(8, 8), nn::Tanh(),
                        nn::Dropout(0.5), nn::Linear(8, 1));
}

struct Run {
  nn::Sequential net = make_net();
  nn::SGD opt{net.parameters(), {.lr = 0.1, .momentum = 0.9}};
  nn::StepLR sched{opt, {.step_size = 3, .gamma = 0.5}};
};

const tg::Tensor& batch_x() {
  static const tg::Tensor x = [] {
    tg::Generator gen(5);
    return tg::randn({16, 4}, {}, &gen);
  }();
  return x;
}

const tg::Tensor& batch_y() {
  static const tg::Tensor y = [] {
    tg::Generator gen(6);
    return tg::randn({16, 1}, {}, &gen);
  }();
  return y;
}

// One training step (forward with fresh dropout masks, SGD step, scheduler step); returns the loss.
double step(Run& r) {
  tg::ScopedTape tape;
  tg::Tensor loss = nn::functional::mse_loss(r.net.forward(batch_x()), batch_y());
  r.opt.zero_grad();
  loss.backward();
  r.opt.step();
  r.sched.step();
  return loss.item();
}

std::vector<std::vector<float>> params_of(const nn::Module& m) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(t.to_vector<float>());
  return out;
}

// Rewrites one tensor of a saved file, keeping everything else (as corruption or an old writer would).
void rewrite_entry(const fs::path& from, const fs::path& to, const std::string& name, const tg::Tensor& value) {
  nn::LoadedTensors file = nn::load_tensors(from);
  for (auto& [key, t] : file.tensors) {
    if (key == name) t = value;
  }
  nn::save_tensors(to, file.tensors, file.metadata);
}

// Leaves out every tensor whose name starts with `prefix`.
void drop_entries(const fs::path& from, const fs::path& to, const std::string& prefix) {
  nn::LoadedTensors file = nn::load_tensors(from);
  nn::NamedTensors kept;
  for (auto& [key, t] : file.tensors) {
    if (!key.starts_with(prefix)) kept.emplace_back(key, t);
  }
  nn::save_tensors(to, kept, file.metadata);
}

tg::Tensor words(const std::vector<std::int64_t>& w) {
  return tg::tensor(w, tg::Shape{static_cast<std::int64_t>(w.size())});
}

}  // namespace

TEST_CASE("Generator state continues the stream exactly") {
  SUBCASE("a seed's state is the four splitmix64 outputs of the seed") {
    // The published splitmix64 sequence from 0 (Vigna's reference code).
    const tg::Generator::State s = tg::Generator(0).state();
    CHECK(s[0] == 0xe220a8397b1dcdafull);
    CHECK(s[1] == 0x6e789e6aa1b965f4ull);
    CHECK(s[2] == 0x06c45d188009454full);
    CHECK(s[3] == 0xf88bb8a8724c81ecull);
    CHECK(s[4] == 0);
    CHECK(s[5] == 0);
  }
  SUBCASE("restoring a state mid-stream repeats every later draw, cached normal included") {
    tg::Generator g(42);
    for (int i = 0; i < 3; ++i) g.next_u64();
    const double first_normal = g.normal();  // leaves the pair's second normal cached
    const tg::Generator::State saved = g.state();
    CHECK(saved[5] == 1);
    CHECK(std::bit_cast<double>(saved[4]) != first_normal);
    std::vector<double> expected;
    for (int i = 0; i < 5; ++i) expected.push_back(g.normal());
    for (int i = 0; i < 5; ++i) expected.push_back(static_cast<double>(g.next_u64() >> 11));

    tg::Generator h(7);
    h.set_state(saved);
    CHECK(h.state() == saved);
    std::vector<double> got;
    for (int i = 0; i < 5; ++i) got.push_back(h.normal());
    for (int i = 0; i < 5; ++i) got.push_back(static_cast<double>(h.next_u64() >> 11));
    CHECK(got == expected);
  }
  SUBCASE("a spare left from before a reseed does not show in the state") {
    tg::Generator g(1);
    g.normal();
    g.seed(5);
    CHECK(g.state() == tg::Generator(5).state());
  }
  SUBCASE("set_state refuses values state() cannot return and keeps the old state") {
    tg::Generator g(3);
    const tg::Generator::State before = g.state();
    const std::uint64_t nan_bits = std::bit_cast<std::uint64_t>(std::numeric_limits<double>::quiet_NaN());
    CHECK_THROWS_WITH_AS(g.set_state({0, 0, 0, 0, 0, 0}),
                         "Generator::set_state: the four xoshiro words are all zero", tg::ValueError);
    CHECK_THROWS_WITH_AS(g.set_state({1, 2, 3, 4, 0, 2}),
                         "Generator::set_state: word 5 (has a cached normal) must be 0 or 1, got 2", tg::ValueError);
    CHECK_THROWS_WITH_AS(g.set_state({1, 2, 3, 4, 9, 0}),
                         "Generator::set_state: word 4 (cached normal) must be 0 when word 5 says none is cached",
                         tg::ValueError);
    CHECK_THROWS_WITH_AS(g.set_state({1, 2, 3, 4, nan_bits, 1}),
                         "Generator::set_state: word 4 (cached normal) is not a finite number", tg::ValueError);
    CHECK(g.state() == before);
  }
}

TEST_CASE("Module named_generators lists the generators modules own") {
  nn::Sequential net = make_net();
  const auto gens = net.named_generators();
  REQUIRE(gens.size() == 1);
  CHECK(gens[0].first == "5");
  CHECK(gens[0].second->state() == tg::Generator(17).state());
  CHECK(make_net_without_own_generator().named_generators().empty());
}

TEST_CASE("a run with Dropout and StepLR resumes bit for bit from a checkpoint") {
  tg::manual_seed(3);
  Run straight;
  std::vector<double> straight_losses;
  for (int s = 0; s < 10; ++s) straight_losses.push_back(step(straight));

  tg::manual_seed(3);
  Run first;
  std::vector<double> losses;
  for (int s = 0; s < 4; ++s) losses.push_back(step(first));
  const fs::path path = scratch("dropout_steplr.safetensors");
  nn::save_checkpoint(path, first.net, first.opt, {{"step", "4"}}, {.scheduler = &first.sched});
  // A new process: another seed and fresh objects, whose lr, schedule and generators all differ.
  tg::manual_seed(99);
  Run resumed;
  const auto meta = nn::load_checkpoint(path, resumed.net, resumed.opt, {.scheduler = &resumed.sched});
  CHECK(meta.at("step") == "4");
  CHECK(resumed.sched.last_epoch() == 4);
  CHECK(resumed.opt.lr(0) == first.opt.lr(0));
  for (int s = 4; s < 10; ++s) losses.push_back(step(resumed));

  CHECK(losses == straight_losses);
  CHECK(params_of(resumed.net) == params_of(straight.net));
  CHECK(resumed.sched.last_epoch() == 10);
  CHECK(resumed.opt.lr(0) == straight.opt.lr(0));

  SUBCASE("without the generator state the same resume differs (the test can fail)") {
    tg::manual_seed(3);
    Run again;
    for (int s = 0; s < 4; ++s) step(again);
    nn::save_checkpoint(path, again.net.state_dict(), again.opt, {},
                        {.scheduler = &again.sched, .default_generator = false});
    tg::manual_seed(99);
    Run blind;
    nn::load_checkpoint(path, blind.net.state_dict(), blind.opt,
                        {.scheduler = &blind.sched, .default_generator = false});
    std::vector<double> blind_losses(straight_losses.begin(), straight_losses.begin() + 4);
    for (int s = 4; s < 10; ++s) blind_losses.push_back(step(blind));
    CHECK(blind_losses != straight_losses);
    CHECK(params_of(blind.net) != params_of(straight.net));
  }
}

TEST_CASE("a ReduceLROnPlateau travels in a checkpoint") {
  nn::Linear lin(2, 1);
  nn::SGD opt(lin.parameters(), {.lr = 0.1});
  nn::ReduceLROnPlateau plateau(opt, {.patience = 5});
  for (double metric : {3.0, 2.0, 2.5, 2.5}) plateau.step(metric);
  const fs::path path = scratch("plateau.safetensors");
  nn::save_checkpoint(path, lin, opt, {}, {.plateau = &plateau});
  nn::Linear lin2(2, 1);
  nn::SGD opt2(lin2.parameters(), {.lr = 0.1});
  nn::ReduceLROnPlateau plateau2(opt2, {.patience = 5});
  nn::load_checkpoint(path, lin2, opt2, {.plateau = &plateau2});
  CHECK(plateau2.best() == 2.0);
  CHECK(plateau2.num_bad_epochs() == 2);
  CHECK(plateau2.last_epoch() == 4);
}

TEST_CASE("checkpoint generator and scheduler entries are validated") {
  tg::manual_seed(3);
  Run saved;
  step(saved);
  const fs::path good = scratch("good.safetensors");
  const fs::path bad = scratch("bad.safetensors");
  nn::save_checkpoint(good, saved.net, saved.opt, {}, {.scheduler = &saved.sched});

  tg::manual_seed(8);
  Run target;
  const auto params_before = params_of(target.net);
  const tg::Generator::State default_before = tg::default_generator().state();
  const tg::Generator::State own_before = target.net.named_generators().at(0).second->state();
  // Nothing may change when a load is refused.
  auto unchanged = [&] {
    CHECK(params_of(target.net) == params_before);
    CHECK(tg::default_generator().state() == default_before);
    CHECK(target.net.named_generators().at(0).second->state() == own_before);
    CHECK(target.opt.step_count(0) == 0);
    CHECK(target.sched.last_epoch() == 0);
  };
  auto refused = [&](const fs::path& file, const nn::CheckpointExtras& extras) -> std::string {
    try {
      nn::load_checkpoint(file, target.net, target.opt, extras);
    } catch (const nn::StateDictError& e) {
      unchanged();
      return e.what();
    }
    FAIL("no error");
    return "";
  };
  const std::string who = "load_checkpoint: " + bad.string() + ": the state dict does not fit; ";

  SUBCASE("a corrupt generator state") {
    rewrite_entry(good, bad, "rng.default", words({0, 0, 0, 0, 0, 0}));
    CHECK(refused(bad, {.scheduler = &target.sched}) ==
          who + "mismatched: rng.default: Generator::set_state: the four xoshiro words are all zero");
    rewrite_entry(good, bad, "rng.module.5", words({1, 2, 3, 4, 0, 7}));
    CHECK(refused(bad, {.scheduler = &target.sched}) ==
          who + "mismatched: rng.module.5: Generator::set_state: word 5 (has a cached normal) must be 0 or 1, got 7");
  }
  SUBCASE("a generator state of the wrong shape or dtype") {
    rewrite_entry(good, bad, "rng.default", words({1, 2, 3, 4, 0}));
    CHECK(refused(bad, {.scheduler = &target.sched}) ==
          who + "mismatched: rng.default: expected [6] int64, got [5] int64");
    rewrite_entry(good, bad, "rng.default", tg::ones({6}, {.dtype = tg::kFloat64}));
    CHECK(refused(bad, {.scheduler = &target.sched}) ==
          who + "mismatched: rng.default: expected [6] int64, got [6] float64");
  }
  SUBCASE("generators missing from the file or unknown to the target") {
    // The same weights, but the target's second Dropout draws from its own generator the file lacks.
    nn::Sequential plain = make_net_without_own_generator();
    tg::default_generator().set_state(default_before);  // undo the draws of plain's initialisation
    nn::SGD plain_opt(plain.parameters(), {.lr = 0.1, .momentum = 0.9});
    nn::save_checkpoint(bad, plain, plain_opt);
    CHECK(refused(bad, {}) == who + "missing keys: rng.module.5");
    CHECK_THROWS_WITH(nn::load_checkpoint(good, plain, plain_opt, {.scheduler = nullptr}),
                      doctest::Contains("unexpected keys: sched.base_lrs, sched.last_epoch, sched.last_lr, "
                                        "rng.module.5"));
    // Without the default generator in the file either (an explicit choice at save time).
    nn::save_checkpoint(bad, saved.net, saved.opt, {}, {.scheduler = &saved.sched, .default_generator = false});
    CHECK(refused(bad, {.scheduler = &target.sched}) == who + "missing keys: rng.default");
  }
  SUBCASE("a scheduler asked for but not saved, or saved but not asked for") {
    drop_entries(good, bad, "sched.");
    CHECK(refused(bad, {.scheduler = &target.sched}) ==
          who + "missing keys: sched.last_epoch, sched.base_lrs, sched.last_lr");
    CHECK_THROWS_WITH(nn::load_checkpoint(good, target.net, target.opt),
                      doctest::Contains("unexpected keys: sched.base_lrs, sched.last_epoch, sched.last_lr"));
    unchanged();
    rewrite_entry(good, bad, "sched.last_epoch", tg::scalar_tensor(-2.0, {.dtype = tg::kInt64}));
    CHECK(refused(bad, {.scheduler = &target.sched}) == who + "mismatched: sched.last_epoch: must be >= 0");
  }
  SUBCASE("a checkpoint from before generator state loads and leaves every generator alone") {
    drop_entries(good, bad, "rng.");
    nn::load_checkpoint(bad, target.net, target.opt, {.scheduler = &target.sched});
    CHECK(params_of(target.net) == params_of(saved.net));
    CHECK(target.sched.last_epoch() == 1);
    CHECK(tg::default_generator().state() == default_before);
    CHECK(target.net.named_generators().at(0).second->state() == own_before);
  }
  SUBCASE("bad generator names are refused before the file is touched") {
    tg::Generator extra(1);
    CHECK_THROWS_WITH_AS(nn::save_checkpoint(bad, saved.net, saved.opt, {}, {.generators = {{"default", &extra}}}),
                         doctest::Contains("the generator name \"default\" is taken by the default generator"),
                         tg::ValueError);
    CHECK_THROWS_WITH_AS(nn::save_checkpoint(bad, saved.net, saved.opt, {}, {.generators = {{"", &extra}}}),
                         "save_checkpoint: a generator has an empty name", tg::ValueError);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(good, target.net, target.opt, {.generators = {{"x", nullptr}}}),
                         "load_checkpoint: generator \"x\" is a null pointer", tg::ValueError);
    CHECK_THROWS_WITH_AS(
        nn::save_checkpoint(bad, saved.net, saved.opt, {}, {.generators = {{"module.5", &extra}}}),
        "save_checkpoint: the generator name \"module.5\" appears twice", tg::ValueError);
    unchanged();
  }
}
