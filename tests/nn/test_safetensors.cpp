// safetensors: round trips, byte layout checked by hand, every validation error, and atomic saving.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "tapegrad/nn/safetensors.hpp"

namespace fs = std::filesystem;
using namespace tg::nn;

namespace {

// A fresh empty directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("tg_safetensors_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

// A file image with the given header text (unpadded) followed by `data_len` zero bytes.
std::vector<std::byte> image(const std::string& header, std::size_t data_len = 0) {
  std::string s(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(s.data(), &n, 8);
  s += header;
  s.append(data_len, '\0');
  return bytes_of(s);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string error_of(const std::vector<std::byte>& bytes) {
  try {
    parse_safetensors(bytes, "test.safetensors");
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "";
}

int count_entries(const fs::path& dir) {
  return static_cast<int>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TensorMap sample() {
  const std::vector<float> w{1.5F, -2.0F, 3.25F, 0.0F, 1e-7F, -1e30F};
  const std::vector<double> b{0.1, -0.2};
  const std::vector<std::int64_t> steps{42};
  const std::vector<std::uint8_t> mask{1, 0, 1};
  TensorMap m;
  m["layer.weight"] = make_raw_tensor<float>({2, 3}, w);
  m["layer.bias"] = make_raw_tensor<double>({2}, b);
  m["step"] = make_raw_tensor<std::int64_t>({}, steps);
  m["mask"] = make_raw_tensor<std::uint8_t>({3}, mask);
  m["empty"] = make_raw_tensor<float>({0, 4}, std::span<const float>{});
  return m;
}

}  // namespace

TEST_CASE("safetensors round trip") {
  SUBCASE("tensors and metadata survive save and load") {
    TempDir dir;
    const TensorMap m = sample();
    const Metadata meta{{"format", "pt"}, {"epoch", "3"}};
    save_safetensors(dir.path / "model.safetensors", m, meta);
    const SafetensorsContent back = load_safetensors(dir.path / "model.safetensors");
    CHECK(back.tensors == m);
    CHECK(back.metadata == meta);
    CHECK(raw_tensor_values<float>(back.tensors.at("layer.weight"))[2] == 3.25F);
    CHECK(back.tensors.at("step").shape.empty());
    CHECK(back.tensors.at("empty").data.empty());
  }
  SUBCASE("the byte image matches the format worked by hand") {
    const std::vector<float> v{1.0F, 2.0F};
    const TensorMap m{{"a", make_raw_tensor<float>({2}, v)}};
    const std::vector<std::byte> bytes = serialize_safetensors(m);
    const std::string header = R"({"a":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})";
    // 8 + 54 = 62 bytes, so two spaces pad the header to 64.
    REQUIRE(header.size() == 54);
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK(n == 56);
    CHECK(std::string(reinterpret_cast<const char*>(bytes.data()) + 8, 56) == header + "  ");
    CHECK(bytes.size() == 72);
    float back[2];
    std::memcpy(back, bytes.data() + 64, 8);
    CHECK(back[0] == 1.0F);
    CHECK(back[1] == 2.0F);
  }
  SUBCASE("data is aligned: wider dtypes come first and the header is padded to 8") {
    const std::vector<std::byte> bytes = serialize_safetensors(sample());
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK((8 + n) % 8 == 0);
    const SafetensorsContent c = parse_safetensors(bytes);
    CHECK(c.tensors.size() == 5);
  }
  SUBCASE("a file written by another tool, with unsorted offsets, loads") {
    const std::string h = R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},)"
                          R"("a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"k":"v"}})";
    std::vector<std::byte> bytes = image(h + "    ", 3);
    bytes.back() = std::byte{7};
    const SafetensorsContent c = parse_safetensors(bytes);
    CHECK(c.tensors.at("b").data[1] == std::byte{7});
    CHECK(c.tensors.at("a").shape == std::vector<std::int64_t>{1});
    CHECK(c.metadata.at("k") == "v");
  }
}

