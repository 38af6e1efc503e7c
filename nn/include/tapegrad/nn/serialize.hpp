// Saving and loading tg::Tensor maps as safetensors files, strict state-dict loading (missing, unexpected
// and mismatched entries all reported at once), and training checkpoints (model tensors + optimizer
// state in one file).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn {

class Optimizer;

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

/// Saves a training checkpoint: `model` under "model.<name>" and the optimizer's state_dict() under
/// "optim.<key>", plus `metadata`, in one atomically written safetensors file.
void save_checkpoint(const std::filesystem::path& path, const NamedTensors& model, const Optimizer& optimizer,
                     const Metadata& metadata = {});

/// Restores a checkpoint written by save_checkpoint into `model` (copied in place, as load_into) and
/// `optimizer` (load_state_dict). Everything is validated before anything changes: StateDictError for
/// missing, unexpected or mismatched keys; IoError/FormatError for unreadable or corrupt files.
/// Returns the file's metadata.
Metadata load_checkpoint(const std::filesystem::path& path, const NamedTensors& model, Optimizer& optimizer);

}  // namespace tg::nn
