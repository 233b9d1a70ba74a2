// Helpers of the chat-template tests: the fixed conversation of the reference
// data (llama.cpp's test conversation) and one-call rendering.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include "chat/chat_template.h"

namespace tessera::test {

inline nlohmann::json load_chat_data(const std::string& name) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/tests/data/chat_templates/" + name);
  return nlohmann::json::parse(in);
}

inline std::string chat_data_text(const std::string& name) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/tests/data/chat_templates/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<chat::Message> reference_conversation() {
  return {{"system", "You are a helpful assistant"}, {"user", "Hello"},          {"assistant", "Hi there"},
          {"user", "Who are you"},                   {"assistant", "   I am an assistant   "}, {"user", "Another question"}};
}

// 2024-07-26 12:00 UTC, the clock of the Jinja2 reference renders.
inline std::chrono::system_clock::time_point reference_now() {
  return std::chrono::system_clock::from_time_t(1721995200);
}

// The output of `source` for exactly the reference conversation (or no
// messages), no BOS / EOS text.
inline std::string render(const std::string& source, bool with_messages = false, const chat::Limits& limits = {}) {
  chat::Conversation c;
  if (with_messages) c.messages = reference_conversation();
  c.now = reference_now();
  return chat::ChatTemplate(source, limits).render_raw(c);
}

}  // namespace tessera::test
