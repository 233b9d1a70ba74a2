// Small string helpers shared by the parsers of names users type (formats,
// ISA tiers, quantization mixtures).
#pragma once

#include <cctype>
#include <cstddef>
#include <string_view>

namespace tessera {

// ASCII case-insensitive equality.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace tessera
