// Runs a parsed template: scopes (a for loop's body and a macro call each get
// their own, as in Jinja2), output, and the sandbox's accounting (Limits).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/ast.h"
#include "chat/limits.h"
#include "chat/value.h"

namespace tessera::chat {

class Interpreter {
 public:
  Interpreter(const Limits& limits, std::string_view source) : limits_(limits), source_(source) {}

  void set_global(const std::string& name, Value v) { globals_[name] = std::move(v); }
  // The output of `body`. Throws TemplateError with "line L, column C" in its message.
  std::string render(const Body& body);

  // ---- for the built-in filters, tests and functions ----
  const Limits& limits() const { return limits_; }
  // Counts work (bytes or items built, nodes evaluated) against Limits::max_work.
  void charge(size_t units);
  // A string result, refused past Limits::max_output_bytes (check before building a large one).
  Value string_result(std::string s);
  void check_string_size(size_t bytes) const;
  // A list result, refused past Limits::max_value_depth or max_loop_iterations items.
  Value array_result(Array items);
  void check_list_size(size_t items) const;
  Value object_result(Object o);
  // Counts loop iterations (and items of range()) against Limits::max_loop_iterations.
  void count_iterations(size_t n);
  Value call(const Value& callee, CallArgs& args);

 private:
  enum class Flow { Normal, Break, Continue };
  using Scope = std::unordered_map<std::string, Value>;

  Flow exec(const Body& body, std::string& out);
  Flow exec_for(const Stmt& s, std::string& out);
  void exec_set(const Stmt& s, std::string& out);
  void define_macro(const Stmt& s);
  Value eval(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_attribute(const Value& obj, const std::string& name);
  Value subscript(const Value& obj, const Value& index);
  Value slice(const Value& obj, const Expr& e);
  CallArgs eval_args(const Expr& e, size_t first);
  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value v) { scopes_.back()[name] = std::move(v); }
  void append(std::string& out, std::string_view text);

  struct Depth {
    Depth(Interpreter& in, size_t pos);
    ~Depth() { --in.depth_; }
    Interpreter& in;
  };

  const Limits& limits_;
  std::string_view source_;
  Scope globals_;
  std::vector<Scope> scopes_;
  size_t frame_base_ = 0;  // the first scope the current macro call may see (beside the globals)
  int depth_ = 0;
  size_t pos_ = 0;  // the node being evaluated, for errors raised without a position
  size_t work_ = 0, iterations_ = 0, output_bytes_ = 0;
};

}  // namespace tessera::chat
