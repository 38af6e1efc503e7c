// The worked 2-2-2 network again, built from tg::nn (Linear layers, Sigmoid, half squared error, SGD with
// η = 0.5) instead of scalar Vars, in its three bias variants: shared by backprop_walkthrough and its test.
#pragma once

#include <array>
#include <vector>

#include "tapegrad/nn/nn.hpp"
#include "tapegrad/nn/optim.hpp"
#include "worked_example.hpp"

namespace worked_nn {

/// How the biases are handled.
enum class Bias {
  frozen,      ///< b1 = 0.35, b2 = 0.60 never change (the walkthrough)
  per_neuron,  ///< each neuron has its own bias, starting at 0.35 / 0.60, trained
  shared,      ///< one bias per layer shared by its two neurons, trained
};

/// The network: hidden.weight = [[w1, w2], [w3, w4]], output.weight = [[w5, w6], [w7, w8]] (Linear stores
/// [out, in]), biases inside the Linear layers, or, for the shared variant, one scalar parameter per layer
/// added to a bias-free Linear.
struct Net {
  tg::nn::Linear hidden;
  tg::nn::Linear output;
  tg::Tensor hidden_shared;  ///< the shared variant's b1 (undefined otherwise)
  tg::Tensor output_shared;  ///< the shared variant's b2 (undefined otherwise)
  tg::nn::Sigmoid sigmoid;

  /// The walkthrough's starting weights and biases.
  explicit Net(Bias bias)
      : hidden(2, 2, bias != Bias::shared, tg::kFloat64), output(2, 2, bias != Bias::shared, tg::kFloat64) {
    tg::NoGradGuard no_grad;
    const auto& w = worked::initial_weights;
    hidden.weight.copy_(tg::tensor({{w[0], w[1]}, {w[2], w[3]}}, {.dtype = tg::kFloat64}));
    output.weight.copy_(tg::tensor({{w[4], w[5]}, {w[6], w[7]}}, {.dtype = tg::kFloat64}));
    if (bias == Bias::shared) {
      hidden_shared = tg::scalar_tensor(worked::b1, {.dtype = tg::kFloat64, .requires_grad = true});
      output_shared = tg::scalar_tensor(worked::b2, {.dtype = tg::kFloat64, .requires_grad = true});
      return;
    }
    hidden.bias.fill_(worked::b1);
    output.bias.fill_(worked::b2);
    if (bias == Bias::frozen) {
      hidden.bias.requires_grad_(false);
      output.bias.requires_grad_(false);
    }
  }

  /// out_o1, out_o2 for the walkthrough's input, as a [1, 2] tensor.
  tg::Tensor forward() {
    const tg::Tensor x = tg::tensor({{worked::i1, worked::i2}}, {.dtype = tg::kFloat64});
    tg::Tensor net_h = hidden.forward(x);
    if (hidden_shared.defined()) net_h = net_h + hidden_shared;
    tg::Tensor net_o = output.forward(sigmoid.forward(net_h));
    if (output_shared.defined()) net_o = net_o + output_shared;
    return sigmoid.forward(net_o);
  }

  /// E_total = Σ ½(target − out)².
  tg::Tensor error() {
    const tg::Tensor target = tg::tensor({{worked::t1, worked::t2}}, {.dtype = tg::kFloat64});
    return tg::nn::functional::half_squared_error(forward(), target);
  }

  /// The tensors SGD updates: the weights, and the biases unless frozen.
  std::vector<tg::Tensor> trained() const {
    std::vector<tg::Tensor> ps = {hidden.weight, output.weight};
    for (const tg::Tensor& b : {hidden.bias, output.bias, hidden_shared, output_shared}) {
      if (b.defined() && b.requires_grad()) ps.push_back(b);
    }
    return ps;
  }
};

/// What a training run measured.
struct Run {
  std::array<double, 8> first_grads{};  ///< ∂E/∂w1..w8 of the first step
  double error_before = 0.0;            ///< E_total of the starting weights
  double error_after_1 = 0.0;           ///< E_total after one update
  double error_after_n = 0.0;           ///< E_total after all updates
  double out_o1 = 0.0;                  ///< outputs after all updates
  double out_o2 = 0.0;                  ///< see out_o1
};

/// Trains with plain SGD (η = 0.5) for `steps` updates (at least 1).
inline Run train(int steps, Bias bias) {
  Net net(bias);
  tg::nn::SGD opt(net.trained(), {.lr = worked::eta});
  Run run;
  for (int s = 0; s < steps; ++s) {
    tg::ScopedTape tape;
    opt.zero_grad();
    const tg::Tensor e = net.error();
    e.backward();
    if (s == 0) {
      run.error_before = e.item();
      const auto gh = net.hidden.weight.grad().to_vector<double>();
      const auto go = net.output.weight.grad().to_vector<double>();
      for (std::size_t k = 0; k < 4; ++k) {
        run.first_grads[k] = gh[k];
        run.first_grads[k + 4] = go[k];
      }
    }
    opt.step();
    if (s == 0) {
      tg::NoGradGuard no_grad;
      run.error_after_1 = net.error().item();
    }
  }
  tg::NoGradGuard no_grad;
  run.error_after_n = net.error().item();
  const auto out = net.forward().to_vector<double>();
  run.out_o1 = out[0];
  run.out_o2 = out[1];
  return run;
}

}  // namespace worked_nn
