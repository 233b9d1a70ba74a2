#include "chat/lexer.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

#include "chat/template_error.h"
#include "core/utf8_encode.h"

namespace tessera::chat {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A quoted string literal at src[i] (the quote); Python's escapes.
size_t lex_string(std::string_view src, size_t i, std::string& out) {
  const char quote = src[i];
  const size_t start = i++;
  while (i < src.size() && src[i] != quote) {
    char c = src[i++];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i >= src.size()) break;
    c = src[i++];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '\n': break;  // a continued line
      case 'x':
      case 'u':
      case 'U': {
        const size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        if (i + n > src.size() || std::from_chars(src.data() + i, src.data() + i + n, cp, 16).ptr != src.data() + i + n ||
            cp > 0x10FFFF)
          throw TemplateError("a bad \\" + std::string(1, c) + " escape in a string", i - 2);
        append_utf8(out, cp);
        i += n;
        break;
      }
      default: out += '\\', out += c;  // Python keeps unknown escapes as they are
    }
  }
  if (i >= src.size()) throw TemplateError("a string is not closed", start);
  return i + 1;
}

// Tokens of a tag's inside from `i` up to its closing `close` ("}}" or "%}")
// at bracket depth 0. Returns the offset just past the close; `after` is '-'
// for "-}}" / "-%}" (strip the whitespace that follows), '+' for "+%}" (keep
// the newline trim_blocks would take), else 0.
size_t lex_tag(std::string_view src, size_t i, std::string_view close, std::vector<Token>& tokens, char& after,
               size_t tag_pos) {
  int depth = 0;
  static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ".", ",", ":",
                                     "|",  "~",  "+",  "-",  "*",  "/",  "%", "<", ">", "="};
  for (;;) {
    while (i < src.size() && is_space(src[i])) ++i;
    if (i >= src.size()) throw TemplateError("a tag is not closed (no '" + std::string(close) + "')", tag_pos);
    if (depth == 0 && src.substr(i, close.size()) == close) {
      after = 0;
      tokens.push_back({Token::Kind::End, "", 0, 0, i});
      return i + close.size();
    }
    if (depth == 0 && (src[i] == '-' || (src[i] == '+' && close == "%}")) && src.substr(i + 1, close.size()) == close) {
      after = src[i];
      tokens.push_back({Token::Kind::End, "", 0, 0, i});
      return i + 1 + close.size();
    }
    Token t;
    t.pos = i;
    const char c = src[i];
    if (name_start(c)) {
      const size_t s = i;
      while (i < src.size() && name_char(src[i])) ++i;
      t.kind = Token::Kind::Name;
      t.text = std::string(src.substr(s, i - s));
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      const size_t s = i;
      while (i < src.size() && (std::isdigit(static_cast<unsigned char>(src[i])) || src[i] == '_')) ++i;
      bool is_float = false;
      if (i + 1 < src.size() && src[i] == '.' && std::isdigit(static_cast<unsigned char>(src[i + 1]))) {
        is_float = true;
        ++i;
        while (i < src.size() && std::isdigit(static_cast<unsigned char>(src[i]))) ++i;
      }
      if (i < src.size() && (src[i] == 'e' || src[i] == 'E')) {
        size_t j = i + 1;
        if (j < src.size() && (src[j] == '+' || src[j] == '-')) ++j;
        if (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) {
          is_float = true;
          i = j;
          while (i < src.size() && std::isdigit(static_cast<unsigned char>(src[i]))) ++i;
        }
      }
      std::string digits;
      for (size_t k = s; k < i; ++k)
        if (src[k] != '_') digits += src[k];
      if (is_float) {
        t.kind = Token::Kind::Float;
        t.float_value = std::strtod(digits.c_str(), nullptr);
      } else {
        t.kind = Token::Kind::Int;
        if (std::from_chars(digits.data(), digits.data() + digits.size(), t.int_value).ec != std::errc())
          throw TemplateError("the integer " + digits + " is too large", s);
      }
    } else if (c == '\'' || c == '"') {
      t.kind = Token::Kind::String;
      i = lex_string(src, i, t.text);
    } else {
      t.kind = Token::Kind::Op;
      for (const char* op : kOps) {
        const std::string_view o(op);
        if (src.substr(i, o.size()) == o) {
          t.text = std::string(o);
          break;
        }
      }
      if (t.text.empty())
        throw TemplateError("unexpected character '" + std::string(1, c) + "' in a tag", i);
      i += t.text.size();
      if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
      if ((t.text == ")" || t.text == "]" || t.text == "}") && depth > 0) --depth;
    }
    tokens.push_back(std::move(t));
  }
}

}  // namespace

std::string describe_position(std::string_view source, size_t pos) {
  if (pos == std::string::npos || pos > source.size()) return "the template";
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos; ++i) {
    if (source[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::vector<Segment> lex_template(std::string_view src) {
  // keep_trailing_newline=False: one final newline of the source is not output.
  if (!src.empty() && src.back() == '\n') src.remove_suffix(src.size() >= 2 && src[src.size() - 2] == '\r' ? 2 : 1);
  std::vector<Segment> out;
  size_t pos = 0;
  auto push_text = [&](std::string text, size_t at) {
    if (!text.empty()) out.push_back({Segment::Kind::Text, std::move(text), {}, at});
  };
  while (pos < src.size()) {
    size_t open = pos;
    while ((open = src.find('{', open)) != std::string_view::npos) {
      if (open + 1 < src.size() && (src[open + 1] == '{' || src[open + 1] == '%' || src[open + 1] == '#')) break;
      ++open;
    }
    if (open == std::string_view::npos) {
      push_text(std::string(src.substr(pos)), pos);
      break;
    }
    const char kind = src[open + 1];
    const char modifier = open + 2 < src.size() ? src[open + 2] : '\0';
    std::string text(src.substr(pos, open - pos));
    if (modifier == '-') {
      while (!text.empty() && is_space(text.back())) text.pop_back();
    } else if (modifier != '+' && kind != '{') {
      // lstrip_blocks: a block or comment tag alone on its line takes the line's indentation away.
      const size_t nl = text.rfind('\n');
      const size_t line_start = nl == std::string::npos ? 0 : nl + 1;
      const bool at_line_start = nl != std::string::npos || pos == 0 || src[pos - 1] == '\n';
      if (at_line_start && text.find_first_not_of(" \t", line_start) == std::string::npos) text.resize(line_start);
    }
    push_text(std::move(text), pos);
    size_t body = open + 2 + (modifier == '-' || modifier == '+' ? 1 : 0);
    char after = 0;
    size_t end;
    if (kind == '#') {
      const size_t close = src.find("#}", body);
      if (close == std::string_view::npos) throw TemplateError("a comment is not closed (no '#}')", open);
      if (close > body && (src[close - 1] == '-' || src[close - 1] == '+')) after = src[close - 1];
      end = close + 2;
    } else {
      Segment seg;
      seg.kind = kind == '{' ? Segment::Kind::Expression : Segment::Kind::Statement;
      seg.pos = open;
      end = lex_tag(src, body, kind == '{' ? "}}" : "%}", seg.tokens, after, open);
      out.push_back(std::move(seg));
    }
    if (after == '-') {
      while (end < src.size() && is_space(src[end])) ++end;
    } else if (kind != '{' && after != '+') {  // trim_blocks: the newline after a block or comment tag goes
      if (end < src.size() && src[end] == '\n') ++end;
      else if (end + 1 < src.size() && src[end] == '\r' && src[end + 1] == '\n') end += 2;
    }
    pos = end;
  }
  return out;
}

}  // namespace tessera::chat
