#include "chat/interpreter.h"

#include <algorithm>
#include <cmath>

#include "chat/builtins.h"
#include "chat/lexer.h"
#include "chat/template_error.h"
#include "chat/utf8_text.h"

namespace tessera::chat {
namespace {

[[noreturn]] void undefined_error(const Value& v, const std::string& doing) {
  const std::string& n = v.undefined_name();
  throw TemplateError((n.empty() ? std::string("a value") : "'" + n + "'") + " is undefined" + doing);
}

[[noreturn]] void overflow() { throw TemplateError("integer overflow"); }

int64_t add_int(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) overflow();
  return r;
}
int64_t sub_int(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) overflow();
  return r;
}
int64_t mul_int(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}

// Python's floor division and modulo.
int64_t floor_div(int64_t a, int64_t b) {
  if (b == 0) throw TemplateError("division by zero");
  if (a == INT64_MIN && b == -1) overflow();
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t python_mod(int64_t a, int64_t b) {
  if (b == 0) throw TemplateError("modulo by zero");
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

}  // namespace

Interpreter::Depth::Depth(Interpreter& in, size_t pos) : in(in) {
  const int max = in.limits_.max_nesting * 8;
  if (++in.depth_ > max) {
    --in.depth_;
    throw TemplateError("evaluation nested deeper than " + std::to_string(max) + " levels (a recursive macro?)", pos);
  }
}

void Interpreter::charge(size_t units) {
  work_ += units;
  if (work_ > static_cast<size_t>(limits_.max_work))
    throw TemplateError("the template did more than the limit of " + std::to_string(limits_.max_work) +
                        " units of work (bytes and items built, expressions evaluated)");
}

void Interpreter::count_iterations(size_t n) {
  iterations_ += n;
  if (iterations_ > static_cast<size_t>(limits_.max_loop_iterations))
    throw TemplateError("loops ran more than the limit of " + std::to_string(limits_.max_loop_iterations) + " iterations");
}

void Interpreter::check_string_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    throw TemplateError("a string of " + std::to_string(bytes) + " bytes exceeds the output limit of " +
                        std::to_string(limits_.max_output_bytes));
}

Value Interpreter::string_result(std::string s) {
  check_string_size(s.size());
  charge(s.size());
  return Value(std::move(s));
}

Value Interpreter::array_result(Array items) {
  check_list_size(items.size());
  charge(items.size() * sizeof(Value));
  Value v = Value::array(std::move(items));
  if (v.depth() > limits_.max_value_depth)
    throw TemplateError("lists and dicts nested more than " + std::to_string(limits_.max_value_depth) + " deep");
  return v;
}

Value Interpreter::object_result(Object o) {
  for (const auto& kv : o.items) charge(sizeof(kv) + kv.first.size());
  Value v = Value::object(std::move(o));
  if (v.depth() > limits_.max_value_depth)
    throw TemplateError("lists and dicts nested more than " + std::to_string(limits_.max_value_depth) + " deep");
  return v;
}

void Interpreter::check_list_size(size_t items) const {
  if (items > static_cast<size_t>(limits_.max_loop_iterations))
    throw TemplateError("a list of " + std::to_string(items) + " items exceeds the limit of " +
                        std::to_string(limits_.max_loop_iterations));
}

