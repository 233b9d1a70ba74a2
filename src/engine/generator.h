// The generation loop: evaluate the prompt, then sample and feed back one token
// at a time until n_predict, an end-of-generation token or a full context.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/sampler.h"
#include "engine/engine.h"
#include "tokenizer/tokenizer.h"

namespace tessera::engine {

enum class StopReason { Length, EndOfGeneration, ContextFull, Callback };

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated tokens (an end-of-generation token is not included)
  StopReason stop = StopReason::Length;
  double prompt_seconds = 0;    // evaluating the prompt
  double generate_seconds = 0;  // from the end of the prompt to the last token
};

// Continues sequence `seq` of `engine` (sampling with its sampler) after
// `prompt`. on_token is called for each generated token as soon as it is
// sampled; it returns false to stop. n_predict < 0 means no limit but n_ctx.
GenerationResult generate(Engine& engine, SeqId seq, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                          int64_t n_predict, const std::function<bool(int32_t)>& on_token);

}  // namespace tessera::engine
