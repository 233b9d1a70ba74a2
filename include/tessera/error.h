// What Tessera's public API throws.
#pragma once

#include <stdexcept>
#include <string>

namespace tessera {

// A malformed input or an impossible request. The message is one line that
// names the file / tensor / field at fault and why.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// An option or argument the caller gave that cannot be used (an unknown type
// name, a value out of range); the CLI reports these as usage errors.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace tessera