void Interpreter::append(std::string& out, std::string_view text) {
  charge(text.size());
  output_bytes_ += text.size();
  if (output_bytes_ > limits_.max_output_bytes)
    throw TemplateError("the output exceeds the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
  out += text;
}

std::string Interpreter::render(const Body& body) {
  scopes_.assign(1, Scope{});
  frame_base_ = 0;
  depth_ = 0;
  work_ = iterations_ = output_bytes_ = 0;
  std::string out;
  try {
    if (exec(body, out) != Flow::Normal) throw TemplateError("'break' or 'continue' outside a loop");
  } catch (const TemplateError& e) {
    const size_t pos = e.pos == std::string::npos ? pos_ : e.pos;
    throw TemplateError(describe_position(source_, pos) + ": " + e.what(), pos);
  }
  return out;
}

Interpreter::Flow Interpreter::exec(const Body& body, std::string& out) {
  for (const auto& sp : body) {
    const Stmt& s = *sp;
    pos_ = s.pos;
    charge(1);
    switch (s.kind) {
      case Stmt::Kind::Text: append(out, s.text); break;
      case Stmt::Kind::Output: {
        const Value v = eval(*s.expr);
        if (v.is_string()) append(out, v.as_string());
        else append(out, to_str(v, limits_.max_output_bytes));
        break;
      }
      case Stmt::Kind::If: {
        Depth d(*this, s.pos);
        const Body* chosen = &s.else_body;
        for (const auto& [cond, b] : s.branches)
          if (eval(*cond).truthy()) {
            chosen = &b;
            break;
          }
        const Flow f = exec(*chosen, out);
        if (f != Flow::Normal) return f;
        break;
      }
      case Stmt::Kind::For: exec_for(s, out); break;
      case Stmt::Kind::Set: exec_set(s, out); break;
      case Stmt::Kind::Macro: define_macro(s); break;
      case Stmt::Kind::FilterBlock: {
        std::string captured;
        Depth d(*this, s.pos);
        const Flow f = exec(s.body, captured);
        output_bytes_ -= captured.size();  // counted again where it is output
        CallArgs args = eval_args(*s.expr, 1);
        pos_ = s.pos;
        const Value v = apply_filter(*this, s.expr->name, Value(std::move(captured)), args);
        append(out, v.is_string() ? v.as_string() : to_str(v, limits_.max_output_bytes));
        if (f != Flow::Normal) return f;
        break;
      }
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
    }
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, std::string& out) {
  Depth d(*this, s.pos);
  const Value seq = eval(*s.expr);
  if (seq.is_string()) charge(seq.as_string().size() * 64);  // a value per character
  Array items = iteration_items(seq, "for");
  charge(items.size() * sizeof(Value));
  auto bind = [&](const Value& item) {
    if (s.targets.size() == 1) return assign(s.targets[0], item);
    if (!item.is_array() || item.as_array().size() != s.targets.size())
      throw TemplateError("cannot unpack " + std::string(item.type_name()) + " into " + std::to_string(s.targets.size()) +
                              " loop variables",
                          s.pos);
    for (size_t k = 0; k < s.targets.size(); ++k) assign(s.targets[k], item.as_array()[k]);
  };
  if (s.cond) {  // `for x in xs if c`: loop over the items that pass
    Array kept;
    for (Value& item : items) {
      count_iterations(1);
      scopes_.emplace_back();
      bind(item);
      const bool keep = eval(*s.cond).truthy();
      scopes_.pop_back();
      if (keep) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body, out);
    return Flow::Normal;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    count_iterations(1);
    scopes_.emplace_back();
    bind(items[static_cast<size_t>(i)]);
    Object loop;
    loop.items = {{"index", Value(i + 1)},      {"index0", Value(i)},         {"revindex", Value(n - i)},
                  {"revindex0", Value(n - i - 1)}, {"first", Value(i == 0)}, {"last", Value(i == n - 1)},
                  {"length", Value(n)}};
    if (i > 0) loop.items.emplace_back("previtem", items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop.items.emplace_back("nextitem", items[static_cast<size_t>(i + 1)]);
    loop.items.emplace_back("cycle", Value::function("loop.cycle", [i](CallArgs& a) {
                              if (a.positional.empty()) throw TemplateError("loop.cycle() needs at least one value");
                              return a.positional[static_cast<size_t>(i) % a.positional.size()];
                            }));
    assign("loop", Value::object(std::move(loop)));
    const Flow f = exec(s.body, out);
    scopes_.pop_back();
    if (f == Flow::Break) break;
  }
  return Flow::Normal;
}

void Interpreter::exec_set(const Stmt& s, std::string& out) {
  Value v;
  if (s.expr) {
    v = eval(*s.expr);
  } else {
    std::string captured;
    Depth d(*this, s.pos);
    if (exec(s.body, captured) != Flow::Normal) throw TemplateError("'break' or 'continue' inside a 'set' block", s.pos);
    output_bytes_ -= captured.size();  // counted again where it is output
    v = Value(std::move(captured));
  }
  if (s.text.empty()) return assign(s.targets[0], std::move(v));
  const Value ns = lookup(s.targets[0]);
  if (!ns.is_object() || !ns.as_object().is_namespace)
    throw TemplateError("cannot set an attribute of '" + s.targets[0] + "' (a " + ns.type_name() +
                            "): only a namespace() takes attributes",
                        s.pos);
  if (v.is_object() && v.as_object().is_namespace)
    throw TemplateError("a namespace cannot be stored inside another", s.pos);
  if (v.depth() + 1 > limits_.max_value_depth)
    throw TemplateError("lists and dicts nested more than " + std::to_string(limits_.max_value_depth) + " deep", s.pos);
  ns.mutable_object().set(s.text, std::move(v));
}

void Interpreter::define_macro(const Stmt& s) {
  const Stmt* m = &s;
  assign(s.text, Value::function(s.text, [this, m](CallArgs& args) {
           Depth d(*this, m->pos);
           if (args.positional.size() > m->params.size())
             throw TemplateError("macro '" + m->text + "' takes " + std::to_string(m->params.size()) + " arguments, " +
                                 std::to_string(args.positional.size()) + " given");
           const size_t saved_base = frame_base_;
           scopes_.emplace_back();
           frame_base_ = scopes_.size() - 1;
           for (size_t k = 0; k < m->params.size(); ++k) {
             const auto& [name, def] = m->params[k];
             Value v = k < args.positional.size() ? args.positional[k] : Value::undefined(name);
             for (const auto& [kn, kv] : args.named)
               if (kn == name) v = kv;
             if (v.is_undefined() && def) v = eval(*def);
             assign(name, std::move(v));
           }
           for (const auto& [kn, kv] : args.named) {
             bool known = false;
             for (const auto& p : m->params) known = known || p.first == kn;
             if (!known) throw TemplateError("macro '" + m->text + "' has no parameter '" + kn + "'");
           }
           std::string out;
           const Flow f = exec(m->body, out);
           scopes_.pop_back();
           frame_base_ = saved_base;
           if (f != Flow::Normal) throw TemplateError("'break' or 'continue' outside a loop in macro '" + m->text + "'");
           output_bytes_ -= out.size();  // counted again where it is output
           return Value(std::move(out));
         }));
}

Value Interpreter::lookup(const std::string& name) const {
  for (size_t i = scopes_.size(); i-- > frame_base_;) {
    const auto it = scopes_[i].find(name);
    if (it != scopes_[i].end()) return it->second;
  }
  if (frame_base_ > 0) {  // a macro also sees the template's top level
    const auto it = scopes_[0].find(name);
    if (it != scopes_[0].end()) return it->second;
  }
  const auto it = globals_.find(name);
  if (it != globals_.end()) return it->second;
  return Value::undefined(name);
}

CallArgs Interpreter::eval_args(const Expr& e, size_t first) {
  CallArgs a;
  const size_t n_named = e.kw_names.size();
  const size_t n_pos = e.args.size() - first - n_named;
  for (size_t k = 0; k < n_pos; ++k) a.positional.push_back(eval(*e.args[first + k]));
  for (size_t k = 0; k < n_named; ++k) a.named.emplace_back(e.kw_names[k], eval(*e.args[first + n_pos + k]));
  return a;
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) throw TemplateError("unknown function '" + callee.undefined_name() + "'");
  if (!callee.is_function()) throw TemplateError(std::string("a ") + callee.type_name() + " cannot be called");
  return callee.as_function().call(args);
}

Value Interpreter::eval_call(const Expr& e) {
  const Expr& callee = *e.args[0];
  if (callee.kind == Expr::Kind::Attribute) {  // a method: obj.name(...)
    const Value obj = eval(*callee.args[0]);
    CallArgs args = eval_args(e, 1);
    pos_ = e.pos;
    if (obj.is_object())
      if (const Value* f = obj.as_object().find(callee.name); f && f->is_function()) return call(*f, args);
    if (obj.is_undefined()) undefined_error(obj, ": cannot call its method '" + callee.name + "'");
    return call_method(*this, obj, callee.name, args);
  }
  const Value f = eval(callee);
  CallArgs args = eval_args(e, 1);
  pos_ = e.pos;
  return call(f, args);
}

Value Interpreter::eval_attribute(const Value& obj, const std::string& name) {
  if (obj.is_object()) {
    const Value* v = obj.as_object().find(name);
    return v ? *v : Value::undefined(name);
  }
  if (obj.is_undefined()) undefined_error(obj, ": cannot read its attribute '" + name + "'");
  return Value::undefined(name);
}

Value Interpreter::subscript(const Value& obj, const Value& index) {
  if (obj.is_undefined()) undefined_error(obj, ": cannot subscript it");
  if (obj.is_object()) {
    if (!index.is_string()) return Value::undefined(std::string("[a ") + index.type_name() + "]");
    const Value* v = obj.as_object().find(index.as_string());
    return v ? *v : Value::undefined(index.as_string());
  }
  if ((obj.is_array() || obj.is_string()) && (index.is_int() || index.is_bool())) {
    const int64_t i = index.is_bool() ? index.as_bool() : index.as_int();
    if (obj.is_array()) {
      const int64_t n = static_cast<int64_t>(obj.as_array().size());
      const int64_t k = i < 0 ? i + n : i;
      return k >= 0 && k < n ? obj.as_array()[static_cast<size_t>(k)] : Value::undefined("[" + std::to_string(i) + "]");
    }
    const std::string& str = obj.as_string();
    charge(str.size());
    const std::vector<size_t> starts = utf8_starts(str);
    const int64_t n = static_cast<int64_t>(starts.size()) - 1;
    const int64_t k = i < 0 ? i + n : i;
    if (k < 0 || k >= n) return Value::undefined("[" + std::to_string(i) + "]");
    return Value(str.substr(starts[static_cast<size_t>(k)], starts[static_cast<size_t>(k) + 1] - starts[static_cast<size_t>(k)]));
  }
  return Value::undefined(std::string("[a ") + index.type_name() + "]");
}

Value Interpreter::slice(const Value& obj, const Expr& e) {
  auto bound = [&](const ExprPtr& x, bool& given) -> int64_t {
    given = false;
    if (!x) return 0;
    const Value v = eval(*x);
    if (v.is_none() || v.is_undefined()) return 0;
    if (!v.is_int()) throw TemplateError("slice bounds must be integers", x->pos);
    given = true;
    return v.as_int();
  };
  bool has_start, has_stop, has_step;
  int64_t start = bound(e.args[1], has_start), stop = bound(e.args[2], has_stop), step = bound(e.args[3], has_step);
  if (!has_step) step = 1;
  if (step == 0) throw TemplateError("slice step cannot be zero", e.pos);
  std::vector<size_t> starts;  // of the string's characters, and its end
  int64_t n = 0;
  if (obj.is_array()) n = static_cast<int64_t>(obj.as_array().size());
  else if (obj.is_string()) {
    charge(obj.as_string().size() * (1 + sizeof(size_t)));
    starts = utf8_starts(obj.as_string());
    n = static_cast<int64_t>(starts.size()) - 1;
  }
  else if (obj.is_undefined()) undefined_error(obj, ": cannot slice it");
  else throw TemplateError(std::string("cannot slice a ") + obj.type_name(), e.pos);
  // Python's slice.indices().
  auto clamp = [&](int64_t x, bool given, int64_t dflt) {
    if (!given) return dflt;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  start = clamp(start, has_start, step > 0 ? 0 : n - 1);
  stop = clamp(stop, has_stop, step > 0 ? n : -1);
  if (obj.is_array()) {
    Array out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(obj.as_array()[static_cast<size_t>(i)]);
    return array_result(std::move(out));
  }
  std::string out;
  const std::string& str = obj.as_string();
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
    out.append(str, starts[static_cast<size_t>(i)], starts[static_cast<size_t>(i) + 1] - starts[static_cast<size_t>(i)]);
  return string_result(std::move(out));
}

Value Interpreter::eval(const Expr& e) {
  Depth d(*this, e.pos);
  charge(1);
  pos_ = e.pos;
  switch (e.kind) {
    case Expr::Kind::Literal: return e.value;
    case Expr::Kind::Name: return lookup(e.name);
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      Array items;
      for (const ExprPtr& a : e.args) items.push_back(eval(*a));
      return array_result(std::move(items));
    }
    case Expr::Kind::Dict: {
      Object o;
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
        const Value key = eval(*e.args[k]);
        if (!key.is_string()) throw TemplateError("dict keys must be strings", e.args[k]->pos);
        Value v = eval(*e.args[k + 1]);
        if (v.is_object() && v.as_object().is_namespace) throw TemplateError("a namespace cannot be stored in a dict", e.pos);
        o.set(key.as_string(), std::move(v));
      }
      return object_result(std::move(o));
    }
    case Expr::Kind::Attribute: {
      const Value obj = eval(*e.args[0]);
      pos_ = e.pos;
      return eval_attribute(obj, e.name);
    }
    case Expr::Kind::Subscript: {
      const Value obj = eval(*e.args[0]);
      const Value index = eval(*e.args[1]);
      pos_ = e.pos;
      return subscript(obj, index);
    }
    case Expr::Kind::Slice: {
      const Value obj = eval(*e.args[0]);
      return slice(obj, e);
    }
    case Expr::Kind::Call: return eval_call(e);
    case Expr::Kind::Filter: {
      const Value v = eval(*e.args[0]);
      CallArgs args = eval_args(e, 1);
      pos_ = e.pos;
      return apply_filter(*this, e.name, v, args);
    }
    case Expr::Kind::Test: {
      const Value v = eval(*e.args[0]);
      CallArgs args = eval_args(e, 1);
      pos_ = e.pos;
      return Value(apply_test(*this, e.name, v, args) != e.negated);
    }
    case Expr::Kind::Not: return Value(!eval(*e.args[0]).truthy());
    case Expr::Kind::Negate: {
      const Value v = eval(*e.args[0]);
      pos_ = e.pos;
      if (v.is_int()) return Value(sub_int(0, v.as_int()));
      if (v.is_float()) return Value(-v.as_float());
      if (v.is_undefined()) undefined_error(v, "");
      throw TemplateError(std::string("cannot negate a ") + v.type_name());
    }
    case Expr::Kind::Binary: return eval_binary(e);
    case Expr::Kind::And: {
      Value a = eval(*e.args[0]);
      return a.truthy() ? eval(*e.args[1]) : a;
    }
    case Expr::Kind::Or: {
      Value a = eval(*e.args[0]);
      return a.truthy() ? a : eval(*e.args[1]);
    }
    case Expr::Kind::Conditional:
      if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
      return e.args[2] ? eval(*e.args[2]) : Value::undefined("");
  }
  return Value();
}

namespace {

bool contains(const Value& container, const Value& item, size_t& work) {
  switch (container.type()) {
    case Value::Type::String:
      if (!item.is_string())
        throw TemplateError(std::string("'in <string>' needs a string on the left, not a ") + item.type_name());
      work += container.as_string().size() * std::max<size_t>(1, std::min<size_t>(item.as_string().size(), 64));
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Type::Array:
      for (const Value& x : container.as_array())
        if (equals(x, item, &work)) return true;
      return false;
    case Value::Type::Object:
      work += container.as_object().items.size();
      return item.is_string() && container.as_object().find(item.as_string()) != nullptr;
    case Value::Type::Undefined: return false;
    default: throw TemplateError(std::string("'in' needs a string, list or dict on the right, not a ") + container.type_name());
  }
}

int compare(const Value& a, const Value& b, const std::string& op) {
  auto num = [](const Value& v) { return v.is_bool() ? static_cast<double>(v.as_bool()) : v.as_number(); };
  if ((a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool())) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    const double x = num(a), y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;  // NaN compares as equal here, never as less
  }
  if (a.is_string() && b.is_string()) return a.as_string().compare(b.as_string()) < 0 ? -1 : a.as_string() > b.as_string();
  throw TemplateError("cannot compare a " + std::string(a.type_name()) + " with a " + b.type_name() + " by '" + op + "'");
}

}  // namespace

