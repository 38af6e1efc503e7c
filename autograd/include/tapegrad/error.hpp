// Error types thrown by tapegrad: every user mistake becomes one of these, with a message that names the
// op, the rule that was broken and the offending shapes or values.
#pragma once

#include <cstdint>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>

namespace tg {

/// Base class of every error tapegrad throws for bad input or misuse.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Shapes that do not fit the op (matmul inner dims, broadcasting, reshape sizes).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// Tensors of different dtypes combined without an explicit `.to(dtype)`.
class DtypeError : public Error {
 public:
  using Error::Error;
};

/// An index, axis or size outside its valid range.
class IndexError : public Error {
 public:
  using Error::Error;
};

/// A value outside an op's domain where the op refuses rather than returning NaN (e.g. bad options).
class ValueError : public Error {
 public:
  using Error::Error;
};

/// Misuse of the tape: a stale Var after reset, backward through a released graph, mixing tapes.
class TapeError : public Error {
 public:
  using Error::Error;
};

/// Formats a shape as "[2, 3]" for error messages.
inline std::string shape_str(std::span<const std::int64_t> shape) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) {
    os << (i ? ", " : "") << shape[i];
  }
  os << ']';
  return os.str();
}

}  // namespace tg
