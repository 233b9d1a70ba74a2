// Splits a template into text and tags the way Jinja2 does with Hugging
// Face's settings (trim_blocks, lstrip_blocks, keep_trailing_newline off),
// honouring the `-` / `+` whitespace controls, and turns the inside of each
// {{ }} / {% %} tag into tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::chat {

struct Token {
  enum class Kind { Name, Int, Float, String, Op, End };
  Kind kind = Kind::End;
  std::string text;  // name, operator, or the decoded string
  int64_t int_value = 0;
  double float_value = 0;
  size_t pos = 0;    // offset in the source
};

struct Segment {
  enum class Kind { Text, Expression, Statement };
  Kind kind = Kind::Text;
  std::string text;           // Text: the literal output
  std::vector<Token> tokens;  // Expression / Statement: ends with a Kind::End token
  size_t pos = 0;
};

// Throws TemplateError (an unclosed tag or string, a character no token starts with).
std::vector<Segment> lex_template(std::string_view source);

// "line L, column C" of a source offset.
std::string describe_position(std::string_view source, size_t pos);

}  // namespace tessera::chat
