// The per-thread default generator.
#include "tapegrad/random.hpp"

namespace tg {

Generator& default_generator() {
  thread_local Generator gen;
  return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

}  // namespace tg
