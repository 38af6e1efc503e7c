// tg::nn library anchor: the version string (modules, layers and losses live in their own files).
#include "tapegrad/nn/nn.hpp"

namespace tg::nn {

const char* version() { return "0.1.0"; }

}  // namespace tg::nn
