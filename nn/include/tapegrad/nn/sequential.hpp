// Sequential (a chain of one-tensor modules, named "0", "1", ...) and the MLP helper built on it.
//
//     auto net = tg::nn::Sequential(tg::nn::Linear(2, 8), tg::nn::Tanh(), tg::nn::Linear(8, 1));
//     auto mlp = tg::nn::MLP({.sizes = {784, 128, 10}, .activation = "relu", .dropout = 0.1});
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/nn/module.hpp"

namespace tg::nn {

namespace sequential_detail {
template <class T>
struct is_shared_tensor_module : std::false_type {};
template <class M>
struct is_shared_tensor_module<std::shared_ptr<M>> : std::bool_constant<TensorToTensorModule<M>> {};
}  // namespace sequential_detail

/// What Sequential accepts: a shared_ptr to a module with `forward(const Tensor&)`, such a module by value
/// (moved in), or a function Tensor(const Tensor&) (wrapped in Functional).
template <class T>
concept SequentialItem =
    sequential_detail::is_shared_tensor_module<std::remove_cvref_t<T>>::value ||
    (TensorToTensorModule<std::remove_cvref_t<T>> && !std::is_lvalue_reference_v<T>) ||
    (!std::derived_from<std::remove_cvref_t<T>, Module> && std::is_invocable_r_v<Tensor, T, const Tensor&>);

/// Calls its members in order, each on the previous one's output.
class Sequential : public UnaryModule {
 public:
  /// An empty chain (forward returns its input).
  Sequential() = default;
  /// A chain of the given items (see SequentialItem), named "0", "1", ...
  template <SequentialItem... Items>
    requires(sizeof...(Items) > 0)
  explicit Sequential(Items&&... items) {
    (push_back(std::forward<Items>(items)), ...);
  }

  /// Appends an item under the next index as its name. Returns *this.
  template <SequentialItem Item>
  Sequential& push_back(Item&& item) {
    return push_back(std::to_string(calls_.size()), std::forward<Item>(item));
  }
  /// Appends an item under `name`.
  template <SequentialItem Item>
  Sequential& push_back(std::string name, Item&& item) {
    using T = std::remove_cvref_t<Item>;
    if constexpr (sequential_detail::is_shared_tensor_module<T>::value) {
      append(std::move(name), item, bind(item.get()));
    } else if constexpr (std::derived_from<T, Module>) {
      auto m = std::make_shared<T>(std::forward<Item>(item));
      append(std::move(name), m, bind(m.get()));
    } else {
      auto m = std::make_shared<Functional>(std::function<Tensor(const Tensor&)>(std::forward<Item>(item)));
      append(std::move(name), m, bind(m.get()));
    }
    return *this;
  }

  /// Runs the chain.
  Tensor forward(const Tensor& x) override;
  /// Number of members.
  std::size_t size() const { return calls_.size(); }
  /// True without members.
  bool empty() const { return calls_.empty(); }
  /// Member i (IndexError when out of range).
  std::shared_ptr<Module> operator[](std::size_t i) const;
  /// Member i as type M (IndexError when out of range, ValueError when it is not an M).
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!m) throw ValueError("Sequential::at: member " + std::to_string(i) + " is a " + (*this)[i]->name());
    return m;
  }

 private:
  template <class M>
  static std::function<Tensor(const Tensor&)> bind(M* m) {
    return [m](const Tensor& x) -> Tensor { return m->forward(x); };
  }
  void append(std::string name, std::shared_ptr<Module> m, std::function<Tensor(const Tensor&)> call);

  std::vector<std::function<Tensor(const Tensor&)>> calls_;
};

/// Options of MLP.
struct MLPOptions {
  std::vector<std::int64_t> sizes{};     ///< input size, hidden sizes..., output size (at least 2 entries)
  std::string activation = "relu";     ///< after each hidden Linear (see make_activation)
  std::string output_activation{};       ///< after the last Linear ("" for none)
  double dropout = 0.0;                ///< Dropout after each hidden activation when > 0
  bool bias = true;                    ///< Linear layers with bias
  Dtype dtype = kFloat32;              ///< dtype of every parameter
};

/// A multilayer perceptron: Linear, activation, [Dropout,] ..., Linear[, output activation], as a
/// Sequential (so its parameters are named "0.weight", "0.bias", "2.weight", ...).
class MLP : public Sequential {
 public:
  /// Throws ValueError for fewer than 2 sizes, a non-positive size, or an unknown activation name.
  explicit MLP(MLPOptions o);
};

}  // namespace tg::nn
