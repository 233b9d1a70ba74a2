#include "tokenizer/utf8.h"

#include "core/utf8_encode.h"

#include <array>

namespace tessera::utf8 {

size_t sequence_length(uint8_t lead) {
  static constexpr uint8_t kByHighNibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kByHighNibble[lead >> 4];
}

size_t decode(std::string_view text, size_t pos, uint32_t* cp) {
  const size_t avail = text.size() - pos;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const auto cont = [&](size_t i) { return i < avail && (byte(i) & 0xC0) == 0x80; };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return 0;
    *cp = (uint32_t(b0 & 0x1F) << 6) | (byte(1) & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const uint32_t v = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;  // overlong, surrogate
    *cp = v;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const uint32_t v = (uint32_t(b0 & 0x07) << 18) | (uint32_t(byte(1) & 0x3F) << 12) |
                       (uint32_t(byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    if (v < 0x10000 || v > 0x10FFFF) return 0;
    *cp = v;
    return 4;
  }
  return 0;
}

void append(std::string& out, uint32_t cp) { append_utf8(out, cp); }

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  uint32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = decode(text, pos, &cp);
    if (n == 0) {
      append(out, 0xFFFD);
      pos += 1;
    } else {
      out.append(text.data() + pos, n);
      pos += n;
    }
  }
  return out;
}

}  // namespace tessera::utf8

namespace tessera::byte_level {
namespace {

struct Alphabet {
  std::array<uint32_t, 256> codepoint{};
  std::array<std::string, 256> text;
  std::array<int16_t, 512> byte_of{};  // every code point of the alphabet is < 0x144

  Alphabet() {
    byte_of.fill(-1);
    uint32_t next_extra = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      codepoint[b] = printable ? static_cast<uint32_t>(b) : next_extra++;
      utf8::append(text[b], codepoint[b]);
      byte_of[codepoint[b]] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t b) { return alphabet().codepoint[b]; }

const std::string& byte_to_text(uint8_t b) { return alphabet().text[b]; }

int codepoint_to_byte(uint32_t cp) { return cp < 512 ? alphabet().byte_of[cp] : -1; }

}  // namespace tessera::byte_level
