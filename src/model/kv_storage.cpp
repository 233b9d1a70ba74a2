#include "model/kv_storage.h"

#include <cstring>
#include <optional>

#include <fmt/ranges.h>

#include "core/error.h"
#include "kernels/kernels.h"

namespace tessera::model {

DType kv_cache_type(std::string_view name, int64_t head_dim, std::string_view field) {
  const std::optional<DType> t = dtype_from_name(name);
  bool known = false;
  for (const char* n : kKvCacheTypeNames) known |= t && dtype_from_name(n) == t;
  if (!known)
    throw UsageError(fmt::format("{} must be one of {} (got '{}')", field, fmt::join(kKvCacheTypeNames, ", "), name));
  if (!kernels::kv_type_supported(*t, head_dim))
    throw UsageError(fmt::format("{} {} needs a head size that is a multiple of 32; this model's is {} "
                                 "(use f16 or f32)",
                                 field, name, head_dim));
  return *t;
}

KvStorage::KvStorage(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_blocks, KvCacheTypes types)
    : n_layer_(n_layer), n_head_kv_(n_head_kv), head_dim_(head_dim), n_blocks_(n_blocks), types_(types) {
  for (DType t : {types.k, types.v})
    if (!kernels::kv_type_supported(t, head_dim))
      throw UsageError(fmt::format("KV cache: cannot store rows of {} elements (the head size) as {}", head_dim,
                                   dtype_name(t)));
  if (n_blocks <= 0 || n_blocks > INT32_MAX) fail("KV cache: {} blocks (1 to {} allowed)", n_blocks, INT32_MAX);
  k_row_bytes_ = row_bytes(types.k, head_dim);
  v_row_bytes_ = row_bytes(types.v, head_dim);
  const size_t rows = static_cast<size_t>(n_blocks * n_head_kv * kBlockSize);
  k_.assign(static_cast<size_t>(n_layer), std::vector<uint8_t>(rows * k_row_bytes_));
  v_.assign(static_cast<size_t>(n_layer), std::vector<uint8_t>(rows * v_row_bytes_));
}

size_t KvStorage::block_bytes(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, KvCacheTypes types) {
  return static_cast<size_t>(n_layer * n_head_kv * kBlockSize) *
         (row_bytes(types.k, head_dim) + row_bytes(types.v, head_dim));
}

size_t KvStorage::block_bytes() const { return block_bytes(n_layer_, n_head_kv_, head_dim_, types_); }

size_t KvStorage::row_index(int32_t block, int64_t head, int64_t slot) const {
  return static_cast<size_t>((block * n_head_kv_ + head) * kBlockSize + slot);
}

void KvStorage::store(int64_t layer, int32_t block, int64_t slot, const float* k, const float* v) {
  uint8_t* kl = k_[static_cast<size_t>(layer)].data();
  uint8_t* vl = v_[static_cast<size_t>(layer)].data();
  for (int64_t h = 0; h < n_head_kv_; ++h) {
    const size_t row = row_index(block, h, slot);
    kernels::quantize_row(types_.k, k + h * head_dim_, kl + row * k_row_bytes_, head_dim_);
    kernels::quantize_row(types_.v, v + h * head_dim_, vl + row * v_row_bytes_, head_dim_);
  }
}

void KvStorage::copy_block(int32_t src, int32_t dst) {
  const size_t rows = static_cast<size_t>(n_head_kv_ * kBlockSize);
  for (int64_t l = 0; l < n_layer_; ++l) {
    auto& k = k_[static_cast<size_t>(l)];
    auto& v = v_[static_cast<size_t>(l)];
    std::memcpy(k.data() + static_cast<size_t>(dst) * rows * k_row_bytes_,
                k.data() + static_cast<size_t>(src) * rows * k_row_bytes_, rows * k_row_bytes_);
    std::memcpy(v.data() + static_cast<size_t>(dst) * rows * v_row_bytes_,
                v.data() + static_cast<size_t>(src) * rows * v_row_bytes_, rows * v_row_bytes_);
  }
}

void KvStorage::load_k(int64_t layer, int32_t block, int64_t slot, int64_t head, float* out) const {
  const uint8_t* row = k_[static_cast<size_t>(layer)].data() + row_index(block, head, slot) * k_row_bytes_;
  kernels::dequantize_row(types_.k, row, out, head_dim_);
}

void KvStorage::load_v(int64_t layer, int32_t block, int64_t slot, int64_t head, float* out) const {
  const uint8_t* row = v_[static_cast<size_t>(layer)].data() + row_index(block, head, slot) * v_row_bytes_;
  kernels::dequantize_row(types_.v, row, out, head_dim_);
}

kernels::KvLayerView KvStorage::layer_view(int64_t layer) const {
  return kernels::KvLayerView{k_[static_cast<size_t>(layer)].data(),
                              v_[static_cast<size_t>(layer)].data(),
                              nullptr,
                              kBlockSize,
                              n_head_kv_,
                              head_dim_,
                              types_.k,
                              types_.v};
}

}  // namespace tessera::model
