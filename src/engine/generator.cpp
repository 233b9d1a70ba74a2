#include "engine/generator.h"

#include <chrono>

#include "core/error.h"

namespace tessera::engine {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

GenerationResult generate(Session& session, Sampler& sampler, const Tokenizer& tokenizer,
                          const std::vector<int32_t>& prompt, int64_t n_predict,
                          const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) fail("the prompt has no tokens (and the model adds no BOS): nothing to continue from");
  if (session.n_past() + static_cast<int64_t>(prompt.size()) > session.n_ctx())
    fail("the prompt is {} tokens but the context holds {} (enlarge it with -c/--ctx-size)", prompt.size(),
         session.n_ctx() - session.n_past());

  GenerationResult result;
  auto t0 = std::chrono::steady_clock::now();
  const float* logits = session.eval(prompt);
  result.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> history = prompt;
  for (int64_t i = 0; n_predict < 0 || i < n_predict; ++i) {
    const int32_t id = sampler.sample(logits, history);
    if (tokenizer.is_end_of_generation(id)) {
      result.stop = StopReason::EndOfGeneration;
      break;
    }
    history.push_back(id);
    result.tokens.push_back(id);
    if (!on_token(id)) {
      result.stop = StopReason::Callback;
      break;
    }
    if (n_predict >= 0 && i + 1 == n_predict) break;  // the last token need not be evaluated
    if (session.n_past() >= session.n_ctx()) {
      result.stop = StopReason::ContextFull;
      break;
    }
    logits = session.eval(&id, 1);
  }
  result.generate_seconds = seconds_since(t0);
  return result;
}

}  // namespace tessera::engine
