// The filters, tests, methods and global functions templates may call: the
// ones Hugging Face chat templates use (Jinja2's built-ins, Python's string and
// dict methods, HF's raise_exception and strftime_now). Anything else is an
// error naming it.
#pragma once

#include <chrono>
#include <string>

#include "chat/value.h"

namespace tessera::chat {

class Interpreter;

// Throws TemplateError "unknown filter 'name'" for one it does not have.
Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
// obj.name(args): string, dict and list methods. Throws for an unknown one.
Value call_method(Interpreter& in, const Value& obj, const std::string& name, CallArgs& args);
// range, namespace, dict, raise_exception, strftime_now (at `now`, local time).
void add_global_functions(Interpreter& in, std::chrono::system_clock::time_point now);

}  // namespace tessera::chat
