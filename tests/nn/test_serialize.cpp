// Tensor save/load (bit-exact round trips, strict loading, corrupt files), optimizer state dicts, and
// checkpoints: resumed training must end bit-identical to uninterrupted training.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tapegrad/nn/optim.hpp"
#include "tapegrad/nn/serialize.hpp"
#include "tapegrad/ops.hpp"

using namespace tg::nn;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("tg_serialize_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

// Same dtype, shape and bytes.
bool identical(const tg::Tensor& a, const tg::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const RawTensor ra = to_raw(a);
  const RawTensor rb = to_raw(b);
  return ra.data == rb.data;
}

const tg::Tensor* find(const NamedTensors& ts, const std::string& name) {
  for (const auto& [k, t] : ts) {
    if (k == name) return &t;
  }
  return nullptr;
}

NamedTensors sample() {
  tg::Generator gen(7);
  return {{"w32", tg::randn({3, 4}, {}, &gen)},
          {"w64", tg::randn({2, 2, 2}, {.dtype = tg::kFloat64}, &gen)},
          {"idx", tg::tensor(std::vector<std::int64_t>{-5, 0, 1LL << 40}, tg::Shape{3})},
          {"scalar", tg::scalar_tensor(0.1, {.dtype = tg::kFloat64})}};
}

}  // namespace

TEST_CASE("save_tensors / load_tensors round trip") {
  TempDir dir;
  const fs::path file = dir.path / "t.safetensors";
  SUBCASE("float32, float64, int64 and 0-d tensors come back bit for bit, with metadata") {
    const NamedTensors in = sample();
    save_tensors(file, in, {{"epoch", "3"}});
    const LoadedTensors out = load_tensors(file);
    CHECK(out.metadata.at("epoch") == "3");
    REQUIRE(out.tensors.size() == in.size());
    for (const auto& [name, t] : in) {
      INFO(name);
      const tg::Tensor* got = find(out.tensors, name);
      REQUIRE(got != nullptr);
      CHECK(identical(*got, t));
      CHECK_FALSE(got->requires_grad());
    }
  }
  SUBCASE("a non-contiguous view is stored in row-major order") {
    const tg::Tensor base = tg::arange(6.0, {.dtype = tg::kFloat64}).reshape({2, 3});
    const tg::Tensor view = base.t();
    REQUIRE_FALSE(view.is_contiguous());
    save_tensors(file, {{"v", view}});
    const tg::Tensor got = load_tensors(file).tensors.at(0).second;
    CHECK(got.shape() == tg::Shape{3, 2});
    CHECK(got.to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5});
  }
  SUBCASE("bad names and dtypes are refused") {
    const tg::Tensor t = tg::zeros({1});
    CHECK_THROWS_AS(save_tensors(file, {{"a", t}, {"a", t}}), tg::ValueError);
    CHECK_THROWS_AS(save_tensors(file, {{"", t}}), tg::ValueError);
    CHECK_THROWS_AS(save_tensors(file, {{"b", tg::gt(t, 0.0)}}), tg::DtypeError);
    CHECK_FALSE(fs::exists(file));
  }
}

TEST_CASE("load_into reports every problem and changes nothing") {
  tg::Tensor w = tg::zeros({2, 3});
  tg::Tensor b = tg::zeros({3}, {.dtype = tg::kFloat64});
  const NamedTensors target = {{"w", w}, {"b", b}};
  SUBCASE("a fitting source is copied in place") {
    const tg::Tensor src = tg::ones({2, 3});
    load_into(target, {{"w", src}, {"b", tg::full({3}, 2.0, {.dtype = tg::kFloat64})}});
    CHECK(w.to_vector<float>() == std::vector<float>(6, 1.0F));
    CHECK(b.to_vector<double>() == std::vector<double>(3, 2.0));
  }
  SUBCASE("missing, unexpected, shape and dtype mismatches") {
    const NamedTensors src = {{"w", tg::ones({3, 2})}, {"extra", tg::ones({1})}};
    try {
      load_into(target, src, "test");
      FAIL("no error");
    } catch (const StateDictError& e) {
      CHECK(e.missing() == std::vector<std::string>{"b"});
      CHECK(e.unexpected() == std::vector<std::string>{"extra"});
      REQUIRE(e.mismatched().size() == 1);
      CHECK(e.mismatched()[0].find("expected [2, 3] float32, got [3, 2] float32") != std::string::npos);
      const std::string msg = e.what();
      CHECK(msg.find("missing keys: b") != std::string::npos);
      CHECK(msg.find("unexpected keys: extra") != std::string::npos);
    }
    CHECK_THROWS_AS(load_into(target, {{"w", tg::ones({2, 3}, {.dtype = tg::kFloat64})}, {"b", b}}), StateDictError);
    CHECK(w.to_vector<float>() == std::vector<float>(6, 0.0F));
  }
}