TEST_CASE("safetensors rejects malformed input with a clear error") {
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  SUBCASE("too short for the length") { CHECK(error_of(bytes_of("abc")).find("too short") != std::string::npos); }
  SUBCASE("header length past end of file") {
    std::vector<std::byte> b = image("{" + ok_entry + "}", 8);
    b[0] = std::byte{0xff};
    CHECK(error_of(b).find("runs past the end of the file") != std::string::npos);
  }
  SUBCASE("header must start with a brace") {
    CHECK(error_of(image(" {}")).find("must start with '{'") != std::string::npos);
  }
  SUBCASE("bad JSON") { CHECK(error_of(image("{\"w\":")).find("not valid JSON") != std::string::npos); }
  SUBCASE("header that is not an object") {
    CHECK(error_of(image("{}[]")).find("not valid JSON") != std::string::npos);
  }
  SUBCASE("duplicate keys") {
    const std::string e = error_of(image("{" + ok_entry + "," + ok_entry + "}", 8));
    CHECK(e.find("duplicate key 'w'") != std::string::npos);
    CHECK(e.find("test.safetensors") != std::string::npos);
  }
  SUBCASE("unknown dtype is a DtypeError naming the tensor") {
    const auto b = image(R"({"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", 8);
    CHECK_THROWS_AS(parse_safetensors(b), tg::DtypeError);
    CHECK(error_of(b).find("tensor 'w': unknown dtype 'F33'") != std::string::npos);
  }
  SUBCASE("offsets not matching the shape") {
    const auto b = image(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
    CHECK(error_of(b).find("hold 8 bytes, but F32 [3] needs 12") != std::string::npos);
  }
  SUBCASE("overlapping tensors") {
    const auto b = image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                         R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                         3);
    CHECK(error_of(b).find("overlaps tensor 'a'") != std::string::npos);
  }
  SUBCASE("a hole in the buffer") {
    const auto b = image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", 3);
    CHECK(error_of(b).find("hole") != std::string::npos);
  }
  SUBCASE("data past the end: truncated file") {
    const auto b = image("{" + ok_entry + "}", 5);
    CHECK(error_of(b).find("tensor 'w' ends at byte 8 past the end of the data buffer (5 bytes") !=
          std::string::npos);
  }
  SUBCASE("trailing bytes") {
    CHECK(error_of(image("{" + ok_entry + "}", 9)).find("1 trailing bytes") != std::string::npos);
  }
  SUBCASE("end before begin, negative dims, float offsets, missing and extra fields") {
    CHECK(error_of(image(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", 2)).find("end before begin") !=
          std::string::npos);
    CHECK(error_of(image(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})")).find("non-negative") !=
          std::string::npos);
    CHECK(error_of(image(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}})", 1)).find("non-negative") !=
          std::string::npos);
    CHECK(error_of(image(R"({"w":{"dtype":"U8","shape":[1]}})", 1)).find("missing field 'data_offsets'") !=
          std::string::npos);
    CHECK(error_of(image(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":1}})")).find("unexpected field 'x'") !=
          std::string::npos);
  }
  SUBCASE("element count overflow") {
    const auto b = image(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})");
    CHECK(error_of(b).find("too many elements") != std::string::npos);
  }
  SUBCASE("metadata must map strings to strings") {
    CHECK(error_of(image(R"({"__metadata__":{"a":1}})")).find("must be a string") != std::string::npos);
    CHECK(error_of(image(R"({"__metadata__":[]})")).find("must be an object") != std::string::npos);
  }
  SUBCASE("deep nesting is refused") {
    CHECK(error_of(image(R"({"w":{"shape":[[[1]]]}})")).find("nests deeper") != std::string::npos);
  }
  SUBCASE("every error is a tg::Error") {
    CHECK_THROWS_AS(parse_safetensors(image("{")), FormatError);
    CHECK_THROWS_AS(parse_safetensors(image("{")), tg::Error);
  }
}

TEST_CASE("safetensors file errors") {
  TempDir dir;
  SUBCASE("missing file names the path") {
    try {
      load_safetensors(dir.path / "nope.safetensors");
      FAIL("expected IoError");
    } catch (const IoError& e) {
      CHECK(std::string(e.what()).find("nope.safetensors") != std::string::npos);
    }
  }
  SUBCASE("a directory is not a file") { CHECK_THROWS_AS(load_safetensors(dir.path), IoError); }
  SUBCASE("a truncated file") {
    save_safetensors(dir.path / "m.safetensors", sample());
    fs::resize_file(dir.path / "m.safetensors", fs::file_size(dir.path / "m.safetensors") - 3);
    CHECK_THROWS_AS(load_safetensors(dir.path / "m.safetensors"), FormatError);
  }
}

TEST_CASE("save_safetensors never damages the previous file") {
  TempDir dir;
  const fs::path target = dir.path / "ckpt.safetensors";
  save_safetensors(target, sample(), {{"v", "1"}});
  const std::string before = read_text(target);
  SUBCASE("an invalid tensor is rejected before writing") {
    TensorMap bad = sample();
    bad["layer.bias"].data.pop_back();
    CHECK_THROWS_AS(save_safetensors(target, bad), tg::ShapeError);
    bad = sample();
    bad["x"] = RawTensor{"Q8", {1}, {std::byte{0}}};
    CHECK_THROWS_AS(save_safetensors(target, bad), tg::DtypeError);
  }
  SUBCASE("an invalid UTF-8 name is rejected before writing") {
    TensorMap bad = sample();
    bad["bad\xff"] = make_raw_tensor<std::uint8_t>({1}, std::vector<std::uint8_t>{1});
    CHECK_THROWS_AS(save_safetensors(target, bad), tg::ValueError);
  }
  SUBCASE("a write that fails midway (file size limit) leaves the old file and no temporary") {
    TensorMap big;
    big["big"] = make_raw_tensor<double>({1 << 17}, std::vector<double>(1 << 17, 1.0));
    rlimit old_limit{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old_limit;
    small.rlim_cur = 64 * 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    CHECK_THROWS_AS(save_safetensors(target, big), IoError);
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::signal(SIGXFSZ, old_handler);
  }
  SUBCASE("a rename that fails (target is a directory) leaves no temporary") {
    fs::create_directory(dir.path / "sub.safetensors");
    CHECK_THROWS_AS(save_safetensors(dir.path / "sub.safetensors", sample()), IoError);
    CHECK(fs::is_directory(dir.path / "sub.safetensors"));
    fs::remove(dir.path / "sub.safetensors");
  }
  SUBCASE("a missing directory") {
    CHECK_THROWS_AS(save_safetensors(dir.path / "no" / "x.safetensors", sample()), IoError);
  }
  CHECK(read_text(target) == before);
  CHECK(count_entries(dir.path) == 1);
  CHECK(load_safetensors(target).metadata.at("v") == "1");
}

TEST_CASE("save_safetensors replaces an existing file") {
  TempDir dir;
  const fs::path target = dir.path / "ckpt.safetensors";
  save_safetensors(target, sample());
  const std::vector<float> v{9.0F};
  save_safetensors(target, {{"only", make_raw_tensor<float>({1}, v)}});
  const SafetensorsContent c = load_safetensors(target);
  CHECK(c.tensors.size() == 1);
  CHECK(raw_tensor_values<float>(c.tensors.at("only")) == v);
  CHECK(count_entries(dir.path) == 1);
}

TEST_CASE("raw tensor helpers check their arguments") {
  CHECK_THROWS_AS(make_raw_tensor<float>({2, 2}, std::vector<float>(3)), tg::ShapeError);
  CHECK_THROWS_AS(raw_tensor_values<double>(make_raw_tensor<float>({1}, std::vector<float>{1.0F})), tg::DtypeError);
  CHECK(dtype_size("BF16") == 2);
  CHECK(dtype_size("I64") == 8);
  CHECK_THROWS_AS(dtype_size("float32"), tg::DtypeError);
  CHECK(shape_numel(std::vector<std::int64_t>{}) == 1);
  CHECK(shape_numel(std::vector<std::int64_t>{3, 0}) == 0);
  CHECK_THROWS_AS(shape_numel(std::vector<std::int64_t>{-1}), tg::ShapeError);
}
