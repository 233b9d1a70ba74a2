#include "chat/chat_template.h"

#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/template_error.h"

namespace tessera::chat {
namespace {

Value messages_value(const std::vector<Message>& messages) {
  Array list;
  list.reserve(messages.size());
  for (const Message& m : messages) {
    Object o;
    o.items = {{"role", Value(m.role)}, {"content", Value(m.content)}};
    list.push_back(Value::object(std::move(o)));
  }
  return Value::array(std::move(list));
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source, const Limits& limits) : source_(std::move(source)), limits_(limits) {
  try {
    body_ = parse_template(source_, limits_);
  } catch (const TemplateError& e) {
    throw TemplateError("chat template: " + describe_position(source_, e.pos) + ": " + e.what(), e.pos);
  }
  // Whether a system message shows in the output (llama.cpp probes the same way).
  Conversation probe;
  probe.messages = {{"system", "<System Needle>"}, {"user", "<User Needle>"}};
  probe.add_generation_prompt = false;
  try {
    supports_system_role_ = render_raw(probe).find("<System Needle>") != std::string::npos;
  } catch (const TemplateError&) {
    supports_system_role_ = false;
  }
}

std::string ChatTemplate::render_raw(const Conversation& c) const {
  Interpreter in(limits_, source_);
  add_global_functions(in, c.now);
  in.set_global("messages", messages_value(c.messages));
  in.set_global("add_generation_prompt", Value(c.add_generation_prompt));
  in.set_global("bos_token", Value(c.bos_token));
  in.set_global("eos_token", Value(c.eos_token));
  in.set_global("tools", Value::none());  // as Hugging Face passes when a request has none
  try {
    return in.render(body_);
  } catch (const TemplateError& e) {
    throw TemplateError(std::string("chat template: ") + e.what(), e.pos);
  }
}

std::string ChatTemplate::render(const Conversation& c) const {
  if (supports_system_role_) return render_raw(c);
  Conversation folded = c;
  folded.messages.clear();
  std::string pending;  // system text waiting for the next user message
  for (const Message& m : c.messages) {
    if (m.role == "system") {
      pending += (pending.empty() ? "" : "\n") + m.content;
      continue;
    }
    if (m.role == "user" && !pending.empty()) {
      folded.messages.push_back({"user", pending + (m.content.empty() ? "" : "\n" + m.content)});
      pending.clear();
      continue;
    }
    if (!pending.empty()) folded.messages.push_back({"user", pending}), pending.clear();
    folded.messages.push_back(m);
  }
  if (!pending.empty()) folded.messages.push_back({"user", pending});
  return render_raw(folded);
}

}  // namespace tessera::chat
