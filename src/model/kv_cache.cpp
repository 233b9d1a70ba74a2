#include "model/kv_cache.h"

#include "core/error.h"
#include "kernels/kernels.h"

namespace tessera::model {

KvCache::KvCache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx, KvCacheTypes types)
    : n_layer_(n_layer), n_head_kv_(n_head_kv), head_dim_(head_dim), n_ctx_(n_ctx), types_(types) {
  for (DType t : {types.k, types.v})
    if (!kernels::kv_type_supported(t, head_dim))
      fail("KV cache: cannot store rows of {} elements (the head size) as {}", head_dim, dtype_name(t));
  k_row_bytes_ = row_bytes(types.k, head_dim);
  v_row_bytes_ = row_bytes(types.v, head_dim);
  const int64_t n_blocks = (n_ctx + kBlockSize - 1) / kBlockSize;
  block_table_.resize(static_cast<size_t>(n_blocks));
  for (int64_t b = 0; b < n_blocks; ++b) block_table_[static_cast<size_t>(b)] = static_cast<int32_t>(b);
  const size_t rows = static_cast<size_t>(n_blocks * n_head_kv * kBlockSize);
  k_.assign(static_cast<size_t>(n_layer), std::vector<uint8_t>(rows * k_row_bytes_));
  v_.assign(static_cast<size_t>(n_layer), std::vector<uint8_t>(rows * v_row_bytes_));
}

size_t KvCache::row_index(int64_t head, int64_t pos) const {
  const int64_t block = block_table_[static_cast<size_t>(pos / kBlockSize)];
  return static_cast<size_t>((block * n_head_kv_ + head) * kBlockSize + pos % kBlockSize);
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
  uint8_t* kl = k_[static_cast<size_t>(layer)].data();
  uint8_t* vl = v_[static_cast<size_t>(layer)].data();
  for (int64_t h = 0; h < n_head_kv_; ++h) {
    const size_t row = row_index(h, pos);
    kernels::quantize_row(types_.k, k + h * head_dim_, kl + row * k_row_bytes_, head_dim_);
    kernels::quantize_row(types_.v, v + h * head_dim_, vl + row * v_row_bytes_, head_dim_);
  }
}

void KvCache::load_k(int64_t layer, int64_t head, int64_t pos, float* out) const {
  const uint8_t* row = k_[static_cast<size_t>(layer)].data() + row_index(head, pos) * k_row_bytes_;
  kernels::dequantize_row(types_.k, row, out, head_dim_);
}

void KvCache::load_v(int64_t layer, int64_t head, int64_t pos, float* out) const {
  const uint8_t* row = v_[static_cast<size_t>(layer)].data() + row_index(head, pos) * v_row_bytes_;
  kernels::dequantize_row(types_.v, row, out, head_dim_);
}

kernels::KvLayerView KvCache::layer_view(int64_t layer) const {
  return kernels::KvLayerView{k_[static_cast<size_t>(layer)].data(),
                              v_[static_cast<size_t>(layer)].data(),
                              block_table_.data(),
                              kBlockSize,
                              n_head_kv_,
                              head_dim_,
                              types_.k,
                              types_.v};
}

}  // namespace tessera::model
