// Causal attention over a block-paged KV cache.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace tessera::kernels {

// One layer of a KV cache: physical block b, kv head h, slot s holds head_dim
// floats at k + ((b * n_head_kv + h) * block_size + s) * head_dim (same for v).
struct KvLayerView {
  const float* k = nullptr;
  const float* v = nullptr;
  const int32_t* block_table = nullptr;  // logical block -> physical block
  int64_t block_size = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
};

// q and out: n_tokens x n_head x head_dim. Token t sits at position pos0 + t and
// attends to positions [0, pos0 + t], whose K/V must already be in the cache.
// Query head h reads kv head h / (n_head / n_head_kv) (grouped-query attention).
// Softmax is computed online (running max and sum) so no score row is stored.
void attention(ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head, int64_t pos0,
               const KvLayerView& kv, float scale, float* out);

}  // namespace tessera::kernels
