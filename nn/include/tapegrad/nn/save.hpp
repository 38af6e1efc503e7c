// Saving and loading whole modules as safetensors files (the format PyTorch and Hugging Face tools read).
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

}  // namespace tg::nn
