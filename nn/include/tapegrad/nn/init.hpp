// Parameter initialisation as in torch.nn.init: every function fills a tensor in place (under no-grad, so
// parameters can be re-initialised at any time) from the given generator, or from the thread's default
// generator seeded by tg::manual_seed, so that a seeded run repeats bit for bit.
#pragma once

#include <cstdint>
#include <utility>

#include "tapegrad/random.hpp"
#include "tapegrad/tensor.hpp"

namespace tg::nn::init {

/// The nonlinearity that follows a layer, for calculate_gain.
enum class Nonlinearity { Linear, Conv, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };
/// Which fan keeps the variance: of the activations in the forward pass, or of the gradients backward.
enum class FanMode { FanIn, FanOut };

/// The gain PyTorch recommends for a nonlinearity: 1 for linear, conv and sigmoid, 5/3 for tanh, √2 for
/// ReLU, √(2 / (1 + slope²)) for leaky ReLU (param = slope, 0.01 when negative), 3/4 for SELU.
double calculate_gain(Nonlinearity nl, double param = -1.0);
/// (fan_in, fan_out) of a weight of shape [out, in, k...]: in·k and out·k. ValueError below 2 dims.
std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t);

/// Fills t with U(lo, hi).
Tensor& uniform_(Tensor& t, double lo = 0.0, double hi = 1.0, Generator* gen = nullptr);
/// Fills t with N(mean, std²).
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
/// Fills t with v.
Tensor& constant_(Tensor& t, double v);
/// Fills t with 0.
Tensor& zeros_(Tensor& t);
/// Fills t with 1.
Tensor& ones_(Tensor& t);
/// Glorot: U(-a, a) with a = gain·√(6 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
/// Glorot: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
/// He: U(-b, b) with b = gain·√(3 / fan), gain = calculate_gain(nl, a). `a` is the negative slope of a
/// leaky ReLU (PyTorch's Linear uses a = √5, giving U(-1/√fan_in, 1/√fan_in)).
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                         Nonlinearity nl = Nonlinearity::LeakyReLU, Generator* gen = nullptr);
/// He: N(0, σ²) with σ = gain / √fan.
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nl = Nonlinearity::LeakyReLU, Generator* gen = nullptr);

}  // namespace tg::nn::init
