// Python's view of a string as characters (code points), for loops, indexing,
// slicing and case changes; malformed bytes count as one character each.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::chat {

inline size_t utf8_length_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

// The byte offset of each character, then s.size().
inline std::vector<size_t> utf8_starts(std::string_view s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); i += utf8_length_at(s, i)) out.push_back(i);
  out.push_back(s.size());
  return out;
}

inline size_t utf8_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += utf8_length_at(s, i)) ++n;
  return n;
}

inline std::vector<std::string> utf8_chars(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length_at(s, i);
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace tessera::chat
