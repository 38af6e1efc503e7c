// Internal helpers shared by the tools (explain, gradcheck, anomaly mode, graph export): how to name a
// tape slot and list its inputs, whatever recorded it (a scalar statement, a custom op, a coarse node).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/tape.hpp"

namespace tg {
struct LocalOp;
}

namespace tg::detail {

/// The op name of slot i: a node's or custom op's own name, else the opcode's name.
const char* slot_op_name(const Tape& tape, std::uint32_t i);
/// The label of slot i: the tape's, else a traced tensor op's output label, else "".
std::string slot_label(const Tape& tape, std::uint32_t i);
/// A short reference for reports: `mul#12 'h1'` (the label, when there is one, in quotes).
std::string short_slot(const Tape& tape, std::uint32_t i);
/// The input slots of slot i and, when known, the local partial derivative on each edge. Returns false
/// when the partials are unknown (a node whose Jacobian is not scalar); `slots` is then still filled
/// with what the node reports.
bool slot_inputs(const Tape& tape, std::uint32_t i, std::vector<std::uint32_t>& slots,
                 std::vector<double>& partials);
/// The recorded value of slot i if the tape knows it (keep_values, or a node that reports it), else NaN.
double slot_value(const Tape& tape, std::uint32_t i);
/// A built-in scalar statement as a LocalOp when its opcode and recorded inputs determine it (needs a
/// tape that keeps values); false otherwise (a folded-in constant, a parameter such as leaky_relu's slope,
/// an input at a kink). Defined in gradcheck_scalar.cpp.
bool statement_local_op(const Tape& tape, std::uint32_t i, LocalOp& out);
/// Formats a number for explanations: up to `digits` decimals with trailing zeros dropped (0.74136507),
/// or `digits` significant digits for very large or small magnitudes.
std::string format_number(double v, int digits = 9);

}  // namespace tg::detail
