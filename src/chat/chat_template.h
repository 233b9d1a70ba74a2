// A model's chat template (the Jinja text in `tokenizer.chat_template`),
// parsed once and rendered per conversation in a sandbox: no file or host
// access exists in the interpreter, and every resource is bounded (Limits).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "chat/ast.h"
#include "chat/limits.h"

namespace tessera::chat {

struct Message {
  std::string role, content;
};

struct Conversation {
  std::vector<Message> messages;
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;  // the model's, as text
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();  // strftime_now's clock
};

class ChatTemplate {
 public:
  // Parses `source`. Throws TemplateError: "chat template: line L, column C: why".
  explicit ChatTemplate(std::string source, const Limits& limits = {});

  // The template's output for the conversation. System messages are folded
  // into the next user message ("system\nuser") when the template does not
  // show a system message at all (Gemma's raises an error on one), as
  // llama.cpp does. Throws TemplateError, raise_exception()'s message included.
  std::string render(const Conversation& c) const;

  // The output for exactly these messages, without that folding.
  std::string render_raw(const Conversation& c) const;

  bool supports_system_role() const { return supports_system_role_; }

 private:
  std::string source_;
  Limits limits_;
  Body body_;
  bool supports_system_role_ = true;
};

}  // namespace tessera::chat
