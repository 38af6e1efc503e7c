// IDX: hand-built files (plain and gzip), every malformed case, and the real Fashion-MNIST when installed.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tapegrad/nn/idx.hpp"

namespace fs = std::filesystem;
using namespace tg::nn;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("tg_idx_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// An IDX byte image: magic 00 00 type ndim, big-endian sizes, then the payload.
std::vector<std::byte> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                 const std::vector<std::uint8_t>& payload) {
  std::vector<std::byte> out{std::byte{0}, std::byte{0}, std::byte{type}, std::byte(dims.size())};
  for (const std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::byte((d >> shift) & 0xFF));
  }
  for (const std::uint8_t v : payload) out.push_back(std::byte{v});
  return out;
}

void write_plain(const fs::path& p, const std::vector<std::byte>& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const fs::path& p, const std::vector<std::byte>& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string error_of(const std::vector<std::byte>& bytes, int ndim = 0) {
  try {
    parse_idx(bytes, "t.idx", ndim);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("idx decodes hand-built files") {
  // Two 2x3 images; pixel value = 10 * image + 3 * row + col, so every byte is distinct and checkable.
  std::vector<std::uint8_t> px;
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) px.push_back(static_cast<std::uint8_t>(10 * i + 3 * r + c));
  const auto images = idx_bytes(0x08, {2, 2, 3}, px);
  const auto labels = idx_bytes(0x08, {2}, {7, 3});
  SUBCASE("from memory") {
    const IdxArray a = parse_idx(images);
    CHECK(a.shape == std::vector<std::int64_t>{2, 2, 3});
    CHECK(a.data == px);
    CHECK(a.data[6 * 1 + 3 * 1 + 2] == 15);  // image 1, row 1, col 2
  }
  SUBCASE("plain and gzip files read the same") {
    TempDir dir;
    write_plain(dir.path / "img.idx", images);
    write_gz(dir.path / "img.idx.gz", images);
    write_gz(dir.path / "lbl.gz", labels);
    const IdxImages plain = read_idx_images(dir.path / "img.idx");
    const IdxImages gz = read_idx_images(dir.path / "img.idx.gz");
    CHECK(plain.count == 2);
    CHECK(plain.rows == 2);
    CHECK(plain.cols == 3);
    CHECK(plain.pixels == px);
    CHECK(gz.pixels == px);
    CHECK(read_idx_labels(dir.path / "lbl.gz") == std::vector<std::uint8_t>{7, 3});
  }
  SUBCASE("large dimensions with big-endian sizes") {
    const auto a = parse_idx(idx_bytes(0x08, {1, 300}, std::vector<std::uint8_t>(300, 1)));
    CHECK(a.shape == std::vector<std::int64_t>{1, 300});
  }
}

TEST_CASE("idx rejects malformed input") {
  SUBCASE("too short for the magic") { CHECK(has(error_of({std::byte{0}, std::byte{0}}), "too short")); }
  SUBCASE("bad magic bytes") {
    auto b = idx_bytes(0x08, {1}, {1});
    b[0] = std::byte{0x1f};
    CHECK(has(error_of(b), "bad magic number"));
  }
  SUBCASE("unsupported element type") { CHECK(has(error_of(idx_bytes(0x0D, {1}, {1, 2, 3, 4})), "0x0D (float32)")); }
  SUBCASE("zero dimensions") { CHECK(has(error_of(idx_bytes(0x08, {}, {})), "0 dimensions")); }
  SUBCASE("wrong dimension count: labels read as images") {
    CHECK(has(error_of(idx_bytes(0x08, {2}, {1, 2}), 3), "expected 3 dimensions (magic 0x00000803)"));
  }
  SUBCASE("header cut inside the sizes") {
    auto b = idx_bytes(0x08, {2, 2, 3}, {});
    b.resize(9);
    CHECK(has(error_of(b), "too short for the 3 dimension sizes"));
  }
  SUBCASE("truncated data") { CHECK(has(error_of(idx_bytes(0x08, {2, 3}, {1, 2, 3, 4, 5})), "needs 6 data bytes, the file has 5 (truncated)")); }
  SUBCASE("trailing data") { CHECK(has(error_of(idx_bytes(0x08, {2}, {1, 2, 3})), "trailing")); }
  SUBCASE("sizes whose product overflows") {
    CHECK(has(error_of(idx_bytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {})), "more than 2^64"));
  }
}

TEST_CASE("idx file errors") {
  TempDir dir;
  SUBCASE("missing file") {
    try {
      read_idx(dir.path / "missing.gz");
      FAIL("expected IoError");
    } catch (const IoError& e) {
      CHECK(has(e.what(), "missing.gz"));
    }
  }
  SUBCASE("a directory") { CHECK_THROWS_AS(read_idx(dir.path), IoError); }
  SUBCASE("truncated gzip stream") {
    std::vector<std::uint8_t> noise(5000);
    std::uint32_t s = 1;
    for (auto& v : noise) v = static_cast<std::uint8_t>((s = s * 1103515245u + 12345u) >> 24);
    write_gz(dir.path / "t.gz", idx_bytes(0x08, {5000}, noise));
    fs::resize_file(dir.path / "t.gz", fs::file_size(dir.path / "t.gz") / 2);
    CHECK_THROWS_WITH_AS(read_idx(dir.path / "t.gz"), doctest::Contains("is corrupt"), FormatError);
  }
  SUBCASE("corrupt gzip stream") {
    write_gz(dir.path / "c.gz", idx_bytes(0x08, {4}, {1, 2, 3, 4}));
    std::fstream f(dir.path / "c.gz", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12);
    f.write("\xff\xff\xff\xff\xff\xff", 6);
    f.close();
    CHECK_THROWS_WITH_AS(read_idx(dir.path / "c.gz"), doctest::Contains("is corrupt"), FormatError);
  }
  SUBCASE("mismatched image and label counts") {
    for (const char* name : {"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"}) {
      write_gz(dir.path / name, idx_bytes(0x08, {2, 1, 1}, {0, 0}));
    }
    write_gz(dir.path / "train-labels-idx1-ubyte.gz", idx_bytes(0x08, {3}, {0, 1, 2}));
    write_gz(dir.path / "t10k-labels-idx1-ubyte.gz", idx_bytes(0x08, {2}, {0, 10}));
    try {
      load_fashion_mnist(dir.path, true);
      FAIL("expected FormatError");
    } catch (const FormatError& e) {
      CHECK(has(e.what(), "2 images but 3 labels"));
    }
    try {
      load_fashion_mnist(dir.path, false);
      FAIL("expected FormatError");
    } catch (const FormatError& e) {
      CHECK(has(e.what(), "label 1 is 10, outside 0..9"));
    }
  }
  SUBCASE("dataset directory missing names the Debian package") {
    ::setenv("TG_FASHION_MNIST_DIR", dir.path.c_str(), 1);
    try {
      fashion_mnist_dir();
      FAIL("expected IoError");
    } catch (const IoError& e) {
      CHECK(has(e.what(), "dataset-fashion-mnist"));
    }
    ::unsetenv("TG_FASHION_MNIST_DIR");
  }
}

TEST_CASE("Fashion-MNIST from the dataset-fashion-mnist package") {
  fs::path dir;
  try {
    dir = fashion_mnist_dir();
  } catch (const IoError& e) {
    MESSAGE("skipped: " << e.what());
    return;
  }
  // Loaded once for all subcases: inflating 26 MB per subcase would only slow the suite down.
  static const ImageDataset train = load_fashion_mnist(dir, true);
  static const ImageDataset test = load_fashion_mnist(dir, false);
  SUBCASE("sizes") {
    CHECK(train.images.count == 60000);
    CHECK(test.images.count == 10000);
    CHECK(train.images.rows == 28);
    CHECK(train.images.cols == 28);
    CHECK(test.images.rows == 28);
    CHECK(train.images.pixels.size() == 60000u * 784u);
  }
  SUBCASE("classes are balanced: 6000 per class in train, 1000 in test") {
    std::array<int, 10> train_hist{};
    std::array<int, 10> test_hist{};
    for (const auto l : train.labels) ++train_hist[l];
    for (const auto l : test.labels) ++test_hist[l];
    for (int c = 0; c < 10; ++c) {
      CHECK(train_hist[c] == 6000);
      CHECK(test_hist[c] == 1000);
    }
  }
  SUBCASE("published facts: first labels and the mean pixel intensity") {
    // The first training image is an ankle boot (9), then T-shirt, T-shirt, dress; the test set opens
    // with ankle boot, pullover, trouser, trouser (zalandoresearch/fashion-mnist, Keras docs).
    CHECK(train.labels[0] == 9);
    CHECK(train.labels[1] == 0);
    CHECK(train.labels[3] == 3);
    CHECK(test.labels[0] == 9);
    CHECK(test.labels[1] == 2);
    CHECK(test.labels[2] == 1);
    CHECK(fashion_mnist_classes()[train.labels[0]] == "Ankle boot");
    // The widely used normalisation constant: mean of train pixels / 255 = 0.2860.
    double sum = 0.0;
    for (const auto p : train.images.pixels) sum += p;
    CHECK(sum / static_cast<double>(train.images.pixels.size()) / 255.0 == doctest::Approx(0.2860).epsilon(2e-4));
  }
}
