#include "chat/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "chat/template_error.h"
#include "chat/utf8_text.h"

namespace tessera::chat {

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Object::set(const std::string& key, Value value) {
  for (auto& [k, v] : items)
    if (k == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

Value Value::array(Array items) {
  auto node = std::make_shared<Node<Array>>();
  for (const Value& v : items) node->depth = std::max(node->depth, v.depth() + 1);
  node->items = std::move(items);
  return Value(Holder<Array>{std::move(node)}, 0);
}

Value Value::object(Object o) {
  auto node = std::make_shared<Node<Object>>();
  for (const auto& kv : o.items) node->depth = std::max(node->depth, kv.second.depth() + 1);
  node->items = std::move(o);
  return Value(Holder<Object>{std::move(node)}, 0);
}

Value Value::function(std::string name, std::function<Value(CallArgs&)> call) {
  return Value(std::make_shared<Function>(Function{std::move(name), std::move(call)}), 0);
}

int Value::depth() const {
  if (is_array()) return std::get<Holder<Array>>(v_).value->depth;
  if (is_object()) {
    const auto& node = *std::get<Holder<Object>>(v_).value;
    if (!node.items.is_namespace) return node.depth;
    int d = 1;  // a namespace changes in place: measure it now
    for (const auto& kv : node.items.items) d = std::max(d, kv.second.depth() + 1);
    return d;
  }
  return 0;
}

bool Value::truthy() const {
  switch (type()) {
    case Type::Undefined:
    case Type::None: return false;
    case Type::Bool: return as_bool();
    case Type::Int: return as_int() != 0;
    case Type::Float: return as_float() != 0.0;
    case Type::String: return !as_string().empty();
    case Type::Array: return !as_array().empty();
    case Type::Object: return !as_object().items.empty();
    case Type::Function: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (type()) {
    case Type::Undefined: return "undefined";
    case Type::None: return "none";
    case Type::Bool: return "boolean";
    case Type::Int: return "integer";
    case Type::Float: return "float";
    case Type::String: return "string";
    case Type::Array: return "list";
    case Type::Object: return as_object().is_namespace ? "namespace" : "dict";
    case Type::Function: return "function";
  }
  return "?";
}

Array iteration_items(const Value& v, const char* what) {
  switch (v.type()) {
    case Value::Type::Array: return v.as_array();
    case Value::Type::Object: {
      Array keys;
      for (const auto& kv : v.as_object().items) keys.emplace_back(kv.first);
      return keys;
    }
    case Value::Type::String: {
      Array chars;
      for (std::string& c : utf8_chars(v.as_string())) chars.emplace_back(std::move(c));
      return chars;
    }
    case Value::Type::Undefined: return {};
    default: throw TemplateError(std::string(what) + ": cannot walk a value of type " + v.type_name());
  }
}

bool equals(const Value& a, const Value& b, size_t* work) {
  if (work) ++*work;
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_number() == b.as_number();
  }
  if (a.is_bool() && b.is_number()) return equals(Value(static_cast<int64_t>(a.as_bool())), b, work);  // True == 1
  if (a.is_number() && b.is_bool()) return equals(a, Value(static_cast<int64_t>(b.as_bool())), work);
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::Undefined:
    case Value::Type::None: return true;
    case Value::Type::Bool: return a.as_bool() == b.as_bool();
    case Value::Type::String:
      if (work) *work += std::min(a.as_string().size(), b.as_string().size());
      return a.as_string() == b.as_string();
    case Value::Type::Array: {
      const Array &x = a.as_array(), &y = b.as_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i], work)) return false;
      return true;
    }
    case Value::Type::Object: {
      const Object &x = a.as_object(), &y = b.as_object();
      if (&x == &y) return true;
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* w = y.find(k);
        if (work) *work += x.items.size();  // the key lookup
        if (!w || !equals(v, *w, work)) return false;
      }
      return true;
    }
    case Value::Type::Function: return &a.as_function() == &b.as_function();
    default: return false;
  }
}

