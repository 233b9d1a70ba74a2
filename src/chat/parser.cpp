// Recursive descent over the lexer's segments, with Jinja2's precedence:
// conditional < or < and < not < comparisons / in < + - < ~ < * / // % < ** <
// unary minus < filters, tests, calls, subscripts, attributes.
#include <initializer_list>

#include "chat/ast.h"
#include "chat/lexer.h"
#include "chat/limits.h"
#include "chat/template_error.h"

namespace tessera::chat {
namespace {

class Parser {
 public:
  Parser(std::vector<Segment> segments, const Limits& limits) : segs_(std::move(segments)), limits_(limits) {}

  Body parse() {
    std::string end;
    Body body = parse_body({}, end);
    return body;
  }

 private:
  // ---- statements ----

  struct Nest {
    Nest(Parser& p, size_t pos) : p(p) {
      if (++p.depth_ > p.limits_.max_nesting)
        throw TemplateError("the template nests tags or expressions deeper than " + std::to_string(p.limits_.max_nesting),
                            pos);
    }
    ~Nest() { --p.depth_; }
    Parser& p;
  };

  // Statements until a tag named in `until` (left unconsumed; its name in `end`).
  Body parse_body(std::initializer_list<std::string_view> until, std::string& end, size_t open_pos = 0) {
    Body body;
    while (si_ < segs_.size()) {
      Segment& seg = segs_[si_];
      if (seg.kind == Segment::Kind::Text) {
        auto s = new_stmt(Stmt::Kind::Text, seg.pos);
        s->text = std::move(seg.text);
        body.push_back(std::move(s));
        ++si_;
        continue;
      }
      begin_tag(seg);
      if (seg.kind == Segment::Kind::Expression) {
        auto s = new_stmt(Stmt::Kind::Output, seg.pos);
        s->expr = parse_expression();
        expect_end();
        body.push_back(std::move(s));
        ++si_;
        continue;
      }
      const Token& head = peek();
      if (head.kind != Token::Kind::Name) throw TemplateError("a tag must start with a name", head.pos);
      for (std::string_view u : until)
        if (head.text == u) {
          end = head.text;
          return body;
        }
      body.push_back(parse_statement());
    }
    if (until.size() > 0)
      throw TemplateError("a block is not closed: '{% " + std::string(until.end()[-1]) + " %}' is missing", open_pos);
    return body;
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token head = next();
    Nest nest(*this, head.pos);
    auto s = new_stmt(Stmt::Kind::Text, head.pos);
    const std::string& kw = head.text;
    std::string end;
    if (kw == "if") {
      s->kind = Stmt::Kind::If;
      ExprPtr cond = parse_expression();
      expect_end();
      ++si_;
      for (;;) {
        Body b = parse_body({"elif", "else", "endif"}, end, head.pos);
        s->branches.emplace_back(std::move(cond), std::move(b));
        next();
        if (end == "elif") {
          cond = parse_expression();
          expect_end();
          ++si_;
          continue;
        }
        if (end == "else") {
          expect_end();
          ++si_;
          s->else_body = parse_body({"endif"}, end, head.pos);
          next();
        }
        break;
      }
    } else if (kw == "for") {
      s->kind = Stmt::Kind::For;
      do {
        s->targets.push_back(expect_name("a loop variable"));
      } while (skip_op(","));
      if (!skip_name("in")) throw TemplateError("'for' needs 'in'", peek().pos);
      s->expr = parse_tuple(/*conditional=*/false);
      if (skip_name("if")) s->cond = parse_expression(/*conditional=*/false);
      if (peek().kind == Token::Kind::Name && peek().text == "recursive")
        throw TemplateError("recursive loops are not supported", peek().pos);
      expect_end();
      ++si_;
      s->body = parse_body({"else", "endfor"}, end, head.pos);
      next();
      if (end == "else") {
        expect_end();
        ++si_;
        s->else_body = parse_body({"endfor"}, end, head.pos);
        next();
      }
    } else if (kw == "set") {
      s->kind = Stmt::Kind::Set;
      s->targets.push_back(expect_name("a variable"));
      if (skip_op(".")) s->text = expect_name("an attribute");
      if (peek().kind == Token::Kind::Op && peek().text == ",")
        throw TemplateError("'set' of several variables at once is not supported", peek().pos);
      if (skip_op("=")) {
        s->expr = parse_tuple(true);
      } else {
        if (!s->text.empty()) throw TemplateError("a block 'set' takes a plain variable", head.pos);
        expect_end();
        ++si_;
        s->body = parse_body({"endset"}, end, head.pos);
        next();
      }
    } else if (kw == "macro") {
      s->kind = Stmt::Kind::Macro;
      s->text = expect_name("a macro name");
      expect_op("(");
      bool defaults = false;
      if (!skip_op(")")) {
        do {
          if (peek().kind == Token::Kind::Op && peek().text == ")") break;
          std::string name = expect_name("a parameter name");
          ExprPtr def;
          if (skip_op("=")) def = parse_expression(), defaults = true;
          else if (defaults) throw TemplateError("a parameter without a default follows one with a default", peek().pos);
          s->params.emplace_back(std::move(name), std::move(def));
        } while (skip_op(","));
        expect_op(")");
      }
      expect_end();
      ++si_;
      s->body = parse_body({"endmacro"}, end, head.pos);
      next();
    } else if (kw == "filter") {  // {% filter name(args) %}body{% endfilter %}
      s->kind = Stmt::Kind::FilterBlock;
      s->expr = make(Expr::Kind::Filter, head.pos);
      s->expr->name = expect_name("a filter name");
      s->expr->args.push_back(nullptr);  // the body's output
      if (is_op("(")) parse_call_args(*s->expr);
      expect_end();
      ++si_;
      s->body = parse_body({"endfilter"}, end, head.pos);
      next();
    } else if (kw == "break" || kw == "continue") {
      s->kind = kw == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
    } else if (kw == "generation") {  // marks the assistant's text for training masks: no effect on the output
      expect_end();
      ++si_;
      Body b = parse_body({"endgeneration"}, end, head.pos);
      next();
      s->kind = Stmt::Kind::If;
      s->branches.emplace_back(literal(Value(true), head.pos), std::move(b));
    } else {
      throw TemplateError("unknown or unsupported tag '" + kw + "'", head.pos);
    }
    expect_end();
    ++si_;
    return s;
  }

