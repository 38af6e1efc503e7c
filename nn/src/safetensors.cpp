// safetensors encoding and decoding. The decoder treats its input as hostile: every length and offset is
// checked (with overflow checks) before it is used, so malformed input becomes an error, never UB.
#include "tapegrad/nn/safetensors.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "tapegrad/nn/file_io.hpp"

namespace tg::nn {

namespace {

using json = nlohmann::json;

// The reference implementation's limit: larger headers are refused before any JSON is parsed.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;
// A valid header nests three levels (root, tensor entry, shape); anything deeper is malformed.
constexpr int kMaxJsonDepth = 3;
constexpr std::string_view kMetadataKey = "__metadata__";

struct DtypeInfo {
  std::string_view name;
  std::size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1},
    {"U16", 2},  {"I16", 2}, {"F16", 2}, {"BF16", 2},    {"U32", 4},
    {"I32", 4},  {"F32", 4}, {"U64", 8}, {"I64", 8},     {"F64", 8},
};

std::string known_dtypes() {
  std::string out;
  for (const DtypeInfo& d : kDtypes) {
    if (!out.empty()) out.append(", ");
    out.append(d.name);
  }
  return out;
}

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw FormatError("safetensors: " + std::string(source) + ": " + what);
}

// Built by append: GCC 12 warns falsely (-Wrestrict) on "'" + std::string(name) + "'".
std::string in_quotes(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out.push_back('\'');
  out.append(name);
  out.push_back('\'');
  return out;
}

// Parses the header, refusing duplicate keys (nlohmann would silently keep the last) and deep nesting.
json parse_header_json(std::string_view text, std::string_view source) {
  std::vector<std::set<std::string>> keys_per_object;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) fail(source, "header JSON nests deeper than a safetensors header");
        if (event == json::parse_event_t::object_start) keys_per_object.emplace_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!keys_per_object.back().insert(key).second) fail(source, "duplicate key " + in_quotes(key));
        break;
      }
      case json::parse_event_t::object_end:
        keys_per_object.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    fail(source, std::string("header is not valid JSON: ") + e.what());
  }
}

// Reads a JSON number that must be a non-negative integer no larger than INT64_MAX.
std::uint64_t read_count(const json& value, std::string_view source, const std::string& where) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() >
                                         static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    fail(source, where + " must be a non-negative integer, got " + value.dump());
  }
  return value.get<std::uint64_t>();
}

struct Entry {
  std::string name;
  RawTensor tensor;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

Entry read_entry(const std::string& name, const json& info, std::string_view source) {
  const std::string where = "tensor " + in_quotes(name);
  if (!info.is_object()) fail(source, where + ": entry must be a JSON object, got " + info.type_name());
  for (const auto& [key, value] : info.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail(source, where + ": unexpected field " + in_quotes(key));
    }
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!info.contains(field)) fail(source, where + ": missing field '" + field + "'");
  }
  Entry e;
  e.name = name;
  const json& dtype = info["dtype"];
  if (!dtype.is_string()) fail(source, where + ": dtype must be a string, got " + dtype.dump());
  e.tensor.dtype = dtype.get<std::string>();
  if (!is_known_dtype(e.tensor.dtype)) {
    throw DtypeError("safetensors: " + std::string(source) + ": " + where + ": unknown dtype " +
                     in_quotes(e.tensor.dtype) + " (known: " + known_dtypes() + ")");
  }
  const json& shape = info["shape"];
  if (!shape.is_array()) fail(source, where + ": shape must be an array, got " + shape.dump());
  for (const json& dim : shape) {
    e.tensor.shape.push_back(static_cast<std::int64_t>(read_count(dim, source, where + ": shape entry")));
  }
  const json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    fail(source, where + ": data_offsets must be an array [begin, end], got " + offsets.dump());
  }
  e.begin = read_count(offsets[0], source, where + ": data_offsets begin");
  e.end = read_count(offsets[1], source, where + ": data_offsets end");
  if (e.end < e.begin) fail(source, where + ": data_offsets " + offsets.dump() + " end before begin");
  std::int64_t numel = 0;
  try {
    numel = shape_numel(e.tensor.shape);
  } catch (const ShapeError&) {
    fail(source, where + ": shape " + shape_str(e.tensor.shape) + " has too many elements");
  }
  std::uint64_t need = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel), dtype_size(e.tensor.dtype), &need)) {
    fail(source, where + ": shape " + shape_str(e.tensor.shape) + " is too large in bytes");
  }
  if (e.end - e.begin != need) {
    fail(source, where + ": data_offsets " + offsets.dump() + " hold " + std::to_string(e.end - e.begin) +
                     " bytes, but " + e.tensor.dtype + " " + shape_str(e.tensor.shape) + " needs " +
                     std::to_string(need));
  }
  return e;
}

Metadata read_metadata(const json& meta, std::string_view source) {
  if (!meta.is_object()) fail(source, "__metadata__ must be an object, got " + std::string(meta.type_name()));
  Metadata out;
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string()) fail(source, "__metadata__ " + in_quotes(key) + " must be a string, got " + value.dump());
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

