// The one error type of the chat-template layer: a message and the offset in
// the template source it concerns (npos when the thrower does not know; the
// interpreter then attaches the position of the expression it was evaluating).
#pragma once

#include <cstddef>
#include <string>

#include "tessera/error.h"

namespace tessera::chat {

class TemplateError : public Error {
 public:
  TemplateError(const std::string& message, size_t pos = std::string::npos) : Error(message), pos(pos) {}
  size_t pos;
};

}  // namespace tessera::chat
