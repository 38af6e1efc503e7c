// tg::nn::Module: the base of every layer and model. A module owns named parameters (leaf tensors that
// live outside any tape), buffers (state such as running statistics) and submodules, and offers the
// LibTorch vocabulary over that tree: parameters(), named_parameters() with dotted names, train()/eval(),
// zero_grad(), state_dict()/load_state_dict() and a printed summary. The forward pass is an ordinary member
// function of any signature; UnaryModule adds the `Tensor forward(const Tensor&)` that Sequential calls.
//
//     struct Net : tg::nn::Module {
//       std::shared_ptr<tg::nn::Linear> fc1, fc2;
//       Net() {
//         fc1 = register_module("fc1", tg::nn::Linear(784, 64));
//         fc2 = register_module("fc2", tg::nn::Linear(64, 10));
//       }
//       tg::Tensor forward(const tg::Tensor& x) { return fc2->forward(tg::relu(fc1->forward(x))); }
//     };
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/nn/state_dict.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn {

/// What load_state_dict() tolerated when called with strict = false (empty lists after a strict load).
struct LoadStateDictResult {
  std::vector<std::string> missing_keys;     ///< names the module has but the dict lacks
  std::vector<std::string> unexpected_keys;  ///< names the dict has but the module lacks
};

/// Base class of layers and models. Not copyable (it owns parameters); movable, so that a layer built
/// on the stack can be handed to register_module or Sequential.
class Module {
 public:
  /// A module printed under its C++ type name (demangled, without the `tg::nn::` prefix).
  Module() = default;
  /// A module printed as `name`.
  explicit Module(std::string name) : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // --- building the tree -------------------------------------------------------------------------------
  /// Registers t as parameter `name` and returns the handle to keep as a member. A tensor computed by a
  /// recorded op is detached first, so a parameter is always a leaf outside any tape. ValueError for an
  /// empty name, a name with a '.', a name already used, or an undefined tensor; DtypeError when a
  /// gradient is asked for a non-float tensor.
  Tensor register_parameter(std::string name, Tensor t, bool requires_grad = true);
  /// Registers t as buffer `name` (state that is not trained, such as running statistics). Persistent
  /// buffers appear in state_dict(). Returns the handle. Same name rules as register_parameter.
  Tensor register_buffer(std::string name, Tensor t, bool persistent = true);
  /// Registers a submodule and returns it, so that `fc = register_module("fc", std::make_shared<...>)`.
  template <class M>
    requires std::derived_from<M, Module>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    add_child(std::move(name), m);
    return m;
  }
  /// Moves a module built by value into shared ownership and registers it:
  /// `fc = register_module("fc", tg::nn::Linear(2, 3))`.
  template <class M>
    requires std::derived_from<std::remove_cvref_t<M>, Module> && (!std::is_lvalue_reference_v<M>)
  std::shared_ptr<std::remove_cvref_t<M>> register_module(std::string name, M&& m) {
    return register_module(std::move(name), std::make_shared<std::remove_cvref_t<M>>(std::move(m)));
  }
  /// Replaces the registered submodule `name` (IndexError when absent) and returns the new one.
  template <class M>
    requires std::derived_from<M, Module>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> m) {
    replace_child(name, m);
    return m;
  }

  // --- walking the tree ----------------------------------------------------------------------------
  /// The parameters of this module and (with recurse) of its descendants, in registration order. A
  /// parameter shared by several modules (tied weights) is listed once, under its first name.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// The parameters under dotted names, e.g. "layers.0.weight" (shared ones once).
  StateDict named_parameters(bool recurse = true) const;
  /// The buffers of this module and (with recurse) of its descendants.
  std::vector<Tensor> buffers(bool recurse = true) const;
  /// The buffers under dotted names.
  StateDict named_buffers(bool recurse = true) const;
  /// The direct submodules in registration order.
  std::vector<std::shared_ptr<Module>> children() const;
  /// The direct submodules with their names.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  /// This module and every descendant in pre-order (non-owning pointers, valid while the tree lives).
  std::vector<Module*> modules();
  /// Like modules(), with dotted names ("" for this module).
  std::vector<std::pair<std::string, Module*>> named_modules();
  /// The generators that modules of the tree own and draw from instead of the default generator (a
  /// Dropout given a seed), under the owner's dotted name ("" for this module), in pre-order. Like
  /// state_dict(), it hands out the modules' own objects; checkpoints save and restore their state.
  std::vector<std::pair<std::string, Generator*>> named_generators() const;
  /// Calls fn on this module and then on every descendant in pre-order (e.g. a custom initialisation).
  Module& apply(const std::function<void(Module&)>& fn);
  /// Calls fn with each module's dotted name ("" for this module) in pre-order.
  Module& apply(const std::function<void(const std::string&, Module&)>& fn);

  // --- modes and gradients -----------------------------------------------------------------------------
  /// Switches this module and its descendants to training (on) or evaluation (off) behaviour: Dropout
  /// drops only in training, BatchNorm uses batch statistics only in training.
  Module& train(bool on = true);
  /// Same as train(false).
  Module& eval() { return train(false); }
  /// True in training mode (the default).
  bool is_training() const { return training_; }
  /// Clears every parameter's accumulated gradient: zeroed in place, keeping its memory for the next
  /// step (the default), or dropped (grad() undefined) with set_to_none, as PyTorch's default.
  void zero_grad(bool set_to_none = false);
  /// Turns gradients on or off for every parameter of the tree (freezing when off).
  Module& requires_grad_(bool on = true);
  /// Freezes every parameter (requires_grad off): an optimizer then leaves them unchanged.
  Module& freeze() { return requires_grad_(false); }
  /// Unfreezes every parameter.
  Module& unfreeze() { return requires_grad_(true); }
  /// Number of parameter elements in the tree (only those requiring a gradient with trainable_only).
  std::int64_t num_parameters(bool trainable_only = false) const;
  /// Converts every parameter and buffer of the tree to dtype d in place: the handles that members,
  /// other modules or your code hold stay valid and see the new dtype. Floating tensors only (int64 and
  /// bool buffers keep their dtype). Drops accumulated gradients; do it before creating an optimizer.
  Module& to(Dtype d);

  // --- state -------------------------------------------------------------------------------------------
  /// Parameters and persistent buffers under dotted names, in registration order. The tensors are the
  /// module's own (sharing data): clone them to keep a snapshot.
  StateDict state_dict() const;
  /// Copies the values of dict into this module's parameters and buffers in place (so optimizers holding
  /// them keep working). Every name, shape and dtype is checked first: with strict, any missing or
  /// unexpected key fails; shape and dtype mismatches always fail. All problems are listed in one
  /// ValueError and nothing is copied when it is thrown.
  LoadStateDictResult load_state_dict(const StateDict& dict, bool strict = true);

  // --- printing ----------------------------------------------------------------------------------------
  /// The type name shown when printing ("Linear", or the name given to the constructor).
  std::string name() const;
  /// Writes this module's one-line description, e.g. "Linear(in_features=2, out_features=3, bias=true)".
  /// Override it to show a layer's options; the default writes name().
  virtual void pretty_print(std::ostream& os) const;
  /// A table of every module in the tree with its parameter count, and the totals (trainable, frozen,
  /// buffers).
  std::string summary() const;

 protected:
  /// Called by train() on each module after its flag changed (override to react to mode switches).
  virtual void on_train(bool on) { (void)on; }
  /// The generator this module draws from instead of the default one, or nullptr. A module that owns a
  /// Generator overrides it, so that named_generators() and checkpoints find it.
  virtual Generator* own_generator() const { return nullptr; }

 private:
  void add_child(std::string name, std::shared_ptr<Module> m);
  void replace_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what) const;
  template <class F>
  void walk(const std::string& prefix, F&& f) const;
  template <class F>
  void visit(F&& f) const;

  struct Buffer {
    Tensor tensor;
    bool persistent = true;
  };
  std::string name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Buffer>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

