// The syntax tree of a template: plain structs, built by parse_template and
// walked by the Interpreter. Every node keeps its source offset for errors.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace tessera::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    List,       // args: items
    Tuple,      // args: items
    Dict,       // args: key, value, key, value...
    Attribute,  // args[0].name
    Subscript,  // args[0][args[1]]
    Slice,      // args[0][args[1]:args[2]:args[3]] (null: omitted)
    Call,       // args[0](args[1..]), the last kw_names.size() of them by keyword
    Filter,     // args[0] | name(args[1..])
    Test,       // args[0] is [not] name(args[1..]); negated
    Not,        // not args[0]
    Negate,     // -args[0]
    Binary,     // args[0] name args[1]: + - * / // % ** ~ == != < <= > >= in "not in"
    And,
    Or,
    Conditional,  // args[0] if args[1] else args[2] (args[2] null: undefined)
  };
  Kind kind = Kind::Literal;
  size_t pos = 0;
  std::string name;
  Value value;
  std::vector<ExprPtr> args;
  std::vector<std::string> kw_names;
  bool negated = false;
  int height = 1;  // nodes on the longest path down, bounded by the parser
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    Text,      // text
    Output,    // {{ expr }}
    If,        // branches (condition, body); else_body
    For,       // for targets in expr [if cond]: body; else_body
    Set,       // set targets[0][.attr] = expr, or {% set name %}body{% endset %}
    Macro,     // macro name(params): body
    FilterBlock,  // filter expr (a Filter with no args[0]): body
    Break,
    Continue,
  };
  Kind kind = Kind::Text;
  size_t pos = 0;
  std::string text;  // Text: output; Set: attribute (empty: a plain variable); Macro: name
  std::vector<std::string> targets;
  ExprPtr expr, cond;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // Macro: name, default (may be null)
};

struct Limits;
// Throws TemplateError naming what is wrong and where.
Body parse_template(std::string_view source, const Limits& limits);

}  // namespace tessera::chat
