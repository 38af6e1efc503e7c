// Tensor maps to and from safetensors, strict state-dict checks and checkpoints. Loading checks every
// entry first and changes nothing unless all fit, so a bad file never leaves a half-loaded model.
#include "tapegrad/nn/serialize.hpp"

#include <cstring>
#include <map>
#include <set>

#include "tapegrad/nn/optim.hpp"

namespace tg::nn {

namespace {

constexpr std::string_view kModelPrefix = "model.";
constexpr std::string_view kOptimPrefix = "optim.";
constexpr const char* kOptimizerKey = "tapegrad.optimizer";

std::string describe(const Tensor& t) { return shape_str(t.shape()) + " " + dtype_name(t.dtype()); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string message(const std::string& who, const StateDictProblems& p) {
  std::string out = who + ": the state dict does not fit";
  if (!p.missing.empty()) out += "; missing keys: " + join(p.missing);
  if (!p.unexpected.empty()) out += "; unexpected keys: " + join(p.unexpected);
  if (!p.mismatched.empty()) out += "; mismatched: " + join(p.mismatched);
  return out;
}

void copy_into(const NamedTensors& target, const NamedTensors& source) {
  std::map<std::string_view, const Tensor*> by_name;
  for (const auto& [key, t] : source) by_name.emplace(key, &t);
  NoGradGuard no_grad;
  for (const auto& [key, t] : target) {
    Tensor dst = t;
    dst.copy_(*by_name.at(key));
  }
}

}  // namespace

StateDictError::StateDictError(const std::string& who, StateDictProblems problems)
    : ValueError(message(who, problems)), problems_(std::move(problems)) {}

const char* safetensors_dtype(Dtype d) {
  switch (d) {
    case Dtype::Float32:
      return "F32";
    case Dtype::Float64:
      return "F64";
    case Dtype::Int64:
      return "I64";
    default:
      throw DtypeError(std::string("save_tensors: cannot store a ") + dtype_name(d) +
                       " tensor; convert it to float32, float64 or int64");
  }
}

RawTensor to_raw(const Tensor& t) {
  if (!t.defined()) throw ValueError("to_raw: the tensor is undefined");
  RawTensor raw{safetensors_dtype(t.dtype()), std::vector<std::int64_t>(t.shape().begin(), t.shape().end()), {}};
  const Tensor c = t.detach().contiguous();
  raw.data.resize(static_cast<std::size_t>(c.numel()) * dtype_size(c.dtype()));
  if (!raw.data.empty()) {
    const auto* src = static_cast<const std::byte*>(c.impl()->storage->data) +
                      static_cast<std::size_t>(c.storage_offset()) * dtype_size(c.dtype());
    std::memcpy(raw.data.data(), src, raw.data.size());
  }
  return raw;
}

Tensor from_raw(const RawTensor& raw) {
  Dtype d = kFloat32;
  if (raw.dtype == "F64") {
    d = kFloat64;
  } else if (raw.dtype == "I64") {
    d = kInt64;
  } else if (raw.dtype != "F32") {
    throw DtypeError("from_raw: dtype " + raw.dtype + " has no tensor dtype; supported: F32, F64, I64");
  }
  const Shape shape(raw.shape.begin(), raw.shape.end());
  Tensor t = empty(shape, {.dtype = d});
  const std::size_t nbytes = static_cast<std::size_t>(t.numel()) * dtype_size(d);
  if (raw.data.size() != nbytes) {
    throw ShapeError("from_raw: " + raw.dtype + " " + shape_str(raw.shape) + " needs " + std::to_string(nbytes) +
                     " bytes, got " + std::to_string(raw.data.size()));
  }
  if (nbytes != 0) std::memcpy(t.impl()->storage->data, raw.data.data(), nbytes);
  return t;
}

void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata) {
  TensorMap map;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw ValueError("save_tensors: a tensor has an empty name");
    if (!t.defined()) throw ValueError("save_tensors: tensor '" + name + "' is undefined");
    if (!map.emplace(name, to_raw(t)).second) throw ValueError("save_tensors: the name '" + name + "' appears twice");
  }
  save_safetensors(path, map, metadata);
}

