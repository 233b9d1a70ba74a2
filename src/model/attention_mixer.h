// Token mixer: grouped-query self-attention with rotary positions and a KV cache.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "model/forward_buffers.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace tessera::model {

// Reads buf.xn (n tokens at positions pos0..), writes the mixer's output to buf.delta.
void attention_mixer(ThreadPool& pool, const ModelConfig& c, const AttentionWeights& w, const float* rope_freqs,
                     int64_t layer, KvCache& cache, ForwardBuffers& buf, int64_t n, int64_t pos0);

}  // namespace tessera::model