TEST_CASE("corrupt and truncated files give errors") {
  TempDir dir;
  const fs::path file = dir.path / "t.safetensors";
  save_tensors(file, sample());
  const std::string good = read_text(file);
  SUBCASE("every truncation is an error") {
    for (std::size_t n = 0; n < good.size(); n += 7) {
      write_text(file, good.substr(0, n));
      CHECK_THROWS_AS(load_tensors(file), tg::Error);
    }
  }
  SUBCASE("flipped header bytes") {
    for (std::size_t i = 0; i < 64; ++i) {
      std::string bad = good;
      bad[8 + i] = static_cast<char>(bad[8 + i] ^ 0x5a);
      write_text(file, bad);
      try {
        load_tensors(file);
      } catch (const tg::Error&) {
      }
    }
  }
  SUBCASE("a missing file") { CHECK_THROWS_AS(load_tensors(dir.path / "none"), IoError); }
}

TEST_CASE("a failed save leaves the old file intact") {
  TempDir dir;
  const fs::path file = dir.path / "ckpt.safetensors";
  save_tensors(file, sample(), {{"v", "1"}});
  const std::string before = read_text(file);
  tg::Tensor big = tg::ones({1 << 17}, {.dtype = tg::kFloat64});
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  CHECK_THROWS_AS(save_tensors(file, {{"big", big}}), IoError);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  CHECK(read_text(file) == before);
  CHECK(load_tensors(file).metadata.at("v") == "1");
}

TEST_CASE("optimizer state dicts") {
  tg::Tensor w = tg::tensor({1.0, -2.0, 0.5}, {.dtype = tg::kFloat64});
  w.requires_grad_();
  Adam opt({w}, {.lr = 0.1, .amsgrad = true});
  w.backward(tg::tensor({0.1, 0.2, -0.3}, {.dtype = tg::kFloat64}));
  opt.step();
  const NamedTensors sd = opt.state_dict();
  SUBCASE("names follow the documented layout") {
    REQUIRE(find(sd, "group.0.lr") != nullptr);
    CHECK(find(sd, "group.0.lr")->item() == 0.1);
    CHECK(find(sd, "group.0.params")->to_vector<std::int64_t>() == std::vector<std::int64_t>{0});
    CHECK(find(sd, "state.0.step")->item() == 1.0);
    CHECK(find(sd, "state.0.exp_avg") != nullptr);
    CHECK(find(sd, "state.0.max_exp_avg_sq") != nullptr);
  }
  SUBCASE("a fresh optimizer restores options, steps and buffers exactly") {
    tg::Tensor w2 = w.detach().clone();
    w2.requires_grad_();
    Adam fresh({w2}, {.lr = 0.5, .amsgrad = true});
    fresh.load_state_dict(sd);
    CHECK(fresh.lr(0) == 0.1);
    CHECK(fresh.step_count(0) == 1);
    const NamedTensors again = fresh.state_dict();
    REQUIRE(again.size() == sd.size());
    for (std::size_t i = 0; i < sd.size(); ++i) {
      CHECK(again[i].first == sd[i].first);
      CHECK(identical(again[i].second, sd[i].second));
    }
  }
  SUBCASE("mismatches are listed and nothing changes") {
    tg::Tensor other = tg::zeros({4}, {.dtype = tg::kFloat64});
    other.requires_grad_();
    Adam wrong_shape({other}, {.amsgrad = true});
    try {
      wrong_shape.load_state_dict(sd);
      FAIL("no error");
    } catch (const StateDictError& e) {
      CHECK(e.mismatched().size() == 3);  // exp_avg, exp_avg_sq, max_exp_avg_sq
    }
    CHECK(wrong_shape.step_count(0) == 0);
    Adam no_amsgrad({w}, {});
    NamedTensors less = sd;
    less.erase(less.begin() + 1);  // group.0.beta1
    try {
      no_amsgrad.load_state_dict(less);
      FAIL("no error");
    } catch (const StateDictError& e) {
      CHECK(e.missing() == std::vector<std::string>{"group.0.beta1"});
    }
    SGD sgd({w}, {.lr = 0.1});
    CHECK_THROWS_AS(sgd.load_state_dict(sd), StateDictError);
  }
}

