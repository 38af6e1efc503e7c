// The safetensors file format (Hugging Face): named raw tensors plus string metadata, read and written
// without any tensor type, so that checkpoints can be stored and validated independently of tg::Tensor.
//
// Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header (starting with '{', possibly padded
// with trailing spaces), then the data buffer. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} with offsets relative to the data buffer; the optional
// "__metadata__" key holds a string-to-string map. The buffer must be covered exactly by the tensors'
// ranges: no holes, no overlaps, no trailing bytes.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tapegrad/error.hpp"
#include "tapegrad/nn/io_error.hpp"

namespace tg::nn {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping");

/// One tensor as stored in a file: dtype name ("F32", "I64", ...), shape and raw little-endian bytes.
struct RawTensor {
  std::string dtype;               ///< safetensors dtype name, e.g. "F32", "F64", "I64", "U8".
  std::vector<std::int64_t> shape; ///< dimensions, outermost first (row-major); empty for a scalar.
  std::vector<std::byte> data;     ///< numel * dtype_size bytes.

  /// Two raw tensors are equal when dtype, shape and bytes all match.
  friend bool operator==(const RawTensor&, const RawTensor&) = default;
};

/// Named tensors in name order (the order of the file's data may differ).
using TensorMap = std::map<std::string, RawTensor>;
/// Free-form string metadata stored under "__metadata__".
using Metadata = std::map<std::string, std::string>;

/// Everything a safetensors file holds.
struct SafetensorsContent {
  TensorMap tensors;  ///< the tensors by name.
  Metadata metadata;  ///< the "__metadata__" map (empty when the file has none).
};

/// Size in bytes of one element of a safetensors dtype; throws tg::DtypeError for unknown names.
std::size_t dtype_size(std::string_view dtype);
/// True when `dtype` is one of the dtypes this reader understands (BOOL, U8..U64, I8..I64, F16, BF16,
/// F32, F64, F8_E4M3, F8_E5M2).
bool is_known_dtype(std::string_view dtype);
/// Number of elements of `shape`; throws tg::ShapeError on negative dims or overflow past 2^63.
std::int64_t shape_numel(std::span<const std::int64_t> shape);

/// Encodes tensors and metadata as a complete safetensors byte image (header padded to 8 bytes, data
/// ordered by decreasing element size then name so each tensor is aligned to its element size).
/// Throws tg::ValueError / tg::DtypeError / tg::ShapeError for invalid names, dtypes or data sizes.
std::vector<std::byte> serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {});

/// Decodes and validates a safetensors byte image; `source` names it in error messages (a file name).
/// Throws FormatError (structure, JSON, offsets), tg::DtypeError (unknown dtype), tg::ShapeError (bad
/// shape); never reads out of bounds whatever the input.
SafetensorsContent parse_safetensors(std::span<const std::byte> bytes,
                                     std::string_view source = "<memory>");

/// Writes a safetensors file atomically: the bytes go to a temporary file in the same directory, which
/// is flushed, fsynced and renamed over `path`. On any failure `path` keeps its previous content and the
/// temporary file is removed. Throws IoError for file-system failures, or the errors of
/// serialize_safetensors before anything is written.
void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                      const Metadata& metadata = {});

/// Reads and validates a safetensors file. Throws IoError when it cannot be read, else the errors of
/// parse_safetensors with the file name in the message.
SafetensorsContent load_safetensors(const std::filesystem::path& path);

namespace detail {
template <class T>
constexpr std::string_view dtype_of() {
  if constexpr (std::is_same_v<T, float>) return "F32";
  else if constexpr (std::is_same_v<T, double>) return "F64";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "I64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "I32";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "U8";
  else static_assert(sizeof(T) == 0, "no safetensors dtype for this element type");
}
}  // namespace detail

/// Builds a RawTensor of element type T (float, double, int64, int32, uint8) from values in row-major
/// order; throws tg::ShapeError when the number of values does not match the shape.
template <class T>
RawTensor make_raw_tensor(std::vector<std::int64_t> shape, std::span<const T> values) {
  const std::int64_t n = shape_numel(shape);
  if (static_cast<std::size_t>(n) != values.size()) {
    throw ShapeError("make_raw_tensor: shape " + shape_str(shape) + " needs " + std::to_string(n) +
                     " values, got " + std::to_string(values.size()));
  }
  RawTensor t{std::string(detail::dtype_of<T>()), std::move(shape), {}};
  t.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

/// Copies the elements of `t` out as T; throws tg::DtypeError when t.dtype is not T's dtype.
template <class T>
std::vector<T> raw_tensor_values(const RawTensor& t) {
  if (t.dtype != detail::dtype_of<T>()) {
    throw DtypeError("raw_tensor_values: tensor has dtype " + t.dtype + ", requested " +
                     std::string(detail::dtype_of<T>()));
  }
  if (t.data.size() % sizeof(T) != 0) {
    throw ShapeError("raw_tensor_values: " + std::to_string(t.data.size()) +
                     " bytes is not a whole number of " + t.dtype + " elements");
  }
  std::vector<T> out(t.data.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

}  // namespace tg::nn
