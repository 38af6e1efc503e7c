// Learning-rate schedulers, as torch.optim.lr_scheduler: each sets the lr of every parameter group of an
// optimizer. StepLR, ExponentialLR and CosineAnnealingLR use PyTorch's closed forms of the epoch count;
// ReduceLROnPlateau lowers the lr when a metric stops improving.
//
//   tg::nn::StepLR sched(opt, {.step_size = 30, .gamma = 0.1});
//   for (epoch ...) { train(); sched.step(); }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/nn/optim.hpp"

namespace tg::nn {

/// A schedule of the lr as a function of the epoch count, applied to every group of an optimizer. The
/// optimizer must outlive the scheduler. Construction records each group's current lr as its base lr and
/// applies epoch 0 (which leaves the lr unchanged for the schedules here).
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch and sets each group's lr to the schedule's value.
  void step();
  /// Number of step() calls so far (PyTorch's last_epoch).
  std::int64_t last_epoch() const { return last_epoch_; }
  /// Jumps to `epoch` (>= 0, else ValueError) and applies it, e.g. when resuming training.
  void set_epoch(std::int64_t epoch);
  /// The lr of each group as last set by this scheduler.
  const std::vector<double>& last_lr() const { return last_lr_; }
  /// The lr of each group when the scheduler was made.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The scheduler's progress: "last_epoch" (0-d int64), "base_lrs" and "last_lr" (float64 [groups]).
  NamedTensors state_dict() const;
  /// Adds to `problems` everything that keeps `sd` from loading: missing, unexpected or mismatched
  /// entries and a negative last_epoch. `prefix` is put before names.
  void check_state_dict(const NamedTensors& sd, StateDictProblems& problems, const std::string& prefix = "") const;
  /// Restores a state_dict() (the optimizer's lrs are not touched: they live in its own state). Throws
  /// StateDictError for missing, unexpected or mismatched entries; nothing changes then.
  void load_state_dict(const NamedTensors& sd);

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  /// The lr of a group with base lr `base` at `epoch`.
  virtual double lr_at(double base, std::int64_t epoch) const = 0;
  /// Applies last_epoch to every group (called by the derived constructors once their options are set).
  void apply();

 private:
  Optimizer* opt_;
  std::int64_t last_epoch_ = 0;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
};

/// Options of StepLR.
struct StepLROptions {
  std::int64_t step_size = 1;  ///< epochs between decays (>= 1).
  double gamma = 0.1;          ///< factor applied every step_size epochs.
};

/// lr = base · gamma^⌊epoch / step_size⌋.
class StepLR : public LRScheduler {
 public:
  /// Schedules every group of `optimizer`; ValueError when step_size < 1.
  StepLR(Optimizer& optimizer, StepLROptions options);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;

 private:
  StepLROptions o_;
};

/// lr = base · gamma^epoch.
class ExponentialLR : public LRScheduler {
 public:
  /// Schedules every group of `optimizer` with decay factor gamma.
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;

 private:
  double gamma_;
};

/// Options of CosineAnnealingLR.
struct CosineAnnealingLROptions {
  std::int64_t t_max = 1;  ///< half period in epochs (>= 1).
  double eta_min = 0.0;    ///< the lowest lr.
};

/// lr = eta_min + (base − eta_min)·(1 + cos(π·epoch / t_max)) / 2 (PyTorch's closed form; it rises again
/// after t_max, without restarts).
class CosineAnnealingLR : public LRScheduler {
 public:
  /// Schedules every group of `optimizer`; ValueError when t_max < 1.
  CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions options);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;

 private:
  CosineAnnealingLROptions o_;
};

/// Options of ReduceLROnPlateau (PyTorch's defaults).
struct ReduceLROnPlateauOptions {
  enum class Mode { Min, Max };
  enum class ThresholdMode { Rel, Abs };
  Mode mode = Mode::Min;                          ///< whether lower (Min) or higher (Max) metrics are better.
  double factor = 0.1;                            ///< new lr = lr · factor (must be < 1).
  std::int64_t patience = 10;                     ///< bad epochs tolerated before a reduction.
  double threshold = 1e-4;                        ///< how much better a metric must be to count.
  ThresholdMode threshold_mode = ThresholdMode::Rel; ///< Rel: best·(1 ∓ threshold); Abs: best ∓ threshold.
  std::int64_t cooldown = 0;                      ///< epochs after a reduction during which bad epochs are not counted.
  double min_lr = 0.0;                            ///< lower bound of every group's lr.
  double eps = 1e-8;                              ///< reductions smaller than this are skipped.
};

/// Multiplies every group's lr by `factor` when the metric passed to step() has not improved for more
/// than `patience` epochs.
class ReduceLROnPlateau {
 public:
  /// Watches a metric for `optimizer`; ValueError for factor >= 1 or negative patience/cooldown/threshold.
  ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  /// Records one epoch's metric and reduces the lr if it has stalled.
  void step(double metric);
  /// The best metric so far (+inf/-inf before the first step).
  double best() const { return best_; }
  /// Epochs since the last improvement (reset by a reduction and during cooldown).
  std::int64_t num_bad_epochs() const { return bad_epochs_; }
  /// Epochs of cooldown left.
  std::int64_t cooldown_counter() const { return cooldown_counter_; }
  /// Number of step() calls.
  std::int64_t last_epoch() const { return last_epoch_; }
  /// The progress: "best" (0-d float64), "num_bad_epochs", "cooldown_counter", "last_epoch" (0-d int64).
  NamedTensors state_dict() const;
  /// Adds to `problems` everything that keeps `sd` from loading: missing, unexpected or mismatched
  /// entries and negative counters. `prefix` is put before names.
  void check_state_dict(const NamedTensors& sd, StateDictProblems& problems, const std::string& prefix = "") const;
  /// Restores a state_dict(); StateDictError for missing, unexpected or mismatched entries.
  void load_state_dict(const NamedTensors& sd);

 private:
  bool is_better(double a) const;
  Optimizer* opt_;
  ReduceLROnPlateauOptions o_;
  double best_;
  std::int64_t bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::int64_t last_epoch_ = 0;
};

}  // namespace tg::nn
