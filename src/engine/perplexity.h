// Perplexity of a text the way llama.cpp's llama-perplexity measures it: the
// tokens (BOS first) are cut into non-overlapping chunks of n_ctx; each chunk is
// evaluated from an empty cache with its first token replaced by BOS, and only
// the predictions in its second half are scored (each then has at least n_ctx/2
// tokens of context).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/engine.h"

namespace tessera::engine {

struct PerplexityResult {
  double ppl = 0;         // exp(mean negative log-likelihood)
  double ppl_error = 0;   // standard error of ppl (from the spread of the per-token NLL)
  int64_t n_chunks = 0;
  int64_t n_scored = 0;   // predictions scored
  std::vector<double> running_ppl;  // after each chunk
};

// `tokens` is the whole text's tokenization (with BOS if the model uses one);
// chunks are engine.n_ctx() tokens, evaluated as sequences of `engine` (which
// must keep the prefix cache off: chunks are scored as computed from scratch;
// with it on the numbers would be the same, by batch invariance, only faster).
// bos < 0 leaves each chunk's first token as it is. max_chunks < 0: all.
// on_chunk(done, total, running_ppl) is called after each chunk.
// Throws Error when the text has fewer than 2 * n_ctx tokens.
PerplexityResult perplexity(Engine& engine, const std::vector<int32_t>& tokens, int32_t bos, int64_t max_chunks,
                            const std::function<void(int64_t, int64_t, double)>& on_chunk);

}  // namespace tessera::engine
