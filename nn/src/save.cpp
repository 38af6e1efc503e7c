// Module save/load and checkpoints: the state dict (and the tree's own generators) through the
// safetensors tensor layer.
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

namespace {

CheckpointExtras with_module_generators(const Module& module, CheckpointExtras extras) {
  for (const auto& [path, gen] : module.named_generators()) {
    extras.generators.emplace_back(path.empty() ? "module" : "module." + path, gen);
  }
  return extras;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Module& module, const Optimizer& optimizer,
                     const Metadata& metadata, const CheckpointExtras& extras) {
  save_checkpoint(path, module.state_dict(), optimizer, metadata, with_module_generators(module, extras));
}

Metadata load_checkpoint(const std::filesystem::path& path, Module& module, Optimizer& optimizer,
                         const CheckpointExtras& extras) {
  return load_checkpoint(path, module.state_dict(), optimizer, with_module_generators(module, extras));
}

}  // namespace tg::nn