  // ---- tokens of the current tag ----

  void begin_tag(const Segment& seg) {
    toks_ = &seg.tokens;
    ti_ = 0;
  }
  const Token& peek(size_t ahead = 0) const {
    const size_t i = std::min(ti_ + ahead, toks_->size() - 1);
    return (*toks_)[i];
  }
  const Token& next() {
    const Token& t = peek();
    if (ti_ + 1 < toks_->size()) ++ti_;
    return t;
  }
  bool is_op(const char* op) const { return peek().kind == Token::Kind::Op && peek().text == op; }
  bool is_name(const char* n) const { return peek().kind == Token::Kind::Name && peek().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) throw TemplateError(std::string("expected '") + op + "'" + found(), peek().pos);
  }
  std::string expect_name(const char* what) {
    if (peek().kind != Token::Kind::Name) throw TemplateError(std::string("expected ") + what + found(), peek().pos);
    return next().text;
  }
  void expect_end() {
    if (peek().kind != Token::Kind::End) throw TemplateError("unexpected" + found(true) + " in a tag", peek().pos);
  }
  std::string found(bool bare = false) const {
    const Token& t = peek();
    std::string what = t.kind == Token::Kind::End      ? "the end of the tag"
                       : t.kind == Token::Kind::String ? "a string"
                                                       : "'" + t.text + "'";
    if (t.kind == Token::Kind::Int || t.kind == Token::Kind::Float) what = "a number";
    return (bare ? " " : ", found ") + what;
  }

  // ---- expressions ----

  static ExprPtr make(Expr::Kind kind, size_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }
  static std::unique_ptr<Stmt> new_stmt(Stmt::Kind kind, size_t pos) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->pos = pos;
    return s;
  }
  static ExprPtr literal(Value v, size_t pos) {
    ExprPtr e = make(Expr::Kind::Literal, pos);
    e->value = std::move(v);
    return e;
  }
  ExprPtr binary(Expr::Kind kind, std::string op, ExprPtr a, ExprPtr b, size_t pos) {
    ExprPtr e = make(kind, pos);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return seal(std::move(e));
  }

