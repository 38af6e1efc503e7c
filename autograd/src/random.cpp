// The per-thread default generator, and the generator's state as plain words for checkpoints.
#include "tapegrad/random.hpp"

#include <bit>
#include <string>

#include "tapegrad/error.hpp"

namespace tg {

Generator::State Generator::state() const {
  // A spare left over from before a seed() is dead, so it reads as 0: equal futures give equal states.
  return {s_[0], s_[1], s_[2], s_[3], has_spare_ ? std::bit_cast<std::uint64_t>(spare_) : 0, has_spare_ ? 1u : 0u};
}

void Generator::set_state(const State& state) {
  auto refuse = [](const std::string& why) { throw ValueError("Generator::set_state: " + why); };
  // xoshiro's all-zero state is a fixed point that would return 0 forever; seed() can never reach it.
  if ((state[0] | state[1] | state[2] | state[3]) == 0) refuse("the four xoshiro words are all zero");
  if (state[5] > 1) refuse("word 5 (has a cached normal) must be 0 or 1, got " + std::to_string(state[5]));
  const double spare = std::bit_cast<double>(state[4]);
  if (state[5] == 0 && state[4] != 0) refuse("word 4 (cached normal) must be 0 when word 5 says none is cached");
  if (state[5] == 1 && !std::isfinite(spare)) refuse("word 4 (cached normal) is not a finite number");
  for (int i = 0; i < 4; ++i) s_[i] = state[static_cast<std::size_t>(i)];
  spare_ = state[5] == 1 ? spare : 0.0;
  has_spare_ = state[5] == 1;
}

Generator& default_generator() {
  thread_local Generator gen;
  return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

}  // namespace tg
