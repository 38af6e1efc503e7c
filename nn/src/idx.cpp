// IDX decoding and gzip reading through zlib. Header values are untrusted: sizes are multiplied with
// overflow checks and compared with the bytes actually present before anything is copied.
#include "tapegrad/nn/idx.hpp"

#include <zlib.h>

#include <array>
#include <cstdlib>
#include <string>
#include <system_error>

namespace tg::nn {

namespace {

constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr std::size_t kMaxInflated = std::size_t{1} << 30;
constexpr std::size_t kChunk = std::size_t{1} << 20;
constexpr const char* kDefaultFashionDir = "/usr/share/datasets/fashion-mnist";

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw FormatError("idx: " + std::string(source) + ": " + what);
}

std::string hex_byte(std::uint8_t b) {
  constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "0x";
  out.push_back(digits[b >> 4]);
  out.push_back(digits[b & 0xF]);
  return out;
}

std::string type_name(std::uint8_t t) {
  switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

std::uint32_t read_be32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint32_t>(p[i]);
  return v;
}

// Closes the gzFile on every path out of read_maybe_gzip.
struct GzCloser {
  gzFile file;
  ~GzCloser() { gzclose(file); }
};

std::string gz_message(gzFile f) {
  int code = Z_OK;
  const char* msg = gzerror(f, &code);
  return msg != nullptr ? msg : "unknown zlib error";
}

const std::array<std::string_view, 4>& fashion_files() {
  static const std::array<std::string_view, 4> files{
      "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
      "t10k-labels-idx1-ubyte.gz"};
  return files;
}

}  // namespace

IdxArray parse_idx(std::span<const std::byte> bytes, std::string_view source, int expected_ndim) {
  if (bytes.size() < 4) {
    fail(source, "file is " + std::to_string(bytes.size()) + " bytes, too short for the 4-byte magic number");
  }
  const auto b0 = static_cast<std::uint8_t>(bytes[0]);
  const auto b1 = static_cast<std::uint8_t>(bytes[1]);
  const auto type = static_cast<std::uint8_t>(bytes[2]);
  const int ndim = static_cast<std::uint8_t>(bytes[3]);
  if (b0 != 0 || b1 != 0) {
    fail(source, "bad magic number: the first two bytes must be 0, got " + hex_byte(b0) + " " + hex_byte(b1) +
                     " (not an IDX file, or still compressed?)");
  }
  if (type != kUnsignedByte) {
    fail(source, "element type " + hex_byte(type) + " (" + type_name(type) +
                     ") is not supported; only unsigned byte (0x08) is");
  }
  if (ndim == 0) fail(source, "the header declares 0 dimensions");
  if (expected_ndim > 0 && ndim != expected_ndim) {
    fail(source, "expected " + std::to_string(expected_ndim) + " dimensions (magic 0x0000080" +
                     std::to_string(expected_ndim) + "), the header declares " + std::to_string(ndim));
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndim);
  if (bytes.size() < header) {
    fail(source, "file is " + std::to_string(bytes.size()) + " bytes, too short for the " + std::to_string(ndim) +
                     " dimension sizes (" + std::to_string(header) + " header bytes)");
  }
  IdxArray out;
  std::uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const std::uint32_t size = read_be32(bytes.data() + 4 + 4 * d);
    out.shape.push_back(size);
    if (__builtin_mul_overflow(total, std::uint64_t{size}, &total)) total = UINT64_MAX;
  }
  const std::uint64_t have = bytes.size() - header;
  if (have != total) {
    fail(source, "shape " + shape_str(out.shape) + " needs " +
                     (total == UINT64_MAX ? std::string("more than 2^64") : std::to_string(total)) +
                     " data bytes, the file has " + std::to_string(have) +
                     (have < total ? " (truncated)" : " (trailing bytes)"));
  }
  out.data.resize(total);
  for (std::size_t i = 0; i < out.data.size(); ++i) out.data[i] = static_cast<std::uint8_t>(bytes[header + i]);
  return out;
}

std::vector<std::byte> read_maybe_gzip(const std::filesystem::path& path, std::string_view who) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw IoError(std::string(who) + ": cannot open '" + path.string() + "': no such file");
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw IoError(std::string(who) + ": '" + path.string() + "' is not a regular file");
  }
  // gzopen reads plain files through unchanged, so one code path serves .gz and uncompressed files.
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw IoError(std::string(who) + ": cannot open '" + path.string() + "'");
  const GzCloser closer{file};
  std::vector<std::byte> out;
  while (true) {
    const std::size_t old = out.size();
    if (old >= kMaxInflated) {
      throw FormatError(std::string(who) + ": '" + path.string() + "' inflates past 1 GiB; refusing to read it");
    }
    out.resize(old + kChunk);
    const int got = gzread(file, out.data() + old, static_cast<unsigned>(kChunk));
    if (got < 0) {
      throw FormatError(std::string(who) + ": '" + path.string() + "' is corrupt: " + gz_message(file));
    }
    out.resize(old + static_cast<std::size_t>(got));
    if (got == 0) break;
  }
  int code = Z_OK;
  gzerror(file, &code);
  if (code != Z_OK) {
    throw FormatError(std::string(who) + ": '" + path.string() + "' is corrupt or truncated: " + gz_message(file));
  }
  return out;
}

IdxArray read_idx(const std::filesystem::path& path) {
  return parse_idx(read_maybe_gzip(path, "read_idx"), path.string());
}

IdxImages read_idx_images(const std::filesystem::path& path) {
  IdxArray a = parse_idx(read_maybe_gzip(path, "read_idx_images"), path.string(), 3);
  return IdxImages{a.shape[0], a.shape[1], a.shape[2], std::move(a.data)};
}

std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path) {
  return parse_idx(read_maybe_gzip(path, "read_idx_labels"), path.string(), 1).data;
}

std::filesystem::path fashion_mnist_dir() {
  const char* env = std::getenv("TG_FASHION_MNIST_DIR");
  const std::filesystem::path dir = (env != nullptr && *env != '\0') ? env : kDefaultFashionDir;
  for (const std::string_view name : fashion_files()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dir / name, ec)) {
      throw IoError("fashion_mnist_dir: Fashion-MNIST not found: '" + (dir / name).string() +
                    "' is missing. Install the Debian package dataset-fashion-mnist "
                    "(apt-get install dataset-fashion-mnist) or set TG_FASHION_MNIST_DIR");
    }
  }
  return dir;
}

ImageDataset load_fashion_mnist(const std::filesystem::path& dir, bool train) {
  const auto& files = fashion_files();
  ImageDataset out;
  out.images = read_idx_images(dir / files[train ? 0 : 2]);
  out.labels = read_idx_labels(dir / files[train ? 1 : 3]);
  const std::string where = "load_fashion_mnist: " + (dir / files[train ? 0 : 2]).string();
  if (static_cast<std::int64_t>(out.labels.size()) != out.images.count) {
    throw FormatError(where + ": " + std::to_string(out.images.count) + " images but " +
                      std::to_string(out.labels.size()) + " labels");
  }
  for (std::size_t i = 0; i < out.labels.size(); ++i) {
    if (out.labels[i] > 9) {
      throw FormatError(where + ": label " + std::to_string(i) + " is " + std::to_string(out.labels[i]) +
                        ", outside 0..9");
    }
  }
  return out;
}

std::span<const std::string_view> fashion_mnist_classes() {
  static constexpr std::string_view names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                               "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace tg::nn
