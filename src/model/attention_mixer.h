// Token mixer: grouped-query self-attention with rotary positions and a KV cache.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "model/forward_buffers.h"
#include "model/architecture.h"
#include "model/batch.h"
#include "model/kv_storage.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace tessera::model {

// Where a layer's keys and values live: its KV group's block tables and its
// slot in that group's blocks (see KvGroups).
struct KvPlace {
  int32_t group;
  int32_t slot;
};

// Reads buf.xn (the batch's rows, at positions buf.pos), stores each row's K
// and V in its sequence's block, and writes the mixer's output to buf.delta.
// `options` says which of the optional parts (biases, q/k norms) the layer has.
void attention_mixer(ThreadPool& pool, const ModelConfig& c, const AttentionOptions& options,
                     const AttentionWeights& w, const float* rope_freqs, KvPlace place, KvStorage& kv,
                     ForwardBuffers& buf, const Batch& batch);

}  // namespace tessera::model
