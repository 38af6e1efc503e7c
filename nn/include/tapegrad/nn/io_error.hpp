// Error types for reading and writing files (checkpoints, datasets): both derive from tg::Error.
#pragma once

#include "tapegrad/error.hpp"

namespace tg::nn {

/// The file system refused: a file is missing, unreadable, or could not be written or renamed.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A file (or byte buffer) was read but its content breaks the format's rules.
class FormatError : public Error {
 public:
  using Error::Error;
};

}  // namespace tg::nn
