// The optimizer base: parameter groups, the step loop (state allocation, version bumps), zero_grad, and
// the state dict with its strict validation.
#include "tapegrad/nn/optim.hpp"

#include <algorithm>
#include <map>

namespace tg::nn {

namespace {

bool is_scalar(const Tensor& t, Dtype d) { return t.defined() && t.dim() == 0 && t.dtype() == d; }

}  // namespace

Optimizer::Optimizer(std::vector<std::string_view> names, std::vector<std::string_view> buffers)
    : option_names_(std::move(names)), buffer_names_(std::move(buffers)) {}

const std::vector<Tensor>& Optimizer::params(std::size_t g) const {
  if (g >= groups_.size()) {
    throw IndexError(std::string(name()) + ": parameter group " + std::to_string(g) + " does not exist (" +
                     std::to_string(groups_.size()) + " groups)");
  }
  return groups_[g].params;
}

std::size_t Optimizer::option_index(std::string_view key) const {
  for (std::size_t i = 0; i < option_names_.size(); ++i) {
    if (option_names_[i] == key) return i;
  }
  std::string known;
  for (std::string_view n : option_names_) known += (known.empty() ? "" : ", ") + std::string(n);
  throw ValueError(std::string(name()) + ": unknown option '" + std::string(key) + "' (options: " + known + ")");
}

double Optimizer::option(std::size_t g, std::string_view key) const {
  params(g);
  return groups_[g].options[option_index(key)];
}

void Optimizer::set_option(std::size_t g, std::string_view key, double value) {
  params(g);
  std::vector<double> o = groups_[g].options;
  o[option_index(key)] = value;
  validate(o);
  groups_[g].options = std::move(o);
}

std::int64_t Optimizer::step_count(std::size_t i) const {
  if (i >= state_.size()) {
    throw IndexError(std::string(name()) + ": parameter " + std::to_string(i) + " does not exist (" +
                     std::to_string(state_.size()) + " parameters)");
  }
  return state_[i].step;
}

double Optimizer::buffer_init(std::span<const double>, std::size_t) const { return 0.0; }

void Optimizer::add_group(std::vector<Tensor> params, std::vector<double> options) {
  validate(options);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    const std::string what = std::string(name()) + ": parameter " + std::to_string(i) + " of group " +
                             std::to_string(groups_.size());
    if (!p.defined()) throw ValueError(what + " is undefined");
    if (!is_floating(p.dtype())) {
      throw DtypeError(what + " has dtype " + dtype_name(p.dtype()) + "; only float32/float64 tensors can be optimized");
    }
    if (!p.is_leaf()) {
      throw ValueError(what + " is not a leaf (it was computed by recorded ops); optimize the leaf tensors");
    }
    if (!p.is_contiguous()) throw ValueError(what + " is a non-contiguous view; optimize a contiguous tensor");
    auto same = [&](const Tensor& q) { return q.impl() == p.impl(); };
    bool seen = std::any_of(params.begin(), params.begin() + static_cast<std::ptrdiff_t>(i), same);
    for (const Group& g : groups_) seen = seen || std::any_of(g.params.begin(), g.params.end(), same);
    if (seen) throw ValueError(what + " appears more than once among the optimizer's parameters");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    state_.push_back(ParamState{0, std::vector<Tensor>(buffer_names_.size())});
  }
  groups_.push_back(Group{std::move(params), std::move(options)});
}