/// Prints the module tree as LibTorch does: the module's description, then each child indented as
/// "(name): ...".
std::ostream& operator<<(std::ostream& os, const Module& m);

/// A module whose forward takes and returns one tensor: the members of Sequential, the layers and
/// activations. Call it as `layer(x)` or `layer.forward(x)`.
class UnaryModule : public Module {
 public:
  using Module::Module;
  /// The forward pass.
  virtual Tensor forward(const Tensor& x) = 0;
  /// Same as forward(x).
  Tensor operator()(const Tensor& x) { return forward(x); }
};

/// A module with a `forward(const Tensor&)` returning a Tensor (whether or not it derives UnaryModule).
template <class M>
concept TensorToTensorModule = std::derived_from<M, Module> && requires(M& m, const Tensor& x) {
  { m.forward(x) } -> std::convertible_to<Tensor>;
};

/// Wraps a function as a module (no parameters), so that a lambda can sit in a Sequential.
class Functional : public UnaryModule {
 public:
  /// A module that calls fn; printed as `name`.
  explicit Functional(std::function<Tensor(const Tensor&)> fn, std::string name = "Functional");
  /// fn(x).
  Tensor forward(const Tensor& x) override { return fn_(x); }

 private:
  std::function<Tensor(const Tensor&)> fn_;
};

}  // namespace tg::nn
