// Saving and loading tg::Tensor maps as safetensors files, strict state-dict loading (missing, unexpected
// and mismatched entries all reported at once), and training checkpoints (model tensors, optimizer,
// scheduler and random-generator state in one file).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn {

class Optimizer;
class LRScheduler;
class ReduceLROnPlateau;

/// Tensors by name, in a chosen order (a model's parameters, an optimizer's state).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Problems found while checking a state dict against its target.
struct StateDictProblems {
  std::vector<std::string> missing;     ///< keys the target needs that the source lacks.
  std::vector<std::string> unexpected;  ///< keys of the source the target does not know.
  std::vector<std::string> mismatched;  ///< "key: why" for entries of the wrong shape, dtype or value.
  /// True when nothing was found.
  bool empty() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

/// A state dict that does not fit its target. The message lists every problem; the lists let callers
/// inspect them. Derives from tg::ValueError.
class StateDictError : public ValueError {
 public:
  /// Builds the message from the lists; `who` names the operation (e.g. "load_checkpoint").
  StateDictError(const std::string& who, StateDictProblems problems);
  /// Keys the target needs that the source lacks.
  const std::vector<std::string>& missing() const { return problems_.missing; }
  /// Keys of the source the target does not know.
  const std::vector<std::string>& unexpected() const { return problems_.unexpected; }
  /// "key: why" for entries whose shape, dtype or value does not fit.
  const std::vector<std::string>& mismatched() const { return problems_.mismatched; }

 private:
  StateDictProblems problems_;
};

/// Checks that `source` fits `target` exactly (same names, shapes and dtypes), adding what it finds to
/// `problems`; names in problems get `prefix` in front.
void check_named_tensors(const NamedTensors& target, const NamedTensors& source, StateDictProblems& problems,
                         const std::string& prefix = "");

/// The safetensors dtype name of a tensor dtype: "F32", "F64", "I64" (DtypeError for bool).
const char* safetensors_dtype(Dtype d);

/// The raw bytes of a float32, float64 or int64 tensor (a non-contiguous one is gathered first).
RawTensor to_raw(const Tensor& t);
/// A fresh contiguous tensor (no grad) from raw F32/F64/I64 bytes; DtypeError for other dtypes.
Tensor from_raw(const RawTensor& raw);

/// Writes named tensors and metadata to a safetensors file, atomically (a failed save leaves the old
/// file intact). ValueError for duplicate or empty names, DtypeError for bool tensors, IoError when the
/// file system refuses.
void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata = {});

/// Everything a tensor file holds, converted to tensors (in name order).
struct LoadedTensors {
  NamedTensors tensors;  ///< the tensors, sorted by name.
  Metadata metadata;     ///< the file's "__metadata__".
};

/// Reads a safetensors file into tensors. IoError when unreadable, FormatError when truncated or corrupt,
/// DtypeError for a dtype other than F32/F64/I64.
LoadedTensors load_tensors(const std::filesystem::path& path);

/// Copies `source` into the existing tensors of `target` (in place, under NoGradGuard, bumping their
/// versions). Every target name must be in source with the same shape and dtype, and source may hold no
/// other name; otherwise StateDictError lists all problems and no target is changed.
void load_into(const NamedTensors& target, const NamedTensors& source, const std::string& who = "load_into");

/// What a checkpoint holds besides the model and the optimizer. Every entry is saved and loaded under its
/// own prefix in the file:
///   - "sched.<key>": the scheduler's state_dict(), "plateau.<key>": the ReduceLROnPlateau's;
///   - "rng.default": the calling thread's default generator (default_generator());
///   - "rng.<name>": each generator of `generators` (Generator::State as an int64 [6] tensor, the
///     uint64 words stored bit for bit).
/// With the generators saved and restored, a run that draws random numbers (Dropout, initialisation
/// after the resume point) continues exactly as if never stopped.
struct CheckpointExtras {
  LRScheduler* scheduler = nullptr;       ///< an epoch scheduler to save or restore (read only on save).
  ReduceLROnPlateau* plateau = nullptr;   ///< a plateau scheduler to save or restore (read only on save).
  /// Generators besides the default one, by name (not empty, not "default", no repeats); save_checkpoint
  /// and load_checkpoint taking a Module add its named_generators() as "module" or "module.<path>".
  std::vector<std::pair<std::string, Generator*>> generators{};
  bool default_generator = true;          ///< save/restore the calling thread's default generator.
};

/// Saves a training checkpoint: `model` under "model.<name>", the optimizer's state_dict() under
/// "optim.<key>", and what `extras` names (see CheckpointExtras), plus `metadata`, in one atomically
/// written safetensors file. ValueError for a bad or repeated generator name or a null pointer in
/// extras.generators.
void save_checkpoint(const std::filesystem::path& path, const NamedTensors& model, const Optimizer& optimizer,
                     const Metadata& metadata = {}, const CheckpointExtras& extras = {});

/// Restores a checkpoint written by save_checkpoint into `model` (copied in place, as load_into),
/// `optimizer` (load_state_dict) and what `extras` names. Everything is validated before anything
/// changes: StateDictError for missing, unexpected or mismatched keys (a scheduler asked for but not in
/// the file, scheduler state in the file but none asked for, a generator state that Generator::set_state
/// refuses); IoError/FormatError for unreadable or corrupt files.
///
/// Generators: a file with no "rng." entry at all (written before checkpoints carried generator state,
/// or with default_generator off and no generators) loads without touching any generator. Otherwise the
/// file's "rng." entries must match the generators asked for exactly. Returns the file's metadata.
Metadata load_checkpoint(const std::filesystem::path& path, const NamedTensors& model, Optimizer& optimizer,
                         const CheckpointExtras& extras = {});

}  // namespace tg::nn