namespace {

// A small linear model y = x·W + b trained with Adam on fixed data; returns the loss.
struct Model {
  tg::Tensor W;
  tg::Tensor b;
  explicit Model(std::uint64_t seed) {
    tg::Generator gen(seed);
    W = tg::randn({3, 2}, {}, &gen);
    b = tg::randn({2}, {}, &gen);
    W.requires_grad_();
    b.requires_grad_();
  }
  NamedTensors named() const { return {{"W", W}, {"b", b}}; }
};

void train(Model& m, Adam& opt, int steps) {
  tg::Generator gen(99);
  const tg::Tensor x = tg::randn({8, 3}, {}, &gen);
  const tg::Tensor y = tg::randn({8, 2}, {}, &gen);
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    tg::square(tg::matmul(x, m.W) + m.b - y).mean().backward();
    opt.step();
    tg::reset_tape();
  }
}

}  // namespace

TEST_CASE("checkpoints") {
  TempDir dir;
  const fs::path file = dir.path / "ckpt.safetensors";
  SUBCASE("resumed training is bit-identical to uninterrupted training") {
    Model straight(1);
    Adam opt1({straight.W, straight.b}, {.lr = 0.05, .weight_decay = 0.01});
    train(straight, opt1, 10);

    Model first(1);
    Adam opt2({first.W, first.b}, {.lr = 0.05, .weight_decay = 0.01});
    train(first, opt2, 4);
    save_checkpoint(file, first.named(), opt2, {{"step", "4"}});

    Model resumed(12345);  // different initial values, all overwritten by the checkpoint
    Adam opt3({resumed.W, resumed.b}, {.lr = 1.0});
    const Metadata meta = load_checkpoint(file, resumed.named(), opt3);
    CHECK(meta.at("step") == "4");
    CHECK(meta.at("tapegrad.optimizer") == "Adam");
    train(resumed, opt3, 6);
    CHECK(identical(resumed.W, straight.W));
    CHECK(identical(resumed.b, straight.b));
    // The test can fail: training one step less gives different bits.
    Model short_run(1);
    Adam opt4({short_run.W, short_run.b}, {.lr = 0.05, .weight_decay = 0.01});
    train(short_run, opt4, 9);
    CHECK_FALSE(identical(short_run.W, straight.W));
  }
  SUBCASE("a checkpoint that does not fit is refused with every problem listed") {
    Model m(1);
    Adam opt({m.W, m.b}, {.lr = 0.05});
    train(m, opt, 1);
    save_checkpoint(file, m.named(), opt);
    Model other(2);
    tg::Tensor extra = tg::zeros({1});
    const NamedTensors target = {{"W", other.W}, {"bias", other.b}, {"extra", extra}};
    Adam opt2({other.W, other.b});
    const std::vector<float> w_before = other.W.to_vector<float>();
    try {
      load_checkpoint(file, target, opt2);
      FAIL("no error");
    } catch (const StateDictError& e) {
      CHECK(e.missing() == std::vector<std::string>{"model.bias", "model.extra"});
      CHECK(e.unexpected() == std::vector<std::string>{"model.b"});
    }
    CHECK(other.W.to_vector<float>() == w_before);
    CHECK(opt2.step_count(0) == 0);
    SGD sgd({other.W, other.b});
    try {
      load_checkpoint(file, other.named(), sgd);
      FAIL("no error");
    } catch (const StateDictError& e) {
      CHECK(std::string(e.what()).find("holds Adam state, the target is SGD") != std::string::npos);
    }
  }
  SUBCASE("a truncated checkpoint is an error, not a crash") {
    Model m(1);
    Adam opt({m.W, m.b});
    train(m, opt, 1);
    save_checkpoint(file, m.named(), opt);
    const std::string good = read_text(file);
    write_text(file, good.substr(0, good.size() - 5));
    CHECK_THROWS_AS(load_checkpoint(file, m.named(), opt), FormatError);
  }
}