void Optimizer::step() {
  NoGradGuard no_grad;
  std::size_t k = 0;
  for (Group& group : groups_) {
    const std::span<const double> o(group.options);
    for (Tensor& p : group.params) {
      ParamState& s = state_[k++];
      tg::detail::TensorImpl* gi = p.impl()->grad.get();
      if (gi == nullptr) continue;
      if (gi->shape != p.shape() || gi->dtype != p.dtype() || !gi->contiguous) {
        throw ShapeError(std::string(name()) + ".step: parameter " + std::to_string(k - 1) + " of shape " +
                         shape_str(p.shape()) + " (" + dtype_name(p.dtype()) + ") has a gradient of shape " +
                         shape_str(gi->shape) + " (" + dtype_name(gi->dtype) + ")");
      }
      unsigned fresh = 0;
      for (std::size_t b = 0; b < buffer_names_.size(); ++b) {
        if (!needs_buffer(o, b) || s.buffers[b].defined()) continue;
        s.buffers[b] = full(p.shape(), buffer_init(o, b), {.dtype = p.dtype()});
        fresh |= 1u << b;
      }
      ++s.step;
      const Tensor g = Tensor(p.impl()->grad);
      update(o, p, g, s, fresh);
      // The update wrote through the raw data: bump the version as the in-place ops do, so that a graph
      // which saved the old values refuses to backpropagate through them.
      ++p.impl()->storage->version;
    }
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (Group& group : groups_) {
    for (Tensor& p : group.params) {
      if (set_to_none) {
        p.impl()->grad.reset();
      } else {
        p.zero_grad();
      }
    }
  }
}

NamedTensors Optimizer::state_dict() const {
  NoGradGuard no_grad;
  NamedTensors out;
  std::int64_t k = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string head = "group." + std::to_string(g) + ".";
    for (std::size_t i = 0; i < option_names_.size(); ++i) {
      out.emplace_back(head + std::string(option_names_[i]), scalar_tensor(groups_[g].options[i], {.dtype = kFloat64}));
    }
    std::vector<std::int64_t> idx(groups_[g].params.size());
    for (auto& v : idx) v = k++;
    out.emplace_back(head + "params", tensor(idx, Shape{static_cast<std::int64_t>(idx.size())}));
  }
  std::size_t i = 0;
  for (const Group& group : groups_) {
    for (std::size_t j = 0; j < group.params.size(); ++j, ++i) {
      const ParamState& s = state_[i];
      if (s.step == 0) continue;
      const std::string head = "state." + std::to_string(i) + ".";
      out.emplace_back(head + "step", scalar_tensor(static_cast<double>(s.step), {.dtype = kInt64}));
      for (std::size_t b = 0; b < buffer_names_.size(); ++b) {
        if (!needs_buffer(group.options, b) || !s.buffers[b].defined()) continue;
        out.emplace_back(head + std::string(buffer_names_[b]), s.buffers[b].clone());
      }
    }
  }
  return out;
}

void Optimizer::check_state_dict(const NamedTensors& sd, StateDictProblems& problems,
                                 const std::string& prefix) const {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [key, t] : sd) {
    if (!by_name.emplace(key, &t).second) problems.mismatched.push_back(prefix + key + ": appears twice");
  }
  std::map<std::string, bool> used;
  auto find = [&](const std::string& key) -> const Tensor* {
    auto it = by_name.find(key);
    if (it == by_name.end()) {
      problems.missing.push_back(prefix + key);
      return nullptr;
    }
    used[key] = true;
    return it->second;
  };
  std::size_t k = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string head = "group." + std::to_string(g) + ".";
    std::vector<double> opts = groups_[g].options;
    bool opts_ok = true;
    for (std::size_t i = 0; i < option_names_.size(); ++i) {
      const std::string key = head + std::string(option_names_[i]);
      const Tensor* t = find(key);
      if (t == nullptr) {
        opts_ok = false;
      } else if (!is_scalar(*t, kFloat64)) {
        problems.mismatched.push_back(prefix + key + ": expected a 0-d float64 tensor, got " +
                                      shape_str(t->shape()) + " " + dtype_name(t->dtype()));
        opts_ok = false;
      } else {
        opts[i] = t->item();
      }
    }
    if (opts_ok) {
      try {
        validate(opts);
      } catch (const ValueError& e) {
        problems.mismatched.push_back(prefix + head + "*: " + e.what());
        opts_ok = false;
      }
    }
    const std::size_t n = groups_[g].params.size();
    if (const Tensor* t = find(head + "params")) {
      std::vector<std::int64_t> want(n);
      for (std::size_t j = 0; j < n; ++j) want[j] = static_cast<std::int64_t>(k + j);
      if (t->dtype() != kInt64 || t->dim() != 1 || t->to_vector<std::int64_t>() != want) {
        problems.mismatched.push_back(prefix + head + "params: group " + std::to_string(g) + " has " +
                                      std::to_string(n) + " parameters here, numbered from " + std::to_string(k) +
                                      "; the state dict's group differs (" + shape_str(t->shape()) + " " +
                                      dtype_name(t->dtype()) + ")");
      }
    }
    for (std::size_t j = 0; j < n; ++j, ++k) {
      const std::string sh = "state." + std::to_string(k) + ".";
      if (by_name.find(sh + "step") == by_name.end()) continue;
      const Tensor* st = find(sh + "step");
      if (!is_scalar(*st, kInt64) || st->item() < 1) {
        problems.mismatched.push_back(prefix + sh + "step: expected a 0-d int64 tensor >= 1");
      }
      if (!opts_ok) {
        // Without the group's options the needed buffers are unknown: do not call them unexpected.
        for (auto it = by_name.lower_bound(sh); it != by_name.end() && it->first.starts_with(sh); ++it) {
          used[it->first] = true;
        }
        continue;
      }
      const Tensor& p = groups_[g].params[j];
      for (std::size_t b = 0; b < buffer_names_.size(); ++b) {
        if (!needs_buffer(opts, b)) continue;
        const std::string key = sh + std::string(buffer_names_[b]);
        const Tensor* t = find(key);
        if (t != nullptr && (t->shape() != p.shape() || t->dtype() != p.dtype())) {
          problems.mismatched.push_back(prefix + key + ": expected " + shape_str(p.shape()) + " " +
                                        dtype_name(p.dtype()) + ", got " + shape_str(t->shape()) + " " +
                                        dtype_name(t->dtype()));
        }
      }
    }
  }
  for (const auto& [key, t] : by_name) {
    if (!used.count(key)) problems.unexpected.push_back(prefix + key);
  }
}

