// Errors: the public exception types (tessera/error.h) and fail(), which
// formats a one-line message naming what is wrong and where.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "tessera/error.h"

namespace tessera {

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tessera
