// Running token lists through engine::Engine in tests.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/engine.h"

namespace tessera::test {

// Options of a small engine: n_ctx positions, n_batch tokens per step, threads,
// F16 KV unless told otherwise.
inline engine::EngineOptions engine_options(int64_t n_ctx, int64_t n_batch, int threads,
                                            model::KvCacheTypes types = {}) {
  engine::EngineOptions o;
  o.n_ctx = n_ctx;
  o.n_batch = n_batch;
  o.n_threads = threads;
  o.cache_types = types;
  return o;
}

// Feeds `tokens` to a new sequence and steps until they are evaluated; the
// logits of every one (tokens x n_vocab).
inline std::vector<float> all_logits(engine::Engine& e, const std::vector<int32_t>& tokens) {
  const engine::SeqId seq = e.add_sequence({}, /*all_logits=*/true);
  e.feed(seq, tokens);
  std::vector<float> out;
  while (e.info(seq).n_pending > 0) {
    e.step();
    int64_t rows = 0, first = 0;
    if (const float* l = e.step_logits(seq, &rows, &first)) out.insert(out.end(), l, l + rows * e.n_vocab());
  }
  e.remove(seq);
  return out;
}

}  // namespace tessera::test