void Optimizer::load_state_dict(const NamedTensors& sd) {
  StateDictProblems problems;
  check_state_dict(sd, problems);
  if (!problems.empty()) throw StateDictError(std::string(name()) + ".load_state_dict", std::move(problems));
  NoGradGuard no_grad;
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [key, t] : sd) by_name.emplace(key, &t);
  std::size_t k = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    Group& group = groups_[g];
    const std::string head = "group." + std::to_string(g) + ".";
    for (std::size_t i = 0; i < option_names_.size(); ++i) {
      group.options[i] = by_name.at(head + std::string(option_names_[i]))->item();
    }
    for (std::size_t j = 0; j < group.params.size(); ++j, ++k) {
      ParamState& s = state_[k];
      const std::string sh = "state." + std::to_string(k) + ".";
      auto st = by_name.find(sh + "step");
      s.step = st == by_name.end() ? 0 : st->second->item<std::int64_t>();
      for (std::size_t b = 0; b < buffer_names_.size(); ++b) {
        s.buffers[b] = Tensor();
        if (s.step == 0 || !needs_buffer(group.options, b)) continue;
        s.buffers[b] = by_name.at(sh + std::string(buffer_names_[b]))->detach().clone();
      }
    }
  }
}

// --- OptimizerWith -------------------------------------------------------------------------------------

template <class O>
O OptimizerWith<O>::options(std::size_t g) const {
  params(g);
  return O::unpack(groups_[g].options);
}

template <class O>
void OptimizerWith<O>::set_options(std::size_t g, const O& options) {
  params(g);
  std::vector<double> o = options.pack();
  validate(o);
  groups_[g].options = std::move(o);
}

template <class O>
void OptimizerWith<O>::add_groups(std::vector<ParamGroup<O>> groups) {
  std::size_t total = 0;
  for (const ParamGroup<O>& g : groups) total += g.params.size();
  if (total == 0) throw ValueError(std::string(name()) + ": got an empty parameter list");
  for (ParamGroup<O>& g : groups) add_param_group(std::move(g.params), g.options);
}

std::vector<std::string_view> SGDOptions::names() {
  return {"lr", "momentum", "dampening", "weight_decay", "nesterov"};
}
std::vector<double> SGDOptions::pack() const {
  return {lr, momentum, dampening, weight_decay, nesterov ? 1.0 : 0.0};
}
SGDOptions SGDOptions::unpack(std::span<const double> v) {
  return {.lr = v[0], .momentum = v[1], .dampening = v[2], .weight_decay = v[3], .nesterov = v[4] != 0.0};
}

std::vector<std::string_view> AdamOptions::names() {
  return {"lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"};
}
std::vector<double> AdamOptions::pack() const {
  return {lr, beta1, beta2, eps, weight_decay, amsgrad ? 1.0 : 0.0};
}
AdamOptions AdamOptions::unpack(std::span<const double> v) {
  return {.lr = v[0], .beta1 = v[1], .beta2 = v[2], .eps = v[3], .weight_decay = v[4], .amsgrad = v[5] != 0.0};
}

std::vector<std::string_view> RMSpropOptions::names() {
  return {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"};
}
std::vector<double> RMSpropOptions::pack() const {
  return {lr, alpha, eps, weight_decay, momentum, centered ? 1.0 : 0.0};
}
RMSpropOptions RMSpropOptions::unpack(std::span<const double> v) {
  return {.lr = v[0], .alpha = v[1], .eps = v[2], .weight_decay = v[3], .momentum = v[4], .centered = v[5] != 0.0};
}

std::vector<std::string_view> AdagradOptions::names() {
  return {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"};
}
std::vector<double> AdagradOptions::pack() const {
  return {lr, lr_decay, weight_decay, initial_accumulator_value, eps};
}
AdagradOptions AdagradOptions::unpack(std::span<const double> v) {
  return {.lr = v[0], .lr_decay = v[1], .weight_decay = v[2], .initial_accumulator_value = v[3], .eps = v[4]};
}

template class OptimizerWith<SGDOptions>;
template class OptimizerWith<AdamOptions>;
template class OptimizerWith<RMSpropOptions>;
template class OptimizerWith<AdagradOptions>;

}  // namespace tg::nn
