// The bytes of a KV block pool: keys and values of `n_blocks` fixed-size
// blocks of positions, each with `n_layer` layer slots stored under the same
// block id (a slot is one layer of a KV group, model::KvGroups; "layer" below
// means that slot). Which sequence owns which block (the block tables,
// reference counts, prefix index) is the engine's business: this class only
// stores rows where it is told to and hands the attention kernel a layer view.
// Rows are F32, F16 (the default, as llama.cpp) or Q8_0.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention.h"

namespace tessera::model {

struct KvCacheTypes {
  DType k = DType::F16;
  DType v = DType::F16;
};

// The element types a KV cache may hold, by name.
inline constexpr const char* kKvCacheTypeNames[] = {"f32", "f16", "q8_0"};

// The one rule of what a KV cache may hold: a type by name ("f32", "f16",
// "q8_0"; case-insensitive) that can store rows of head_dim elements. `field`
// names the option at fault in the message (e.g. "cache_type_k").
// Throws UsageError.
DType kv_cache_type(std::string_view name, int64_t head_dim, std::string_view field);

class KvStorage {
 public:
  static constexpr int64_t kBlockSize = 32;  // positions per block

  // Throws UsageError when a type cannot hold rows of head_dim elements.
  KvStorage(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_blocks, KvCacheTypes types = {});

  int64_t n_blocks() const { return n_blocks_; }
  KvCacheTypes types() const { return types_; }
  // Bytes of one block across all layers, keys and values.
  size_t block_bytes() const;
  static size_t block_bytes(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, KvCacheTypes types);

  // Writes K and V of one position (n_head_kv x head_dim floats each) to slot
  // `slot` of physical block `block`, converted to the storage's types.
  void store(int64_t layer, int32_t block, int64_t slot, const float* k, const float* v);

  // Copies every layer's rows of block src to block dst (copy-on-write).
  void copy_block(int32_t src, int32_t dst);

  // The stored row of (layer, block, slot, kv head) as floats (head_dim of them).
  void load_k(int64_t layer, int32_t block, int64_t slot, int64_t head, float* out) const;
  void load_v(int64_t layer, int32_t block, int64_t slot, int64_t head, float* out) const;

  // The layer's rows for the attention kernel; block_table is left null (each
  // sequence brings its own).
  kernels::KvLayerView layer_view(int64_t layer) const;

 private:
  size_t row_index(int32_t block, int64_t head, int64_t slot) const;

  int64_t n_layer_, n_head_kv_, head_dim_, n_blocks_;
  KvCacheTypes types_;
  size_t k_row_bytes_, v_row_bytes_;
  std::vector<std::vector<uint8_t>> k_, v_;  // per layer: blocks x heads x kBlockSize rows
};

}  // namespace tessera::model
