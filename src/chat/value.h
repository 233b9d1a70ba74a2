// The values a chat template computes with: undefined, none, bool, int,
// float, string, list, dict (insertion-ordered, as Python's) and functions
// (macros and the globals). Lists and dicts are shared and immutable once
// built (templates run sandboxed, as Hugging Face's immutable environment);
// only a namespace() dict is changed in place, by `set ns.attr = ...`. Nesting
// is bounded (depth()), and a namespace cannot be stored inside another value,
// so no value holds a cycle.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tessera::chat {

class Value;
using Array = std::vector<Value>;

struct Object {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

// Arguments of a call: positional, then keyword.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};

struct Function {
  std::string name;
  std::function<Value(CallArgs&)> call;
};

struct Undefined {
  std::string name;  // what was looked up, for error messages
};

class Value {
 public:
  enum class Type { Undefined, None, Bool, Int, Float, String, Array, Object, Function };

  Value() : v_(Undefined{}) {}
  static Value undefined(std::string name) { return Value(Undefined{std::move(name)}); }
  static Value none() { return Value(nullptr); }
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(static_cast<int64_t>(i)) {}
  Value(double f) : v_(f) {}
  Value(std::string s) : v_(std::make_shared<const std::string>(std::move(s))) {}
  Value(const char* s) : Value(std::string(s)) {}
  static Value array(Array items);
  static Value object(Object o);
  static Value function(std::string name, std::function<Value(CallArgs&)> call);

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_undefined() const { return type() == Type::Undefined; }
  bool is_none() const { return type() == Type::None; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_int() const { return type() == Type::Int; }
  bool is_float() const { return type() == Type::Float; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }
  bool is_function() const { return type() == Type::Function; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  double as_number() const { return is_int() ? static_cast<double>(as_int()) : as_float(); }
  const std::string& as_string() const { return *std::get<std::shared_ptr<const std::string>>(v_); }
  const Array& as_array() const { return std::get<Holder<Array>>(v_).value->items; }
  const Object& as_object() const { return std::get<Holder<Object>>(v_).value->items; }
  Object& mutable_object() const { return std::get<Holder<Object>>(v_).value->items; }
  const Function& as_function() const { return *std::get<std::shared_ptr<Function>>(v_); }
  const std::string& undefined_name() const { return std::get<Undefined>(v_).name; }

  // Lists and dicts nested inside this one, plus one (0 for scalars).
  int depth() const;
  bool truthy() const;
  // What the type is called in error messages ("string", "list", ...).
  const char* type_name() const;

 private:
  template <typename T>
  struct Node {
    T items;
    int depth = 1;
  };
  template <typename T>
  struct Holder {
    std::shared_ptr<Node<T>> value;
  };
  template <typename T>
  explicit Value(T v, int) : v_(std::move(v)) {}
  explicit Value(Undefined u) : v_(std::move(u)) {}
  explicit Value(std::nullptr_t) : v_(nullptr) {}

  // Strings are shared: copying a value never copies its text.
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::shared_ptr<const std::string>, Holder<Array>,
               Holder<Object>, std::shared_ptr<Function>>
      v_;
};

// What a for loop or a filter walks: a list's items, a dict's keys, a
// string's characters (undefined: nothing). Throws TemplateError for others.
Array iteration_items(const Value& v, const char* what);

// Python's == between template values (1 == 1.0; lists and dicts compared
// deeply). Adds the items and bytes it compared to *work when given.
bool equals(const Value& a, const Value& b, size_t* work = nullptr);

// The text functions below throw TemplateError once their result passes
// max_bytes (a list may hold one long string many times).
// str(value) as Python prints it ("None", "True", "1.5", "['a', 1]"); undefined is "".
std::string to_str(const Value& v, size_t max_bytes = SIZE_MAX);
// repr(value): strings quoted, as inside a printed list.
std::string to_repr(const Value& v, size_t max_bytes = SIZE_MAX);
// json.dumps(value, ensure_ascii=False, indent=indent) as Hugging Face's tojson
// filter calls it (keys in insertion order); indent < 0: one line.
std::string to_json(const Value& v, int indent, size_t max_bytes = SIZE_MAX);

}  // namespace tessera::chat
