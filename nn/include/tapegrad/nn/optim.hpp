// Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) with PyTorch's update rules and parameter groups,
// updating leaf tensors in place from their .grad(); their state saves to and loads from named tensors.
//
//   tg::nn::Adam opt({W, b}, {.lr = 1e-3});
//   for (...) { opt.zero_grad(); loss(W, b).backward(); opt.step(); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/nn/serialize.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn {

/// Base class of the optimizers: parameter groups, each with its own options (stored as named numbers
/// so that schedulers and state dicts can treat every optimizer alike), and per-parameter state buffers
/// allocated on the first step that needs them.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter whose .grad() is defined (parameters without a gradient are left
  /// alone). Runs under NoGradGuard, writes the parameters in place and bumps their version counters.
  /// After the first step of a parameter it allocates nothing.
  void step();
  /// Clears the gradients of every parameter: undefined when set_to_none (as PyTorch's default), else
  /// zeroed in place (keeping their memory).
  void zero_grad(bool set_to_none = true);

  /// The optimizer's name ("SGD", "Adam", ...).
  virtual const char* name() const = 0;
  /// Number of parameter groups.
  std::size_t num_param_groups() const { return groups_.size(); }
  /// The parameters of group g (IndexError for a bad g).
  const std::vector<Tensor>& params(std::size_t g) const;
  /// The learning rate of group g.
  double lr(std::size_t g) const { return option(g, "lr"); }
  /// Sets the learning rate of group g (ValueError if negative).
  void set_lr(std::size_t g, double lr) { set_option(g, "lr", lr); }
  /// Option `key` of group g (ValueError for an unknown key; booleans read as 0 or 1).
  double option(std::size_t g, std::string_view key) const;
  /// Sets option `key` of group g; the group's options are validated again (ValueError).
  void set_option(std::size_t g, std::string_view key, double value);
  /// The names of this optimizer's options, in order (e.g. lr, momentum, ... for SGD).
  std::span<const std::string_view> option_names() const { return option_names_; }
  /// Steps taken so far by parameter i (numbered across groups in order), 0 before its first update.
  std::int64_t step_count(std::size_t i) const;

  /// The whole state as named tensors: "group.<g>.<option>" (0-d float64), "group.<g>.params" (the
  /// int64 indices of its parameters, numbered across groups), "state.<i>.step" (0-d int64) and
  /// "state.<i>.<buffer>" (e.g. "state.0.exp_avg") for each parameter that has been updated. The
  /// tensors are copies.
  NamedTensors state_dict() const;
  /// Adds to `problems` everything that keeps `sd` from loading into this optimizer: keys missing or
  /// unexpected, group layouts, option values, buffer shapes and dtypes. `prefix` is put before names.
  void check_state_dict(const NamedTensors& sd, StateDictProblems& problems, const std::string& prefix = "") const;
  /// Restores a state_dict() exactly (options, step counts and buffers, bit for bit), so that training
  /// resumes as if never stopped. Throws StateDictError listing every problem; nothing changes then.
  void load_state_dict(const NamedTensors& sd);

 protected:
  /// `names` lists the option keys (the first must be "lr"), `buffers` the state buffer names.
  Optimizer(std::vector<std::string_view> names, std::vector<std::string_view> buffers);

  /// One parameter group: its tensors and its option values (in option_names() order).
  struct Group {
    std::vector<Tensor> params;
    std::vector<double> options;
  };
  /// A parameter's state: its step count and its buffers (in buffer-name order; undefined until needed).
  struct ParamState {
    std::int64_t step = 0;
    std::vector<Tensor> buffers;
  };

  /// Appends a group after checking its tensors (float leaves, contiguous, not already optimized) and
  /// its options (validate()).
  void add_group(std::vector<Tensor> params, std::vector<double> options);
  /// Throws ValueError naming the first invalid option value.
  virtual void validate(std::span<const double> options) const = 0;
  /// True when buffer b is used under these options (e.g. SGD's momentum buffer needs momentum != 0).
  virtual bool needs_buffer(std::span<const double> options, std::size_t b) const = 0;
  /// The value a fresh buffer b starts from (0 except Adagrad's initial accumulator).
  virtual double buffer_init(std::span<const double> options, std::size_t b) const;
  /// Updates one parameter in place from its gradient; `fresh` has bit b set when buffer b was just
  /// created. `s.step` is already incremented (1 on the first update).
  virtual void update(std::span<const double> options, Tensor& param, const Tensor& grad, ParamState& s,
                      unsigned fresh) = 0;
  /// The index of option `key` (ValueError for an unknown one).
  std::size_t option_index(std::string_view key) const;

  std::vector<Group> groups_;
  std::vector<ParamState> state_;  // one per parameter, numbered across groups in order

 private:
  std::vector<std::string_view> option_names_;
  std::vector<std::string_view> buffer_names_;
};

