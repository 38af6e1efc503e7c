// Anomaly mode: a scoped guard under which the first NaN or Inf in a forward or backward pass throws an
// error naming the op, its labels, its inputs and (for backward) the path from it to the output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/error.hpp"
#include "tapegrad/tape.hpp"

namespace tg {

/// Thrown in anomaly mode at the first non-finite value. what() is the full report; the fields let tests
/// and tools inspect it.
class AnomalyError : public Error {
 public:
  AnomalyError(std::string message, std::string op, std::uint32_t slot, bool in_backward)
      : Error(std::move(message)), op_(std::move(op)), slot_(slot), in_backward_(in_backward) {}
  /// The name of the op that produced the NaN/Inf ("log", "sqrt", a custom op's name...).
  const std::string& op() const { return op_; }
  /// Its tape slot (for a forward anomaly: the slot it would have been recorded in).
  std::uint32_t slot() const { return slot_; }
  /// True when the NaN/Inf appeared in the backward sweep, false in the forward pass.
  bool in_backward() const { return in_backward_; }

 private:
  std::string op_;
  std::uint32_t slot_;
  bool in_backward_;
};

/// Turns anomaly detection on (or off) for this thread within a scope, as torch.autograd.detect_anomaly.
/// It costs one predictable branch per recorded op while off; while on, every recorded value is checked
/// and backward runs a checked sweep (slower, and it keeps a slot-sized scratch array).
class AnomalyGuard {
 public:
  /// Enables (or, with false, disables) anomaly mode until the guard is destroyed. Guards nest.
  explicit AnomalyGuard(bool enabled = true) : prev_(detail::tl_anomaly) { detail::tl_anomaly = enabled; }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;
  ~AnomalyGuard() { detail::tl_anomaly = prev_; }

 private:
  bool prev_;
};

/// Same as AnomalyGuard, named like PyTorch's context manager: `auto g = tg::detect_anomaly();`.
using detect_anomaly = AnomalyGuard;

/// True when anomaly mode is on for this thread.
inline bool anomaly_enabled() { return detail::tl_anomaly; }

namespace detail {
/// Describes slot i of a tape for reports: `'mul' (label 'h1') at slot 12`.
std::string describe_slot(const Tape& tape, std::uint32_t i);
/// The ops on the way from slot `from` up to slot `top` for a report, found through `via` (the consumer
/// that first propagated to each slot); long paths are elided in the middle.
std::string describe_path(const Tape& tape, const std::vector<std::uint32_t>& via, std::uint32_t from,
                          std::uint32_t top);
/// Throws AnomalyError if v, the forward value of an n-ary or custom op, is NaN or Inf.
void anomaly_forward_node(const char* name, double v, const std::vector<double>& inputs,
                          const std::vector<std::uint32_t>& slots);
}  // namespace detail

}  // namespace tg
