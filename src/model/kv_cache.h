// Keys and values of past positions, per layer, in fixed-size blocks of positions.
// A sequence owns a block table (logical block -> physical block), so later work
// (several sequences, prefix sharing, long contexts) needs no change of layout.
// Rows are stored as F32, F16 (the default, as llama.cpp) or Q8_0.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention.h"

namespace tessera::model {

struct KvCacheTypes {
  DType k = DType::F16;
  DType v = DType::F16;
};

class KvCache {
 public:
  static constexpr int64_t kBlockSize = 32;  // positions per block

  // Room for n_ctx positions of one sequence. Throws Error when a type cannot
  // hold rows of head_dim (kernels::kv_type_supported).
  KvCache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx, KvCacheTypes types = {});

  int64_t capacity() const { return n_ctx_; }
  KvCacheTypes types() const { return types_; }

  // Writes K and V of one position (n_head_kv x head_dim floats each), converted
  // to the cache's types: one row conversion per head.
  void store(int64_t layer, int64_t pos, const float* k, const float* v);

  // The stored row of (layer, kv head, position) as floats (head_dim of them).
  void load_k(int64_t layer, int64_t head, int64_t pos, float* out) const;
  void load_v(int64_t layer, int64_t head, int64_t pos, float* out) const;

  kernels::KvLayerView layer_view(int64_t layer) const;

 private:
  size_t row_index(int64_t head, int64_t pos) const;

  int64_t n_layer_, n_head_kv_, head_dim_, n_ctx_;
  KvCacheTypes types_;
  size_t k_row_bytes_, v_row_bytes_;
  std::vector<int32_t> block_table_;
  std::vector<std::vector<uint8_t>> k_, v_;  // per layer: blocks x heads x kBlockSize rows
};

}  // namespace tessera::model
