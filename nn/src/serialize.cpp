// Tensor maps to and from safetensors, strict state-dict checks and checkpoints. Loading checks every
// entry first and changes nothing unless all fit, so a bad file never leaves a half-loaded model.
#include "tapegrad/nn/serialize.hpp"

#include <bit>
#include <cstring>
#include <map>
#include <set>

#include "tapegrad/nn/optim.hpp"
#include "tapegrad/nn/scheduler.hpp"

namespace tg::nn {

namespace {

constexpr std::string_view kModelPrefix = "model.";
constexpr std::string_view kOptimPrefix = "optim.";
constexpr std::string_view kSchedPrefix = "sched.";
constexpr std::string_view kPlateauPrefix = "plateau.";
constexpr std::string_view kRngPrefix = "rng.";
constexpr const char* kDefaultGenerator = "default";
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

NamedTensors with_prefix(std::string_view prefix, NamedTensors tensors) {
  for (auto& [name, t] : tensors) name.insert(0, prefix);
  return tensors;
}

// The generators a checkpoint covers, by name: the calling thread's default one (when asked for) and
// extras.generators, whose names are checked here.
std::vector<std::pair<std::string, Generator*>> checkpoint_generators(const CheckpointExtras& extras,
                                                                      const std::string& who) {
  std::vector<std::pair<std::string, Generator*>> out;
  if (extras.default_generator) out.emplace_back(kDefaultGenerator, &default_generator());
  std::set<std::string> seen;
  for (const auto& [name, gen] : extras.generators) {
    if (name.empty()) throw ValueError(who + ": a generator has an empty name");
    if (name == kDefaultGenerator) {
      throw ValueError(who + ": the generator name \"default\" is taken by the default generator; use "
                             "CheckpointExtras::default_generator for it");
    }
    if (gen == nullptr) throw ValueError(who + ": generator \"" + name + "\" is a null pointer");
    if (!seen.insert(name).second) throw ValueError(who + ": the generator name \"" + name + "\" appears twice");
    out.emplace_back(name, gen);
  }
  return out;
}

// Generator::State as an int64 [6] tensor: safetensors could hold U64, but tg::Tensor has no unsigned
// dtype, so the words are stored with their bits unchanged.
Tensor state_tensor(const Generator& gen) {
  const Generator::State state = gen.state();
  std::vector<std::int64_t> words;
  for (std::uint64_t w : state) words.push_back(std::bit_cast<std::int64_t>(w));
  return tensor(words, Shape{static_cast<std::int64_t>(words.size())});
}

Generator::State state_words(const Tensor& t) {
  const std::vector<std::int64_t> words = t.to_vector<std::int64_t>();
  Generator::State state{};
  for (std::size_t i = 0; i < state.size(); ++i) state[i] = std::bit_cast<std::uint64_t>(words.at(i));
  return state;
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
                     const Metadata& metadata, const CheckpointExtras& extras) {
  NamedTensors all = with_prefix(kModelPrefix, model);
  auto append = [&all](std::string_view prefix, NamedTensors part) {
    for (auto& item : with_prefix(prefix, std::move(part))) all.push_back(std::move(item));
  };
  append(kOptimPrefix, optimizer.state_dict());
  if (extras.scheduler) append(kSchedPrefix, extras.scheduler->state_dict());
  if (extras.plateau) append(kPlateauPrefix, extras.plateau->state_dict());
  for (const auto& [name, gen] : checkpoint_generators(extras, "save_checkpoint")) {
    all.emplace_back(std::string(kRngPrefix) + name, state_tensor(*gen));
  }
  Metadata meta = metadata;
  meta[kOptimizerKey] = optimizer.name();
  save_tensors(path, all, meta);
}

Metadata load_checkpoint(const std::filesystem::path& path, const NamedTensors& model, Optimizer& optimizer,
                         const CheckpointExtras& extras) {
  const std::vector<std::pair<std::string, Generator*>> generators = checkpoint_generators(extras, "load_checkpoint");
  LoadedTensors file = load_tensors(path);
  // The parts of the file by prefix; a part nothing was asked for stays here, so its keys are reported
  // as unexpected.
  std::map<std::string_view, NamedTensors> parts;
  StateDictProblems problems;
  for (auto& [name, t] : file.tensors) {
    bool known = false;
    for (std::string_view prefix : {kModelPrefix, kOptimPrefix, kSchedPrefix, kPlateauPrefix, kRngPrefix}) {
      if (!known && name.starts_with(prefix)) {
        parts[prefix].emplace_back(name.substr(prefix.size()), std::move(t));
        known = true;
      }
    }
    if (!known) problems.unexpected.push_back(name);
  }
  auto it = file.metadata.find(kOptimizerKey);
  if (it != file.metadata.end() && it->second != optimizer.name()) {
    problems.mismatched.push_back(std::string("optimizer: the checkpoint holds ") + it->second +
                                  " state, the target is " + optimizer.name());
  }
  check_named_tensors(model, parts[kModelPrefix], problems, std::string(kModelPrefix));
  optimizer.check_state_dict(parts[kOptimPrefix], problems, std::string(kOptimPrefix));
  auto check_scheduler = [&](const auto* sched, std::string_view prefix) {
    if (sched) {
      sched->check_state_dict(parts[prefix], problems, std::string(prefix));
    } else {
      for (const auto& [name, t] : parts[prefix]) problems.unexpected.push_back(std::string(prefix) + name);
    }
  };
  check_scheduler(extras.scheduler, kSchedPrefix);
  check_scheduler(extras.plateau, kPlateauPrefix);

  // A file without any generator state predates it (or was saved without it): generators stay as they are.
  const NamedTensors& rng_part = parts[kRngPrefix];
  std::vector<std::pair<Generator*, Generator::State>> restore;
  if (!rng_part.empty()) {
    NamedTensors wanted;
    for (const auto& [name, gen] : generators) wanted.emplace_back(name, state_tensor(*gen));
    StateDictProblems rng_problems;
    check_named_tensors(wanted, rng_part, rng_problems, std::string(kRngPrefix));
    if (rng_problems.empty()) {
      for (const auto& [name, gen] : generators) {
        for (const auto& [key, t] : rng_part) {
          if (key != name) continue;
          const Generator::State state = state_words(t);
          try {
            Generator scratch;
            scratch.set_state(state);  // refuses, before anything changes, what the real one would refuse
            restore.emplace_back(gen, state);
          } catch (const ValueError& e) {
            rng_problems.mismatched.push_back(std::string(kRngPrefix) + name + ": " + e.what());
          }
        }
      }
    }
    problems.missing.insert(problems.missing.end(), rng_problems.missing.begin(), rng_problems.missing.end());
    problems.unexpected.insert(problems.unexpected.end(), rng_problems.unexpected.begin(),
                               rng_problems.unexpected.end());
    problems.mismatched.insert(problems.mismatched.end(), rng_problems.mismatched.begin(),
                               rng_problems.mismatched.end());
  }
  if (!problems.empty()) throw StateDictError("load_checkpoint: " + path.string(), std::move(problems));
  copy_into(model, parts[kModelPrefix]);
  optimizer.load_state_dict(parts[kOptimPrefix]);
  if (extras.scheduler) extras.scheduler->load_state_dict(parts[kSchedPrefix]);
  if (extras.plateau) extras.plateau->load_state_dict(parts[kPlateauPrefix]);
  for (const auto& [gen, state] : restore) gen->set_state(state);
  return file.metadata;
}

}  // namespace tg::nn