// The data buffer must be tiled exactly: sorted by begin, each range starts where the previous ended.
void check_tiling(std::vector<Entry>& entries, std::uint64_t buffer_size, std::string_view source) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t cursor = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin > cursor) {
      fail(source, "tensor " + in_quotes(e.name) + " starts at byte " + std::to_string(e.begin) +
                       " but the previous data ends at " + std::to_string(cursor) + " (a hole in the buffer)");
    }
    if (e.begin < cursor) {
      fail(source, "tensor " + in_quotes(e.name) + " [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                       ") overlaps tensor " + in_quotes(previous->name) + " ending at " + std::to_string(cursor));
    }
    if (e.end > buffer_size) {
      fail(source, "tensor " + in_quotes(e.name) + " ends at byte " + std::to_string(e.end) +
                       " past the end of the data buffer (" + std::to_string(buffer_size) +
                       " bytes; file truncated?)");
    }
    cursor = e.end;
    previous = &e;
  }
  if (cursor != buffer_size) {
    fail(source, "data buffer has " + std::to_string(buffer_size - cursor) +
                     " trailing bytes not covered by any tensor");
  }
}

}  // namespace

bool is_known_dtype(std::string_view dtype) {
  return std::any_of(std::begin(kDtypes), std::end(kDtypes), [&](const DtypeInfo& d) { return d.name == dtype; });
}

std::size_t dtype_size(std::string_view dtype) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.name == dtype) return d.size;
  }
  throw DtypeError("safetensors: unknown dtype " + in_quotes(dtype) + " (known: " + known_dtypes() + ")");
}

std::int64_t shape_numel(std::span<const std::int64_t> shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) throw ShapeError("shape_numel: negative dimension in shape " + shape_str(shape));
    if (__builtin_mul_overflow(n, d, &n)) {
      throw ShapeError("shape_numel: element count of shape " + shape_str(shape) + " overflows int64");
    }
  }
  return n;
}

SafetensorsContent parse_safetensors(std::span<const std::byte> bytes, std::string_view source) {
  if (bytes.size() < 8) {
    fail(source, "file is " + std::to_string(bytes.size()) + " bytes, too short for the 8-byte header length");
  }
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const std::uint64_t rest = bytes.size() - 8;
  if (header_len > rest) {
    fail(source, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                     std::to_string(rest) + " bytes after the length; file truncated?)");
  }
  if (header_len > kMaxHeaderBytes) {
    fail(source, "header length " + std::to_string(header_len) + " exceeds the 100 MiB limit");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, header_len);
  if (text.empty() || text.front() != '{') fail(source, "header must start with '{'");
  const json header = parse_header_json(text, source);
  if (!header.is_object()) fail(source, "header must be a JSON object");

  SafetensorsContent out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      out.metadata = read_metadata(value, source);
    } else {
      entries.push_back(read_entry(key, value, source));
    }
  }
  const std::span<const std::byte> buffer = bytes.subspan(8 + header_len);
  check_tiling(entries, buffer.size(), source);
  for (Entry& e : entries) {
    const auto first = buffer.begin() + static_cast<std::ptrdiff_t>(e.begin);
    e.tensor.data.assign(first, first + static_cast<std::ptrdiff_t>(e.end - e.begin));
    out.tensors.emplace(std::move(e.name), std::move(e.tensor));
  }
  return out;
}

std::vector<std::byte> serialize_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  std::vector<std::pair<std::size_t, const std::string*>> order;
  for (const auto& [name, t] : tensors) {
    const std::string where = "serialize_safetensors: tensor " + in_quotes(name);
    if (name == kMetadataKey) throw ValueError(where + ": the name is reserved for metadata");
    const std::size_t size = dtype_size(t.dtype);
    const std::int64_t numel = shape_numel(t.shape);
    std::uint64_t need = 0;
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel), size, &need) || need != t.data.size()) {
      throw ShapeError(where + ": " + t.dtype + " " + shape_str(t.shape) + " needs " +
                       std::to_string(numel) + " elements of " + std::to_string(size) + " bytes, but data has " +
                       std::to_string(t.data.size()) + " bytes");
    }
    order.emplace_back(size, &name);
  }
  // Larger elements first keeps every tensor aligned to its element size (the header is padded to 8).
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  });
  json header = json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [size, name] : order) {
    const RawTensor& t = tensors.at(*name);
    header[*name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::type_error& e) {
    throw ValueError(std::string("serialize_safetensors: a tensor name or metadata string is not valid UTF-8 (") +
                     e.what() + ")");
  }
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  std::vector<std::byte> out(8 + text.size() + offset);
  const std::uint64_t header_len = text.size();
  std::memcpy(out.data(), &header_len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::byte* cursor = out.data() + 8 + text.size();
  for (const auto& [size, name] : order) {
    const RawTensor& t = tensors.at(*name);
    if (!t.data.empty()) std::memcpy(cursor, t.data.data(), t.data.size());
    cursor += t.data.size();
  }
  return out;
}

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const Metadata& metadata) {
  const std::vector<std::byte> bytes = serialize_safetensors(tensors, metadata);
  write_file_atomic(path, bytes, "save_safetensors");
}

SafetensorsContent load_safetensors(const std::filesystem::path& path) {
  const std::vector<std::byte> bytes = read_file_bytes(path, "load_safetensors");
  return parse_safetensors(bytes, path.string());
}

}  // namespace tg::nn