LoadedTensors load_tensors(const std::filesystem::path& path) {
  SafetensorsContent content = load_safetensors(path);
  LoadedTensors out;
  out.metadata = std::move(content.metadata);
  for (const auto& [name, raw] : content.tensors) {
    try {
      out.tensors.emplace_back(name, from_raw(raw));
    } catch (const DtypeError& e) {
      throw DtypeError("load_tensors: " + path.string() + ": tensor '" + name + "': " + e.what());
    }
  }
  return out;
}

void check_named_tensors(const NamedTensors& target, const NamedTensors& source, StateDictProblems& problems,
                         const std::string& prefix) {
  std::map<std::string_view, const Tensor*> by_name;
  for (const auto& [key, t] : source) {
    if (!by_name.emplace(key, &t).second) problems.mismatched.push_back(prefix + key + ": appears twice");
  }
  std::set<std::string_view> wanted;
  for (const auto& [key, t] : target) {
    wanted.insert(key);
    auto it = by_name.find(key);
    if (it == by_name.end()) {
      problems.missing.push_back(prefix + key);
      continue;
    }
    const Tensor& s = *it->second;
    if (!s.defined() || s.shape() != t.shape() || s.dtype() != t.dtype()) {
      problems.mismatched.push_back(prefix + key + ": expected " + describe(t) + ", got " +
                                    (s.defined() ? describe(s) : std::string("an undefined tensor")));
    }
  }
  for (const auto& [key, t] : source) {
    if (!wanted.count(key)) problems.unexpected.push_back(prefix + key);
  }
}

void load_into(const NamedTensors& target, const NamedTensors& source, const std::string& who) {
  StateDictProblems problems;
  check_named_tensors(target, source, problems);
  if (!problems.empty()) throw StateDictError(who, std::move(problems));
  copy_into(target, source);
}

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& model, const Optimizer& optimizer,
                     const Metadata& metadata) {
  NamedTensors all;
  for (const auto& [name, t] : model) all.emplace_back(std::string(kModelPrefix) + name, t);
  for (auto& [name, t] : optimizer.state_dict()) all.emplace_back(std::string(kOptimPrefix) + name, std::move(t));
  Metadata meta = metadata;
  meta[kOptimizerKey] = optimizer.name();
  save_tensors(path, all, meta);
}

Metadata load_checkpoint(const std::filesystem::path& path, const NamedTensors& model, Optimizer& optimizer) {
  LoadedTensors file = load_tensors(path);
  NamedTensors model_part;
  NamedTensors optim_part;
  StateDictProblems problems;
  for (auto& [name, t] : file.tensors) {
    if (name.starts_with(kModelPrefix)) {
      model_part.emplace_back(name.substr(kModelPrefix.size()), std::move(t));
    } else if (name.starts_with(kOptimPrefix)) {
      optim_part.emplace_back(name.substr(kOptimPrefix.size()), std::move(t));
    } else {
      problems.unexpected.push_back(name);
    }
  }
  auto it = file.metadata.find(kOptimizerKey);
  if (it != file.metadata.end() && it->second != optimizer.name()) {
    problems.mismatched.push_back(std::string("optimizer: the checkpoint holds ") + it->second +
                                  " state, the target is " + optimizer.name());
  }
  check_named_tensors(model, model_part, problems, std::string(kModelPrefix));
  optimizer.check_state_dict(optim_part, problems, std::string(kOptimPrefix));
  if (!problems.empty()) throw StateDictError("load_checkpoint: " + path.string(), std::move(problems));
  copy_into(model, model_part);
  optimizer.load_state_dict(optim_part);
  return file.metadata;
}

}  // namespace tg::nn
