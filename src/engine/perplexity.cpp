#include "engine/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tessera::engine {
namespace {

// -log softmax(logits)[target], in double.
double negative_log_likelihood(const float* logits, int64_t n_vocab, int32_t target) {
  const float max_logit = *std::max_element(logits, logits + n_vocab);
  double sum = 0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max_logit);
  return std::log(sum) - (static_cast<double>(logits[target]) - max_logit);
}

}  // namespace

PerplexityResult perplexity(Engine& engine, const std::vector<int32_t>& tokens, int32_t bos, int64_t max_chunks,
                            const std::function<void(int64_t, int64_t, double)>& on_chunk) {
  const int64_t n_ctx = engine.n_ctx();
  const int64_t n_vocab = engine.n_vocab();
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * n_ctx)
    fail("the text has {} tokens; perplexity with a context of {} needs at least {} (2 x context)", n_tokens, n_ctx,
         2 * n_ctx);
  int64_t n_chunks = n_tokens / n_ctx;
  if (max_chunks >= 0) n_chunks = std::min(n_chunks, max_chunks);

  const int64_t first = n_ctx / 2;  // first position whose prediction is scored
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  const SeqId seq = engine.add_sequence({}, /*all_logits=*/true);
  PerplexityResult r;
  double nll_sum = 0, nll2_sum = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (bos >= 0) chunk[0] = bos;
    engine.reset(seq);
    engine.feed(seq, chunk);
    while (engine.info(seq).n_pending > 0) {
      engine.step();
      const SequenceInfo info = engine.info(seq);
      if (!info.error.empty()) fail("{}", info.error);
      int64_t rows = 0, p0 = 0;
      const float* logits = engine.step_logits(seq, &rows, &p0);
      if (!logits) continue;
      // Position p predicts token p + 1 of the chunk (the original text's token).
      for (int64_t p = std::max(p0, first); p < std::min(p0 + rows, n_ctx - 1); ++p) {
        const double nll = negative_log_likelihood(logits + (p - p0) * n_vocab, n_vocab,
                                                   tokens[static_cast<size_t>(c * n_ctx + p + 1)]);
        nll_sum += nll;
        nll2_sum += nll * nll;
        ++r.n_scored;
      }
    }
    r.running_ppl.push_back(std::exp(nll_sum / static_cast<double>(r.n_scored)));
    if (on_chunk) on_chunk(c + 1, n_chunks, r.running_ppl.back());
  }
  engine.remove(seq);
  r.n_chunks = n_chunks;
  const double mean = nll_sum / static_cast<double>(r.n_scored);
  const double variance = nll2_sum / static_cast<double>(r.n_scored) - mean * mean;
  r.ppl = std::exp(mean);
  // Standard error of the mean NLL, carried to PPL to first order.
  r.ppl_error = variance > 0 && r.n_scored > 1 ? std::sqrt(variance / static_cast<double>(r.n_scored - 1)) * r.ppl : 0;
  return r;
}

}  // namespace tessera::engine
