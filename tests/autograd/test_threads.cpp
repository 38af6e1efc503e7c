// Each thread records on its own tape: concurrent runs equal sequential ones bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace {

// A small nonlinear function of n inputs; returns the gradient.
std::vector<double> gradient_of_work(int seed) {
  std::vector<tg::Var> xs;
  for (int i = 0; i < 200; ++i) xs.emplace_back(std::sin(seed * 0.37 + i));
  tg::Var acc = tg::Var::constant(0.0);
  for (int r = 0; r < 50; ++r) {
    for (std::size_t i = 0; i + 1 < xs.size(); ++i) acc = acc + tg::tanh(xs[i] * xs[i + 1] + r * 0.01);
  }
  std::vector<double> g = tg::grad(acc, std::span<const tg::Var>(xs));
  tg::reset_tape();
  return g;
}

}  // namespace

TEST_CASE("threads differentiating independent functions get the sequential results") {
  std::vector<std::vector<double>> sequential;
  for (int s = 0; s < 4; ++s) sequential.push_back(gradient_of_work(s));
  std::vector<std::vector<double>> parallel(4);
  std::vector<std::thread> threads;
  for (int s = 0; s < 4; ++s) threads.emplace_back([&, s] { parallel[s] = gradient_of_work(s); });
  for (auto& t : threads) t.join();
  for (int s = 0; s < 4; ++s) CHECK(parallel[s] == sequential[s]);
}

TEST_CASE("a Var from another thread's tape is refused") {
  tg::ScopedTape scope;
  tg::Var x(1.0);
  bool threw = false;
  std::thread t([&] {
    try {
      tg::Var y = x * 2.0;
      (void)y;
    } catch (const tg::TapeError& e) {
      threw = std::string(e.what()).find("a tape of another thread") != std::string::npos;
    }
  });
  t.join();
  CHECK(threw);
}
