// User-defined differentiable scalar ops: give a forward and its derivative (as torch.autograd.Function),
// get a callable on Vars whose recordings gradcheck can verify.
#pragma once

#include <concepts>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/var.hpp"

namespace tg {

/// A user-defined scalar op f(x_1..x_n). Calling it on Vars computes the value with `forward`, asks
/// `backward` for the local partials ∂f/∂x_k at those inputs, and records one statement carrying them
/// (the reverse sweep then treats it like a built-in op). The recording also keeps the input values and
/// the op itself in the tape's arena, so gradcheck can re-run the forward there and pinpoint a wrong
/// backward.
///
///     auto cube = tg::custom_op("cube",
///         [](std::span<const double> x) { return x[0] * x[0] * x[0]; },
///         [](std::span<const double> x, double) { return std::vector<double>{3 * x[0] * x[0]}; });
///     tg::Var y = cube(x);
class CustomOp {
 public:
  /// f(x): the value at inputs x.
  using Forward = std::function<double(std::span<const double> x)>;
  /// The local partials ∂f/∂x_k at x (given y = f(x) too, to reuse it): one per input.
  using Backward = std::function<std::vector<double>(std::span<const double> x, double y)>;

  /// Defines op `name`; `arity` fixes the number of inputs (0 = any). Throws ValueError for an empty
  /// name or a missing function.
  CustomOp(std::string name, Forward forward, Backward backward, std::size_t arity = 0);

  /// Applies the op to xs (Vars or constants) and records it.
  Var operator()(std::span<const Var> xs) const;
  /// Applies the op to a braced list of Vars: `op({a, b})`.
  Var operator()(std::initializer_list<Var> xs) const {
    return (*this)(std::span<const Var>(xs.begin(), xs.size()));
  }
  /// Applies the op to Vars (or Var expressions such as a * b) given as arguments: `op(a, b)`.
  template <class... V>
    requires(sizeof...(V) > 0 && (std::convertible_to<const V&, Var> && ...))
  Var operator()(const V&... xs) const {
    const Var args[] = {Var(xs)...};
    return (*this)(std::span<const Var>(args, sizeof...(V)));
  }

  /// The op's name.
  const std::string& name() const;

  /// The definition shared by the op and its recordings (internal).
  struct Def;

 private:
  std::shared_ptr<const Def> def_;
};

/// Defines a custom op; see CustomOp. `arity` fixes its number of inputs (0 = any).
inline CustomOp custom_op(std::string name, CustomOp::Forward forward, CustomOp::Backward backward,
                          std::size_t arity = 0) {
  return CustomOp(std::move(name), std::move(forward), std::move(backward), arity);
}

}  // namespace tg
