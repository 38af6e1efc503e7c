// tg::nn: the neural-network library built on the tape (modules, layers, losses, optimizers, data).
//
// Layers are modules that hold their parameters as leaf tensors; a forward pass records tensor ops on the
// active tape, and backward() fills every parameter's grad. Nothing in tg::nn writes a backward pass.
//
//     auto net = tg::nn::MLP({.sizes = {2, 16, 1}, .activation = "tanh"});
//     for (int step = 0; step < 1000; ++step) {
//       tg::ScopedTape tape;                     // records this step, freed at the end of the scope
//       tg::Tensor loss = tg::nn::functional::mse_loss(net.forward(x), y);
//       net.zero_grad();
//       loss.backward();
//       tg::NoGradGuard no_grad;
//       for (tg::Tensor& p : net.parameters()) p.sub_(p.grad(), 0.1);
//     }
#pragma once

#include "tapegrad/tapegrad.hpp"
#include "tapegrad/nn/activation.hpp"
#include "tapegrad/nn/functional.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/loss.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/state_dict.hpp"

namespace tg::nn {

/// The library version, "major.minor.patch".
const char* version();

}  // namespace tg::nn