Value Interpreter::eval_binary(const Expr& e) {
  const std::string& op = e.name;
  const Value a = eval(*e.args[0]);
  const Value b = eval(*e.args[1]);
  pos_ = e.pos;
  size_t work = 0;
  if (op == "in" || op == "not in") {
    const bool found = contains(b, a, work);
    charge(work);
    return Value(found == (op == "in"));
  }
  if (op == "==" || op == "!=") {
    const bool eq = equals(a, b, &work);
    charge(work);
    return Value(eq == (op == "=="));
  }
  if (op == "~") {
    const std::string sa = to_str(a, limits_.max_output_bytes), sb = to_str(b, limits_.max_output_bytes);
    check_string_size(sa.size() + sb.size());
    return string_result(sa + sb);
  }
  if (a.is_undefined()) undefined_error(a, "");
  if (b.is_undefined()) undefined_error(b, "");
  if (op == "<" || op == "<=" || op == ">" || op == ">=") {
    if (a.is_string() && b.is_string()) charge(std::min(a.as_string().size(), b.as_string().size()));
    const int c = compare(a, b, op);
    return Value(op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0);
  }
  auto as_num = [](const Value& v) -> Value { return v.is_bool() ? Value(static_cast<int64_t>(v.as_bool())) : v; };
  const Value x = as_num(a), y = as_num(b);
  const bool nums = x.is_number() && y.is_number();
  const bool ints = x.is_int() && y.is_int();
  if (op == "+") {
    if (ints) return Value(add_int(x.as_int(), y.as_int()));
    if (nums) return Value(x.as_number() + y.as_number());
    if (a.is_string() && b.is_string()) {
      check_string_size(a.as_string().size() + b.as_string().size());
      return string_result(a.as_string() + b.as_string());
    }
    if (a.is_array() && b.is_array()) {
      Array out = a.as_array();
      out.insert(out.end(), b.as_array().begin(), b.as_array().end());
      return array_result(std::move(out));
    }
  } else if (op == "-") {
    if (ints) return Value(sub_int(x.as_int(), y.as_int()));
    if (nums) return Value(x.as_number() - y.as_number());
  } else if (op == "*") {
    if (ints) return Value(mul_int(x.as_int(), y.as_int()));
    if (nums) return Value(x.as_number() * y.as_number());
    const Value* seq = a.is_string() || a.is_array() ? &a : b.is_string() || b.is_array() ? &b : nullptr;
    const Value* count = seq == &a ? &y : &x;
    if (seq && count->is_int()) {
      const int64_t k = std::max<int64_t>(0, count->as_int());
      const size_t unit = seq->is_string() ? seq->as_string().size() : seq->as_array().size();
      const size_t max_units = seq->is_string() ? limits_.max_output_bytes : static_cast<size_t>(limits_.max_loop_iterations);
      if (unit > 0 && static_cast<uint64_t>(k) > max_units / unit)
        throw TemplateError("repeating a " + std::string(seq->type_name()) + " " + std::to_string(k) + " times exceeds the " +
                            (seq->is_string() ? "output limit of " + std::to_string(max_units) + " bytes"
                                              : "limit of " + std::to_string(max_units) + " list items"));
      if (seq->is_string()) {
        std::string out;
        for (int64_t i = 0; i < k; ++i) out += seq->as_string();
        return string_result(std::move(out));
      }
      Array out;
      for (int64_t i = 0; i < k; ++i) out.insert(out.end(), seq->as_array().begin(), seq->as_array().end());
      return array_result(std::move(out));
    }
  } else if (op == "/") {
    if (nums) {
      if (y.as_number() == 0) throw TemplateError("division by zero");
      return Value(x.as_number() / y.as_number());
    }
  } else if (op == "//") {
    if (ints) return Value(floor_div(x.as_int(), y.as_int()));
    if (nums) {
      if (y.as_number() == 0) throw TemplateError("division by zero");
      return Value(std::floor(x.as_number() / y.as_number()));
    }
  } else if (op == "%") {
    if (ints) return Value(python_mod(x.as_int(), y.as_int()));
    if (nums) {
      if (y.as_number() == 0) throw TemplateError("modulo by zero");
      const double m = std::fmod(x.as_number(), y.as_number());
      return Value(m != 0 && ((m < 0) != (y.as_number() < 0)) ? m + y.as_number() : m);
    }
  } else if (op == "**") {
    if (ints && y.as_int() >= 0) {
      const int64_t base = x.as_int(), exp = y.as_int();
      if (base == 0 || base == 1) return Value(exp == 0 ? int64_t{1} : base);
      if (base == -1) return Value(exp % 2 ? int64_t{-1} : int64_t{1});
      int64_t result = 1;  // |base| >= 2 overflows within 63 steps
      for (int64_t i = 0; i < exp; ++i) result = mul_int(result, base);
      return Value(result);
    }
    if (nums) return Value(std::pow(x.as_number(), y.as_number()));
  }
  throw TemplateError("cannot apply '" + op + "' to a " + a.type_name() + " and a " + b.type_name());
}

}  // namespace tessera::chat
