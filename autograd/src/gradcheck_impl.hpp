// Internal: gradcheck's building blocks, shared by the scalar and tensor front ends.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/gradcheck.hpp"

namespace tg::detail {

/// d phi / dx at x0 by central differences (smaller steps tried when the first disagrees with expect).
double gc_central(const std::function<double(double)>& phi, double x0, double expect, const GradcheckOptions& o);
/// |a - n| <= atol + rtol |n|.
bool gc_within(double a, double n, const GradcheckOptions& o);
/// |a - n| / max(|a|, |n|), 0 when equal.
double gc_rel_error(double a, double n);
/// The name of input i (options.names, else x0, x1, ...).
std::string gc_input_name(const GradcheckOptions& o, std::size_t i);
/// Checks every re-runnable recorded op of the tape in order; sets r.fault to the first wrong one.
void gc_localize(const Tape& tape, GradcheckResult& r);
/// The multi-index of flat element `flat` of a row-major array of this shape.
std::vector<std::int64_t> unravel(std::size_t flat, const std::vector<std::int64_t>& shape);

}  // namespace tg::detail
