// doctest helpers for users' own tests: CHECK_GRAD and friends. The library never includes this header;
// a test file that includes it must have doctest available (it is included here if not yet).
#pragma once

#ifndef DOCTEST_LIBRARY_INCLUDED
#if __has_include(<doctest/doctest.h>)
#include <doctest/doctest.h>
#elif __has_include(<doctest.h>)
#include <doctest.h>
#else
#error "tapegrad/doctest.hpp needs doctest: install it or include it before this header"
#endif
#endif

#include <initializer_list>
#include <span>
#include <vector>

#include "tapegrad/gradcheck.hpp"
#include "tapegrad/tensor_tools.hpp"

namespace tg::detail {
/// Accepts the input list of the macros below as a braced list, a vector or a span.
inline std::vector<double> grad_inputs(std::initializer_list<double> xs) { return xs; }
/// See above.
inline std::vector<double> grad_inputs(std::span<const double> xs) { return {xs.begin(), xs.end()}; }
/// Tensor inputs, for tensor functions: `CHECK_GRAD(f, {a, b})` with a, b tensors.
inline std::vector<Tensor> grad_inputs(std::initializer_list<Tensor> xs) { return xs; }
/// See above.
inline std::vector<Tensor> grad_inputs(const std::vector<Tensor>& xs) { return xs; }
}  // namespace tg::detail

/// Checks f's gradient at the inputs against numeric differences: `CHECK_GRAD(f, {0.5, 2.0});` for a
/// Var function, `CHECK_GRAD(f, {a, b});` for a tensor function of tensors a and b. On
/// failure the message is gradcheck's report, naming the worst element and the first faulty op.
#define CHECK_GRAD(f, ...)                                                                   \
  do {                                                                                       \
    const auto tg_gradcheck_result_ = ::tg::gradcheck((f), ::tg::detail::grad_inputs(__VA_ARGS__)); \
    CHECK_MESSAGE(tg_gradcheck_result_.ok, tg_gradcheck_result_.report());                   \
  } while (false)

/// As CHECK_GRAD, but stops the test case on failure.
#define REQUIRE_GRAD(f, ...)                                                                 \
  do {                                                                                       \
    const auto tg_gradcheck_result_ = ::tg::gradcheck((f), ::tg::detail::grad_inputs(__VA_ARGS__)); \
    REQUIRE_MESSAGE(tg_gradcheck_result_.ok, tg_gradcheck_result_.report());                 \
  } while (false)

/// Checks a hand-derived gradient against autograd and numeric differences:
/// `CHECK_HAND_GRAD(f, hand, {0.5, 2.0});`. On failure the message names the wrong elements.
#define CHECK_HAND_GRAD(f, hand, ...)                                                              \
  do {                                                                                             \
    const auto tg_hand_result_ = ::tg::check_gradient((f), (hand), ::tg::detail::grad_inputs(__VA_ARGS__)); \
    CHECK_MESSAGE(tg_hand_result_.ok, tg_hand_result_.report());                                   \
  } while (false)
