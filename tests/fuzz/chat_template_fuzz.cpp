// Fuzz target: chat templates. Input: the template text. It is parsed and
// rendered with a fixed conversation, with and without the generation prompt,
// under small sandbox limits (so a run stays fast). Anything wrong with the
// template must come back as chat::TemplateError (any other exception, crash or
// hang is a finding); an accepted render must stay within the output limit and
// be the same when repeated.
#include <string>

#include "chat/chat_template.h"
#include "chat/template_error.h"
#include "fuzz_util.h"

using namespace tessera;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chat::Limits limits;
  limits.max_template_bytes = 64 << 10;
  limits.max_output_bytes = 256 << 10;
  limits.max_loop_iterations = 20'000;
  limits.max_work = 4'000'000;
  const std::string source(reinterpret_cast<const char*>(data), size);
  chat::Conversation c;
  c.messages = {{"system", "You are a helpful assistant"}, {"user", "Hello"}, {"assistant", "Hi there"},
                {"user", "Who are you"}, {"assistant", "   I am an assistant   "}, {"user", "Another question"}};
  c.bos_token = "<s>";
  c.eos_token = "</s>";
  c.now = std::chrono::system_clock::from_time_t(1721995200);
  try {
    const chat::ChatTemplate t(source, limits);
    for (const bool add : {true, false}) {
      c.add_generation_prompt = add;
      try {
        const std::string out = t.render(c);
        FUZZ_CHECK(out.size() <= limits.max_output_bytes);
        FUZZ_CHECK(t.render(c) == out);
      } catch (const chat::TemplateError&) {
      }
    }
  } catch (const chat::TemplateError&) {
  }
  return 0;
}