  // Records a finished node's height: chains like a + b + c or x|f|g build
  // deep trees without nested parentheses, and evaluating or freeing a tree
  // recurses over its height.
  ExprPtr seal(ExprPtr e) {
    int h = 0;
    for (const ExprPtr& a : e->args)
      if (a) h = std::max(h, a->height);
    e->height = h + 1;
    const int max_height = limits_.max_nesting * 4;
    if (e->height > max_height)
      throw TemplateError("an expression is nested more than " + std::to_string(max_height) + " deep", e->pos);
    return e;
  }

  // An expression, or several separated by commas (a tuple), as `set` and `for` take.
  ExprPtr parse_tuple(bool conditional) {
    const size_t pos = peek().pos;
    ExprPtr first = parse_expression(conditional);
    if (!is_op(",")) return first;
    ExprPtr t = make(Expr::Kind::Tuple, pos);
    t->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().kind == Token::Kind::End) break;
      t->args.push_back(parse_expression(conditional));
    }
    return seal(std::move(t));
  }

  ExprPtr parse_expression(bool conditional = true) {
    Nest nest(*this, peek().pos);
    ExprPtr e = parse_or();
    while (conditional && is_name("if")) {
      const size_t pos = next().pos;
      ExprPtr c = make(Expr::Kind::Conditional, pos);
      c->args.push_back(std::move(e));
      c->args.push_back(parse_or());
      c->args.push_back(skip_name("else") ? parse_expression() : nullptr);
      e = seal(std::move(c));
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      const size_t pos = next().pos;
      e = binary(Expr::Kind::Or, "or", std::move(e), parse_and(), pos);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      const size_t pos = next().pos;
      e = binary(Expr::Kind::And, "and", std::move(e), parse_not(), pos);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      const size_t pos = next().pos;
      Nest nest(*this, pos);
      ExprPtr e = make(Expr::Kind::Not, pos);
      e->args.push_back(parse_not());
      return seal(std::move(e));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    for (;;) {
      const Token& t = peek();
      const size_t pos = t.pos;
      std::string op;
      if (t.kind == Token::Kind::Op &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="))
        op = t.text, next();
      else if (is_name("in"))
        op = "in", next();
      else if (is_name("not") && peek(1).kind == Token::Kind::Name && peek(1).text == "in")
        op = "not in", next(), next();
      else
        return e;
      e = binary(Expr::Kind::Binary, op, std::move(e), parse_math1(), pos);
    }
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      e = binary(Expr::Kind::Binary, t.text, std::move(e), parse_concat(), t.pos);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      const size_t pos = next().pos;
      e = binary(Expr::Kind::Binary, "~", std::move(e), parse_math2(), pos);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      e = binary(Expr::Kind::Binary, t.text, std::move(e), parse_pow(), t.pos);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      const size_t pos = next().pos;
      e = binary(Expr::Kind::Binary, "**", std::move(e), parse_unary(true), pos);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filters) {
    Nest nest(*this, peek().pos);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      ExprPtr inner = parse_unary(false);
      if (t.text == "-") {
        e = make(Expr::Kind::Negate, t.pos);
        e->args.push_back(std::move(inner));
        e = seal(std::move(e));
      } else {
        e = std::move(inner);
      }
    } else {
      e = parse_postfix(parse_primary());
    }
    return with_filters ? parse_filters(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    const size_t pos = t.pos;
    switch (t.kind) {
      case Token::Kind::Name: {
        const std::string n = next().text;
        if (n == "true" || n == "True") return literal(Value(true), pos);
        if (n == "false" || n == "False") return literal(Value(false), pos);
        if (n == "none" || n == "None") return literal(Value::none(), pos);
        ExprPtr e = make(Expr::Kind::Name, pos);
        e->name = n;
        return e;
      }
      case Token::Kind::String: {
        std::string s = next().text;
        while (peek().kind == Token::Kind::String) s += next().text;  // "a" "b" is "ab"
        return literal(Value(std::move(s)), pos);
      }
      case Token::Kind::Int: return literal(Value(next().int_value), pos);
      case Token::Kind::Float: return literal(Value(next().float_value), pos);
      case Token::Kind::Op:
        if (skip_op("(")) {
          if (skip_op(")")) return make(Expr::Kind::Tuple, pos);
          ExprPtr e = parse_expression();
          if (is_op(",")) {
            ExprPtr tup = make(Expr::Kind::Tuple, pos);
            tup->args.push_back(std::move(e));
            while (skip_op(",") && !is_op(")")) tup->args.push_back(parse_expression());
            e = seal(std::move(tup));
          }
          expect_op(")");
          return e;
        }
        if (skip_op("[")) {
          ExprPtr e = make(Expr::Kind::List, pos);
          while (!is_op("]")) {
            e->args.push_back(parse_expression());
            if (!skip_op(",")) break;
          }
          expect_op("]");
          return seal(std::move(e));
        }
        if (skip_op("{")) {
          ExprPtr e = make(Expr::Kind::Dict, pos);
          while (!is_op("}")) {
            e->args.push_back(parse_expression());
            expect_op(":");
            e->args.push_back(parse_expression());
            if (!skip_op(",")) break;
          }
          expect_op("}");
          return seal(std::move(e));
        }
        break;
      default: break;
    }
    throw TemplateError("expected a value" + found(), pos);
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      const size_t pos = peek().pos;
      if (skip_op(".")) {
        ExprPtr a = make(Expr::Kind::Attribute, pos);
        if (peek().kind == Token::Kind::Int) {  // x.0 is x[0]
          a->kind = Expr::Kind::Subscript;
          a->args.push_back(std::move(e));
          a->args.push_back(literal(Value(next().int_value), pos));
        } else {
          a->name = expect_name("an attribute name");
          a->args.push_back(std::move(e));
        }
        e = seal(std::move(a));
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), pos);
      } else if (is_op("(")) {
        ExprPtr c = make(Expr::Kind::Call, pos);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = seal(std::move(c));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, size_t pos) {
    ExprPtr parts[3];
    int n = 0;
    bool slice = false;
    for (;;) {
      if (!is_op(":") && !is_op("]")) parts[n] = parse_expression();
      if (is_op(":") && n < 2) {
        next();
        slice = true;
        ++n;
        continue;
      }
      break;
    }
    expect_op("]");
    if (!slice) {
      if (!parts[0]) throw TemplateError("an empty subscript", pos);
      ExprPtr e = make(Expr::Kind::Subscript, pos);
      e->args.push_back(std::move(obj));
      e->args.push_back(std::move(parts[0]));
      return seal(std::move(e));
    }
    ExprPtr e = make(Expr::Kind::Slice, pos);
    e->args.push_back(std::move(obj));
    for (auto& p : parts) e->args.push_back(std::move(p));
    return seal(std::move(e));
  }

  // (a, b, key=c): positional first, then keyword arguments (names in kw_names).
  void parse_call_args(Expr& call) {
    expect_op("(");
    while (!is_op(")")) {
      if (peek().kind == Token::Kind::Name && peek(1).kind == Token::Kind::Op && peek(1).text == "=") {
        call.kw_names.push_back(next().text);
        next();
        call.args.push_back(parse_expression());
      } else {
        if (!call.kw_names.empty()) throw TemplateError("a positional argument follows a keyword argument", peek().pos);
        call.args.push_back(parse_expression());
      }
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_filters(ExprPtr e) {
    for (;;) {
      const size_t pos = peek().pos;
      if (skip_op("|")) {
        ExprPtr f = make(Expr::Kind::Filter, pos);
        f->name = expect_name("a filter name");
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_call_args(*f);
        e = seal(std::move(f));
      } else if (skip_name("is")) {
        ExprPtr t = make(Expr::Kind::Test, pos);
        t->negated = skip_name("not");
        t->name = expect_name("a test name");
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if (starts_argument()) {
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = seal(std::move(t));
      } else {
        return e;
      }
    }
  }

  // Whether a test's single unparenthesised argument follows (`is equalto 3`).
  bool starts_argument() const {
    const Token& t = peek();
    if (t.kind == Token::Kind::String || t.kind == Token::Kind::Int || t.kind == Token::Kind::Float) return true;
    if (t.kind == Token::Kind::Op) return t.text == "[" || t.text == "{";
    if (t.kind != Token::Kind::Name) return false;
    for (const char* kw : {"and", "or", "else", "if", "not", "in", "is"})
      if (t.text == kw) return false;
    return true;
  }

  std::vector<Segment> segs_;
  const Limits& limits_;
  size_t si_ = 0;
  const std::vector<Token>* toks_ = nullptr;
  size_t ti_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source, const Limits& limits) {
  if (source.size() > limits.max_template_bytes)
    throw TemplateError("the template is " + std::to_string(source.size()) + " bytes, more than the limit of " +
                            std::to_string(limits.max_template_bytes),
                        0);
  return Parser(lex_template(source), limits).parse();
}

}  // namespace tessera::chat
