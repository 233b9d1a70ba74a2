#include "model/kv_cache.h"

namespace tessera::model {

KvCache::KvCache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx)
    : n_layer_(n_layer), n_head_kv_(n_head_kv), head_dim_(head_dim), n_ctx_(n_ctx) {
  const int64_t n_blocks = (n_ctx + kBlockSize - 1) / kBlockSize;
  block_table_.resize(static_cast<size_t>(n_blocks));
  for (int64_t b = 0; b < n_blocks; ++b) block_table_[static_cast<size_t>(b)] = static_cast<int32_t>(b);
  const size_t per_layer = static_cast<size_t>(n_blocks * n_head_kv * kBlockSize * head_dim);
  k_.assign(static_cast<size_t>(n_layer), std::vector<float>(per_layer));
  v_.assign(static_cast<size_t>(n_layer), std::vector<float>(per_layer));
}

size_t KvCache::offset(int64_t head, int64_t pos) const {
  const int64_t block = block_table_[static_cast<size_t>(pos / kBlockSize)];
  return static_cast<size_t>(((block * n_head_kv_ + head) * kBlockSize + pos % kBlockSize) * head_dim_);
}

float* KvCache::k_at(int64_t layer, int64_t head, int64_t pos) {
  return k_[static_cast<size_t>(layer)].data() + offset(head, pos);
}

float* KvCache::v_at(int64_t layer, int64_t head, int64_t pos) {
  return v_[static_cast<size_t>(layer)].data() + offset(head, pos);
}

kernels::KvLayerView KvCache::layer_view(int64_t layer) const {
  return kernels::KvLayerView{k_[static_cast<size_t>(layer)].data(), v_[static_cast<size_t>(layer)].data(),
                              block_table_.data(), kBlockSize, n_head_kv_, head_dim_};
}

}  // namespace tessera::model
