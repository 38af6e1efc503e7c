// Learning-rate schedulers. The epoch schedules are closed forms of the epoch count, so jumping to an
// epoch (set_epoch) gives the same lr as stepping there.
#include "tapegrad/nn/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

namespace tg::nn {

namespace {

// The entries of sd under the names of `want`, in want's order (after a check found them all).
std::vector<const Tensor*> take(const NamedTensors& sd, const NamedTensors& want) {
  std::vector<const Tensor*> out;
  for (const auto& [key, w] : want) {
    for (const auto& [k, t] : sd) {
      if (k == key) {
        out.push_back(&t);
        break;
      }
    }
  }
  return out;
}

// Checks sd against `want` (names, shapes, dtypes) and, when those fit, that none of the 0-d int64
// `counters` is negative; adds what it finds to problems.
void check_state(const NamedTensors& want, const NamedTensors& sd, const std::vector<std::string>& counters,
                 StateDictProblems& problems, const std::string& prefix) {
  StateDictProblems found;
  check_named_tensors(want, sd, found, prefix);
  if (found.empty()) {
    for (const auto& [k, t] : sd) {
      for (const std::string& key : counters) {
        if (k == key && t.item<std::int64_t>() < 0) found.mismatched.push_back(prefix + key + ": must be >= 0");
      }
    }
  }
  problems.missing.insert(problems.missing.end(), found.missing.begin(), found.missing.end());
  problems.unexpected.insert(problems.unexpected.end(), found.unexpected.begin(), found.unexpected.end());
  problems.mismatched.insert(problems.mismatched.end(), found.mismatched.begin(), found.mismatched.end());
}

Tensor int_scalar(std::int64_t v) { return scalar_tensor(static_cast<double>(v), {.dtype = kInt64}); }

Tensor doubles(const std::vector<double>& v) {
  return tensor(v, Shape{static_cast<std::int64_t>(v.size())}, {.dtype = kFloat64});
}

}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer) : opt_(&optimizer) {
  for (std::size_t g = 0; g < optimizer.num_param_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
  last_lr_ = base_lrs_;
}

void LRScheduler::apply() {
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    last_lr_[g] = lr_at(base_lrs_[g], last_epoch_);
    opt_->set_lr(g, last_lr_[g]);
  }
}

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

void LRScheduler::set_epoch(std::int64_t epoch) {
  if (epoch < 0) throw ValueError("LRScheduler::set_epoch: epoch must be >= 0, got " + std::to_string(epoch));
  last_epoch_ = epoch;
  apply();
}

NamedTensors LRScheduler::state_dict() const {
  return {{"last_epoch", int_scalar(last_epoch_)}, {"base_lrs", doubles(base_lrs_)}, {"last_lr", doubles(last_lr_)}};
}

void LRScheduler::check_state_dict(const NamedTensors& sd, StateDictProblems& problems,
                                   const std::string& prefix) const {
  check_state(state_dict(), sd, {"last_epoch"}, problems, prefix);
}

void LRScheduler::load_state_dict(const NamedTensors& sd) {
  StateDictProblems problems;
  check_state_dict(sd, problems);
  if (!problems.empty()) throw StateDictError("LRScheduler::load_state_dict", std::move(problems));
  const std::vector<const Tensor*> t = take(sd, state_dict());
  last_epoch_ = t[0]->item<std::int64_t>();
  base_lrs_ = t[1]->to_vector<double>();
  last_lr_ = t[2]->to_vector<double>();
}

StepLR::StepLR(Optimizer& optimizer, StepLROptions options) : LRScheduler(optimizer), o_(options) {
  if (o_.step_size < 1) throw ValueError("StepLR: step_size must be >= 1, got " + std::to_string(o_.step_size));
  apply();
}

double StepLR::lr_at(double base, std::int64_t epoch) const {
  return base * std::pow(o_.gamma, static_cast<double>(epoch / o_.step_size));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) { apply(); }

double ExponentialLR::lr_at(double base, std::int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions options)
    : LRScheduler(optimizer), o_(options) {
  if (o_.t_max < 1) throw ValueError("CosineAnnealingLR: t_max must be >= 1, got " + std::to_string(o_.t_max));
  apply();
}

double CosineAnnealingLR::lr_at(double base, std::int64_t epoch) const {
  const double c = std::cos(std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(o_.t_max));
  return o_.eta_min + (base - o_.eta_min) * (1.0 + c) / 2.0;
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : opt_(&optimizer), o_(options) {
  if (!(o_.factor < 1.0) || !(o_.factor >= 0.0)) {
    throw ValueError("ReduceLROnPlateau: factor must be in [0, 1), got " + std::to_string(o_.factor));
  }
  if (o_.patience < 0) throw ValueError("ReduceLROnPlateau: patience must be >= 0, got " + std::to_string(o_.patience));
  if (o_.cooldown < 0) throw ValueError("ReduceLROnPlateau: cooldown must be >= 0, got " + std::to_string(o_.cooldown));
  if (!(o_.threshold >= 0.0)) {
    throw ValueError("ReduceLROnPlateau: threshold must be >= 0, got " + std::to_string(o_.threshold));
  }
  if (!(o_.min_lr >= 0.0)) throw ValueError("ReduceLROnPlateau: min_lr must be >= 0, got " + std::to_string(o_.min_lr));
  const double inf = std::numeric_limits<double>::infinity();
  best_ = o_.mode == ReduceLROnPlateauOptions::Mode::Min ? inf : -inf;
}

bool ReduceLROnPlateau::is_better(double a) const {
  using M = ReduceLROnPlateauOptions::Mode;
  using T = ReduceLROnPlateauOptions::ThresholdMode;
  if (o_.mode == M::Min) {
    return o_.threshold_mode == T::Rel ? a < best_ * (1.0 - o_.threshold) : a < best_ - o_.threshold;
  }
  return o_.threshold_mode == T::Rel ? a > best_ * (1.0 + o_.threshold) : a > best_ + o_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > o_.patience) {
    for (std::size_t g = 0; g < opt_->num_param_groups(); ++g) {
      const double old_lr = opt_->lr(g);
      const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
      if (old_lr - new_lr > o_.eps) opt_->set_lr(g, new_lr);
    }
    cooldown_counter_ = o_.cooldown;
    bad_epochs_ = 0;
  }
}

NamedTensors ReduceLROnPlateau::state_dict() const {
  return {{"best", scalar_tensor(best_, {.dtype = kFloat64})},
          {"num_bad_epochs", int_scalar(bad_epochs_)},
          {"cooldown_counter", int_scalar(cooldown_counter_)},
          {"last_epoch", int_scalar(last_epoch_)}};
}

void ReduceLROnPlateau::check_state_dict(const NamedTensors& sd, StateDictProblems& problems,
                                         const std::string& prefix) const {
  check_state(state_dict(), sd, {"num_bad_epochs", "cooldown_counter", "last_epoch"}, problems, prefix);
}

void ReduceLROnPlateau::load_state_dict(const NamedTensors& sd) {
  StateDictProblems problems;
  check_state_dict(sd, problems);
  if (!problems.empty()) throw StateDictError("ReduceLROnPlateau::load_state_dict", std::move(problems));
  const std::vector<const Tensor*> t = take(sd, state_dict());
  best_ = t[0]->item();
  bad_epochs_ = t[1]->item<std::int64_t>();
  cooldown_counter_ = t[2]->item<std::int64_t>();
  last_epoch_ = t[3]->item<std::int64_t>();
}

}  // namespace tg::nn
