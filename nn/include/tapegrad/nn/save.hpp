// Saving and loading whole modules as safetensors files (the format PyTorch and Hugging Face tools read),
// and training checkpoints of module trees.
#pragma once

#include <filesystem>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/serialize.hpp"

namespace tg::nn {

/// Writes the module's state_dict (parameters and buffers, dotted names) to a safetensors file. The write
/// goes to a temporary file that is renamed into place, so a failure never leaves a half-written model.
void save(const Module& module, const std::filesystem::path& path, const Metadata& metadata = {});

/// Loads a safetensors file into the module's parameters and buffers in place (optimizers holding them
/// keep working). Names, shapes and dtypes are all checked first; missing or unexpected keys (with
/// strict) and mismatches are listed in one error, and nothing is changed when it is thrown. Returns the
/// file's metadata.
Metadata load(Module& module, const std::filesystem::path& path, bool strict = true);

/// Saves a training checkpoint of a module tree: as the NamedTensors save_checkpoint with
/// module.state_dict(), adding to extras.generators every generator a module of the tree owns (a seeded
/// Dropout), as "module.<path>" ("module" for the root). So that a run drawing random numbers resumes
/// exactly, pass the scheduler too: `save_checkpoint(path, net, opt, {}, {.scheduler = &sched})`.
void save_checkpoint(const std::filesystem::path& path, const Module& module, const Optimizer& optimizer,
                     const Metadata& metadata = {}, const CheckpointExtras& extras = {});

/// Restores a checkpoint written by the Module save_checkpoint into `module`, its own generators, the
/// optimizer and what extras names; the rules and errors are those of the NamedTensors load_checkpoint.
Metadata load_checkpoint(const std::filesystem::path& path, Module& module, Optimizer& optimizer,
                         const CheckpointExtras& extras = {});

}  // namespace tg::nn