/// A parameter group of an optimizer with options O: `{{W1, b1}, {.lr = 0.1}}`.
template <class O>
struct ParamGroup {
  std::vector<Tensor> params;  ///< the tensors of the group.
  O options;                   ///< the group's options.
};

/// Options of SGD (PyTorch's defaults except lr, which PyTorch requires).
struct SGDOptions {
  double lr = 1e-3;            ///< learning rate.
  double momentum = 0.0;       ///< momentum factor μ.
  double dampening = 0.0;      ///< dampening τ of the momentum buffer's gradient term.
  double weight_decay = 0.0;   ///< L2 penalty λ added to the gradient.
  bool nesterov = false;       ///< Nesterov momentum (needs momentum > 0 and dampening 0).
  /// The option keys, in the order of pack().
  static std::vector<std::string_view> names();
  /// The options as numbers in names() order (booleans as 0 or 1).
  std::vector<double> pack() const;
  /// The inverse of pack().
  static SGDOptions unpack(std::span<const double> v);
};

/// Options of Adam and AdamW.
struct AdamOptions {
  double lr = 1e-3;            ///< learning rate.
  double beta1 = 0.9;          ///< decay of the first moment.
  double beta2 = 0.999;        ///< decay of the second moment.
  double eps = 1e-8;           ///< added to the denominator.
  double weight_decay = 0.0;   ///< Adam: L2 penalty on the gradient; AdamW: decoupled decay (default 1e-2).
  bool amsgrad = false;        ///< use the running maximum of the second moment.
  /// The option keys, in the order of pack().
  static std::vector<std::string_view> names();
  /// The options as numbers in names() order (booleans as 0 or 1).
  std::vector<double> pack() const;
  /// The inverse of pack().
  static AdamOptions unpack(std::span<const double> v);
};

/// Options of RMSprop.
struct RMSpropOptions {
  double lr = 1e-2;            ///< learning rate.
  double alpha = 0.99;         ///< smoothing constant of the squared-gradient average.
  double eps = 1e-8;           ///< added to the denominator (after the square root).
  double weight_decay = 0.0;   ///< L2 penalty.
  double momentum = 0.0;       ///< momentum factor.
  bool centered = false;       ///< normalise by the estimated variance instead of the raw second moment.
  /// The option keys, in the order of pack().
  static std::vector<std::string_view> names();
  /// The options as numbers in names() order (booleans as 0 or 1).
  std::vector<double> pack() const;
  /// The inverse of pack().
  static RMSpropOptions unpack(std::span<const double> v);
};

/// Options of Adagrad.
struct AdagradOptions {
  double lr = 1e-2;                       ///< learning rate.
  double lr_decay = 0.0;                  ///< lr / (1 + (t-1)·lr_decay) at step t.
  double weight_decay = 0.0;              ///< L2 penalty.
  double initial_accumulator_value = 0.0; ///< start of the squared-gradient sum.
  double eps = 1e-10;                     ///< added to the denominator.
  /// The option keys, in the order of pack().
  static std::vector<std::string_view> names();
  /// The options as numbers in names() order (booleans as 0 or 1).
  std::vector<double> pack() const;
  /// The inverse of pack().
  static AdagradOptions unpack(std::span<const double> v);
};

/// An optimizer whose options are the struct O (the option list comes from O's conversion functions).
template <class O>
class OptimizerWith : public Optimizer {
 public:
  /// Adds a group of parameters with its own options.
  void add_param_group(std::vector<Tensor> params, const O& options) { add_group(std::move(params), options.pack()); }
  /// Adds a group that uses the default options given at construction.
  void add_param_group(std::vector<Tensor> params) { add_param_group(std::move(params), defaults_); }
  /// The options of group g.
  O options(std::size_t g) const;
  /// Replaces the options of group g (validated: ValueError).
  void set_options(std::size_t g, const O& options);
  /// The defaults given at construction.
  const O& defaults() const { return defaults_; }

