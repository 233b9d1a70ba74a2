// Keys and values of past positions, per layer, in fixed-size blocks of positions.
// A sequence owns a block table (logical block -> physical block), so later work
// (several sequences, prefix sharing, long contexts) needs no change of layout.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/attention.h"

namespace tessera::model {

class KvCache {
 public:
  static constexpr int64_t kBlockSize = 32;  // positions per block

  // Room for n_ctx positions of one sequence.
  KvCache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx);

  int64_t capacity() const { return n_ctx_; }

  // Where K / V of (layer, kv head, position) live: head_dim floats.
  float* k_at(int64_t layer, int64_t head, int64_t pos);
  float* v_at(int64_t layer, int64_t head, int64_t pos);

  kernels::KvLayerView layer_view(int64_t layer) const;

 private:
  size_t offset(int64_t head, int64_t pos) const;

  int64_t n_layer_, n_head_kv_, head_dim_, n_ctx_;
  std::vector<int32_t> block_table_;
  std::vector<std::vector<float>> k_, v_;  // per layer: blocks x heads x kBlockSize x head_dim
};

}  // namespace tessera::model
