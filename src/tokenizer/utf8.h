// UTF-8 helpers for the tokenizers, and GPT-2's byte-level alphabet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::utf8 {

// Bytes of the sequence a lead byte announces, judged from its high bits only
// (a stray continuation byte counts as 1). Used to split text into characters
// without validating it: invalid bytes end up as their own one-byte pieces.
size_t sequence_length(uint8_t lead);

// Decodes the well-formed sequence at text[pos] into *cp and returns its length,
// or returns 0 when the bytes there are not well-formed UTF-8 (overlong forms,
// surrogates and values above U+10FFFF included).
size_t decode(std::string_view text, size_t pos, uint32_t* cp);

void append(std::string& out, uint32_t cp);

// `text` with every byte that does not start a well-formed sequence replaced by
// U+FFFD, so that regex engines in UTF mode can take it.
std::string sanitize(std::string_view text);

}  // namespace tessera::utf8

namespace tessera::byte_level {

// GPT-2's reversible byte -> printable code point map: printable Latin-1 bytes
// stand for themselves, the other 68 take U+0100.. in byte order.
uint32_t byte_to_codepoint(uint8_t b);

// UTF-8 text of byte_to_codepoint(b).
const std::string& byte_to_text(uint8_t b);

// Inverse of byte_to_codepoint; -1 for code points outside the alphabet.
int codepoint_to_byte(uint32_t cp);

}  // namespace tessera::byte_level