namespace {

// Python's repr of a float: the shortest round-trip digits, ".0" on integers,
// exponent form outside 1e-4 <= |x| < 1e16.
std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  const double ax = std::fabs(x);
  std::to_chars_result r;
  if (ax != 0 && (ax < 1e-4 || ax >= 1e16)) r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  else r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed);
  std::string s(buf, r.ptr);
  const size_t e = s.find('e');
  if (e != std::string::npos) {  // Python: 1e-05, 1e+16 (at least two exponent digits)
    const char sign = s[e + 1] == '-' ? '-' : '+';
    const size_t digits = e + 1 + (s[e + 1] == '-' || s[e + 1] == '+' ? 1 : 0);
    std::string out = s.substr(0, e) + "e" + sign;
    if (s.size() - digits < 2) out += '0';
    return out.append(s, digits, std::string::npos);
  }
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

std::string quote_repr(const std::string& s) {
  // Python prefers single quotes, double when the text holds a single quote but no double one.
  const char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, q);
  for (const char c : s) {
    if (c == q || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out + q;
}

// Output that refuses to grow past a limit.
struct Text {
  std::string out;
  size_t max;
  void check() const {
    if (out.size() > max)
      throw TemplateError("a string of more than " + std::to_string(max) + " bytes exceeds the output limit");
  }
};

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void json_value(Text& text, const Value& v, int indent, int level) {
  std::string& out = text.out;
  text.check();
  auto newline = [&](int l) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(l), ' ');
  };
  switch (v.type()) {
    case Value::Type::None: out += "null"; return;
    case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Type::Int: out += std::to_string(v.as_int()); return;
    case Value::Type::Float: {
      const double x = v.as_float();
      out += std::isnan(x) ? "NaN" : std::isinf(x) ? (x > 0 ? "Infinity" : "-Infinity") : float_repr(x);
      return;
    }
    case Value::Type::String: json_string(out, v.as_string()); return;
    case Value::Type::Array: {
      const Array& a = v.as_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += indent < 0 ? ", " : ",";
        if (indent >= 0) newline(level + 1);
        json_value(text, a[i], indent, level + 1);
      }
      if (indent >= 0) newline(level);
      out += ']';
      return;
    }
    case Value::Type::Object: {
      const Object& o = v.as_object();
      if (o.items.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < o.items.size(); ++i) {
        if (i) out += indent < 0 ? ", " : ",";
        if (indent >= 0) newline(level + 1);
        json_string(out, o.items[i].first);
        out += ": ";
        json_value(text, o.items[i].second, indent, level + 1);
      }
      if (indent >= 0) newline(level);
      out += '}';
      return;
    }
    case Value::Type::Undefined: throw TemplateError("tojson: cannot encode an undefined value");
    case Value::Type::Function: throw TemplateError("tojson: cannot encode a function");
  }
}

void repr_value(Text& text, const Value& v) {
  std::string& out = text.out;
  text.check();
  switch (v.type()) {
    case Value::Type::Undefined: return;
    case Value::Type::None: out += "None"; return;
    case Value::Type::Bool: out += v.as_bool() ? "True" : "False"; return;
    case Value::Type::Int: out += std::to_string(v.as_int()); return;
    case Value::Type::Float: out += float_repr(v.as_float()); return;
    case Value::Type::String: out += quote_repr(v.as_string()); return;
    case Value::Type::Array:
      out += '[';
      for (size_t i = 0; i < v.as_array().size(); ++i) {
        if (i) out += ", ";
        repr_value(text, v.as_array()[i]);
      }
      out += ']';
      return;
    case Value::Type::Object: {
      out += v.as_object().is_namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, x] : v.as_object().items) {
        out += (first ? "" : ", ") + quote_repr(k) + ": ";
        repr_value(text, x);
        first = false;
      }
      out += v.as_object().is_namespace ? "}>" : "}";
      return;
    }
    case Value::Type::Function: out += "<function " + v.as_function().name + ">"; return;
  }
}

}  // namespace

std::string to_str(const Value& v, size_t max_bytes) {
  switch (v.type()) {
    case Value::Type::Undefined: return "";
    case Value::Type::String: return v.as_string();
    default: return to_repr(v, max_bytes);
  }
}

std::string to_repr(const Value& v, size_t max_bytes) {
  Text text{{}, max_bytes};
  repr_value(text, v);
  text.check();
  return std::move(text.out);
}

std::string to_json(const Value& v, int indent, size_t max_bytes) {
  Text text{{}, max_bytes};
  json_value(text, v, indent, 0);
  text.check();
  return std::move(text.out);
}

}  // namespace tessera::chat
