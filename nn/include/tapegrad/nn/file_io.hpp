// Whole-file reads and crash-safe whole-file writes, shared by the checkpoint and dataset readers.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace tg::nn {

/// Reads a whole file into memory. `who` (e.g. "load_safetensors") prefixes error messages.
/// Throws IoError when the file is missing, is not a regular file, or cannot be read.
std::vector<std::byte> read_file_bytes(const std::filesystem::path& path, std::string_view who);

/// Replaces `path` with `bytes` so that a failure at any point leaves the old file untouched: the bytes
/// go to a fresh temporary file in the same directory (so the rename stays within one file system),
/// which is written, fsynced and closed, then renamed over `path`; the directory is fsynced after.
/// On failure the temporary file is removed and IoError names `who`, the path and the system error.
void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes,
                       std::string_view who);

}  // namespace tg::nn
