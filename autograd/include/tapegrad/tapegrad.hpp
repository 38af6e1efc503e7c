// tapegrad: reverse-mode automatic differentiation on a tape, and the neural-network library built on it.
//
// Every operation on a tg::Var (or tg::Tensor) is appended to the active tape in creation order; backward()
// walks the tape once in reverse and applies the chain rule. Nothing is differentiated by hand:
//
//     tg::Var x(0.5), y(2.0);
//     tg::Var f = x * y + tg::sin(x);   // recorded: mul, sin, add
//     f.backward();                     // one reverse sweep
//     x.grad();                         // y + cos(x) = 2.8776
//     y.grad();                         // x = 0.5
//
// Tensors record on the same tape, with a LibTorch-like API:
//
//     tg::Tensor w = tg::randn({3, 2}, {.dtype = tg::kFloat64, .requires_grad = true});
//     tg::Tensor x = tg::ones({4, 3}, tg::kFloat64);
//     tg::Tensor loss = tg::sigmoid(tg::matmul(x, w)).sum();
//     loss.backward();                  // w.grad() now holds dloss/dw, shape [3, 2]
//
// Wrap a training step in tg::ScopedTape to record it on a fresh tape and free it in O(1) at the end.
#pragma once

#include "tapegrad/error.hpp"
#include "tapegrad/tape.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/var.hpp"
#include "tapegrad/tensor.hpp"
#include "tapegrad/tensor_node.hpp"
#include "tapegrad/ops.hpp"
#include "tapegrad/anomaly.hpp"
#include "tapegrad/custom_op.hpp"
#include "tapegrad/explain.hpp"
#include "tapegrad/gradcheck.hpp"
#include "tapegrad/graph.hpp"
#include "tapegrad/local_op.hpp"
