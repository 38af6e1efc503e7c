// The IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed) and a loader for Fashion-MNIST.
//
// An IDX file is a 4-byte magic number 0x0000TTDD (TT the element type, 0x08 = unsigned byte; DD the
// number of dimensions), DD big-endian u32 sizes, then the elements in row-major order. Images are
// 0x00000803 ([n, rows, cols]) and labels 0x00000801 ([n]). Only unsigned-byte files are supported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "tapegrad/nn/io_error.hpp"

namespace tg::nn {

/// A decoded IDX array of unsigned bytes.
struct IdxArray {
  std::vector<std::int64_t> shape;  ///< the dimensions from the header, outermost first.
  std::vector<std::uint8_t> data;   ///< product(shape) elements, row-major.
};

/// A stack of greyscale images: `pixels` holds count * rows * cols bytes, image after image.
struct IdxImages {
  std::int64_t count = 0;            ///< number of images.
  std::int64_t rows = 0;             ///< image height.
  std::int64_t cols = 0;             ///< image width.
  std::vector<std::uint8_t> pixels;  ///< row-major pixels, 0 = background.
};

/// One split of an image-classification dataset: images and one label per image.
struct ImageDataset {
  IdxImages images;                  ///< the images.
  std::vector<std::uint8_t> labels;  ///< labels[i] is the class of image i.
};

/// Decodes an IDX byte image; `expected_ndim` > 0 also requires that many dimensions. `source` names
/// the input in error messages. Throws FormatError for a bad magic number, element type, dimension count
/// or a data size that does not match the header; never reads out of bounds.
IdxArray parse_idx(std::span<const std::byte> bytes, std::string_view source = "<memory>",
                   int expected_ndim = 0);

/// Reads a whole file, decompressing it when it is gzip (detected by content, not by name). Throws
/// IoError when it cannot be opened, FormatError for corrupt or truncated compressed data, and refuses
/// to inflate past 1 GiB (a decompression bomb).
std::vector<std::byte> read_maybe_gzip(const std::filesystem::path& path, std::string_view who);

/// Reads an IDX file (plain or .gz) of any dimension count.
IdxArray read_idx(const std::filesystem::path& path);
/// Reads an IDX image file (magic 0x00000803, [n, rows, cols]).
IdxImages read_idx_images(const std::filesystem::path& path);
/// Reads an IDX label file (magic 0x00000801, [n]).
std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path);

/// The Fashion-MNIST directory: $TG_FASHION_MNIST_DIR when set, else /usr/share/datasets/fashion-mnist.
/// Throws IoError naming the Debian package `dataset-fashion-mnist` when the four files are not there.
std::filesystem::path fashion_mnist_dir();

/// Loads the train (60000 images) or test (10000 images) split of Fashion-MNIST from `dir`, checking
/// that image and label counts agree and that every label is in 0..9.
ImageDataset load_fashion_mnist(const std::filesystem::path& dir, bool train);

/// The ten Fashion-MNIST class names, by label ("T-shirt/top", ..., "Ankle boot").
std::span<const std::string_view> fashion_mnist_classes();

}  // namespace tg::nn