 protected:
  /// `buffers` names the state buffers. Derived constructors add the groups (add_groups), since the
  /// checks call virtual functions.
  OptimizerWith(const O& defaults, std::vector<std::string_view> buffers)
      : Optimizer(O::names(), std::move(buffers)), defaults_(defaults) {}
  /// Adds every group; ValueError when they hold no parameter at all.
  void add_groups(std::vector<ParamGroup<O>> groups);

 private:
  O defaults_;
};

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (PyTorch's
/// rule: the first momentum buffer is the gradient itself, without dampening).
class SGD : public OptimizerWith<SGDOptions> {
 public:
  /// One group of parameters.
  SGD(std::vector<Tensor> params, const SGDOptions& options = {});
  /// Several groups; `defaults` serve later add_param_group calls without options.
  SGD(std::vector<ParamGroup<SGDOptions>> groups, const SGDOptions& defaults = {});
  const char* name() const override { return "SGD"; }

 protected:
  void validate(std::span<const double> o) const override;
  bool needs_buffer(std::span<const double> o, std::size_t b) const override;
  void update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned fresh) override;
};

/// Adam (Kingma & Ba) with bias corrections, optional L2 weight decay and AMSGrad.
class Adam : public OptimizerWith<AdamOptions> {
 public:
  /// One group of parameters.
  Adam(std::vector<Tensor> params, const AdamOptions& options = {});
  /// Several groups.
  Adam(std::vector<ParamGroup<AdamOptions>> groups, const AdamOptions& defaults = {});
  const char* name() const override { return "Adam"; }

 protected:
  Adam(std::vector<ParamGroup<AdamOptions>> groups, const AdamOptions& defaults, bool decoupled);
  void validate(std::span<const double> o) const override;
  bool needs_buffer(std::span<const double> o, std::size_t b) const override;
  void update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned fresh) override;

 private:
  bool decoupled_ = false;
};

/// AdamW: Adam with decoupled weight decay (p ← p − lr·λ·p before the Adam step); λ defaults to 1e-2.
class AdamW : public Adam {
 public:
  /// AdamW's defaults: Adam's, with weight_decay 1e-2.
  static AdamOptions default_options() { return AdamOptions{.weight_decay = 1e-2}; }
  /// One group of parameters.
  AdamW(std::vector<Tensor> params, const AdamOptions& options = default_options());
  /// Several groups.
  AdamW(std::vector<ParamGroup<AdamOptions>> groups, const AdamOptions& defaults = default_options());
  const char* name() const override { return "AdamW"; }
};

/// RMSprop with optional centering and momentum (square root before adding eps, as PyTorch).
class RMSprop : public OptimizerWith<RMSpropOptions> {
 public:
  /// One group of parameters.
  RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
  /// Several groups.
  RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups, const RMSpropOptions& defaults = {});
  const char* name() const override { return "RMSprop"; }

 protected:
  void validate(std::span<const double> o) const override;
  bool needs_buffer(std::span<const double> o, std::size_t b) const override;
  void update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned fresh) override;
};

/// Adagrad with learning-rate decay and an initial accumulator value.
class Adagrad : public OptimizerWith<AdagradOptions> {
 public:
  /// One group of parameters.
  Adagrad(std::vector<Tensor> params, const AdagradOptions& options = {});
  /// Several groups.
  Adagrad(std::vector<ParamGroup<AdagradOptions>> groups, const AdagradOptions& defaults = {});
  const char* name() const override { return "Adagrad"; }

 protected:
  void validate(std::span<const double> o) const override;
  bool needs_buffer(std::span<const double> o, std::size_t b) const override;
  double buffer_init(std::span<const double> o, std::size_t b) const override;
  void update(std::span<const double> o, Tensor& p, const Tensor& g, ParamState& s, unsigned fresh) override;
};

extern template class OptimizerWith<SGDOptions>;
extern template class OptimizerWith<AdamOptions>;
extern template class OptimizerWith<RMSpropOptions>;
extern template class OptimizerWith<AdagradOptions>;

}  // namespace tg::nn
