// tg::nn: the neural-network library built on the tape (modules, layers, losses, optimizers, data).
#pragma once

#include "tapegrad/tapegrad.hpp"

namespace tg::nn {

/// The library version, "major.minor.patch".
const char* version();

}  // namespace tg::nn
