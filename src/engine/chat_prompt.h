// A model's chat formatting: its `tokenizer.chat_template` (or a replacement,
// or ChatML when it has none), parsed once on first use and rendered with the
// model's BOS / EOS text. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chat/chat_template.h"

namespace tessera::engine {

class ChatPrompt {
 public:
  ChatPrompt(std::string model_template, std::string bos_text, std::string eos_text);

  const std::string& model_template() const { return model_template_; }
  // Parses `source` now (throws chat::TemplateError) and uses it from then on.
  void set_template(const std::string& source);
  // Throws chat::TemplateError (a bad template, or raise_exception() refusing the messages).
  std::string render(const std::vector<chat::Message>& messages, bool add_generation_prompt) const;

  const std::string& bos_text() const { return bos_text_; }
  const std::string& eos_text() const { return eos_text_; }

 private:
  std::shared_ptr<const chat::ChatTemplate> parsed() const;

  std::string model_template_, bos_text_, eos_text_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const chat::ChatTemplate> parsed_;
};

// ChatML, the format of models without a template (as llama.cpp's server falls back to).
extern const char* const kChatmlTemplate;

}  // namespace tessera::engine
