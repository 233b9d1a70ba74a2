#include "engine/chat_prompt.h"

namespace tessera::engine {

const char* const kChatmlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

ChatPrompt::ChatPrompt(std::string model_template, std::string bos_text, std::string eos_text)
    : model_template_(std::move(model_template)), bos_text_(std::move(bos_text)), eos_text_(std::move(eos_text)) {}

void ChatPrompt::set_template(const std::string& source) {
  auto t = std::make_shared<const chat::ChatTemplate>(source);
  std::lock_guard<std::mutex> lock(mutex_);
  parsed_ = std::move(t);
}

std::shared_ptr<const chat::ChatTemplate> ChatPrompt::parsed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!parsed_) parsed_ = std::make_shared<const chat::ChatTemplate>(model_template_.empty() ? kChatmlTemplate : model_template_);
  return parsed_;
}

std::string ChatPrompt::render(const std::vector<chat::Message>& messages, bool add_generation_prompt) const {
  chat::Conversation c;
  c.messages = messages;
  c.add_generation_prompt = add_generation_prompt;
  c.bos_token = bos_text_;
  c.eos_token = eos_text_;
  return parsed()->render(c);
}

}  // namespace tessera::engine
