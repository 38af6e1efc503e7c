// Module save/load: the state dict through the safetensors tensor layer.
#include "tapegrad/nn/save.hpp"

namespace tg::nn {

void save(const Module& module, const std::filesystem::path& path, const Metadata& metadata) {
  save_tensors(path, module.state_dict(), metadata);
}

Metadata load(Module& module, const std::filesystem::path& path, bool strict) {
  LoadedTensors loaded = load_tensors(path);
  module.load_state_dict(StateDict(std::move(loaded.tensors)), strict);
  return loaded.metadata;
}

}  // namespace tg::nn
