#include "engine/generator.h"

#include <chrono>

#include "core/error.h"

namespace tessera::engine {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

GenerationResult generate(Engine& engine, SeqId seq, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                          int64_t n_predict, const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) fail("the prompt has no tokens (and the model adds no BOS): nothing to continue from");
  const int64_t room = engine.n_ctx() - engine.info(seq).n_past;
  if (static_cast<int64_t>(prompt.size()) > room)
    fail("the prompt is {} tokens but the context holds {} (n_ctx = {})", prompt.size(), room, engine.n_ctx());

  GenerationResult result;
  auto t0 = std::chrono::steady_clock::now();
  engine.eval(seq, prompt);
  result.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; n_predict < 0 || i < n_predict; ++i) {
    const int32_t id = engine.sample(seq);
    if (tokenizer.is_end_of_generation(id)) {
      result.stop = StopReason::EndOfGeneration;
      break;
    }
    result.tokens.push_back(id);
    if (!on_token(id)) {
      result.stop = StopReason::Callback;
      break;
    }
    if (n_predict >= 0 && i + 1 == n_predict) break;  // the last token need not be evaluated
    if (engine.info(seq).n_past >= engine.n_ctx()) {
      result.stop = StopReason::ContextFull;
      break;
    }
    engine.eval(seq, &id, 1);
  }
  result.generate_seconds = seconds_since(t0);
  return result;
}

}  // namespace tessera::engine
