#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace tessera::kernels {
namespace {

// One query row against positions [0, n_pos): out = softmax(scale * q.K) V.
void attend_row(const float* q, int64_t n_pos, int64_t kv_head, const KvLayerView& kv, float scale,
                float* out) {
  const int64_t d = kv.head_dim;
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0.0f;
  std::fill(out, out + d, 0.0f);
  for (int64_t pos = 0; pos < n_pos; ++pos) {
    const int64_t block = kv.block_table[pos / kv.block_size];
    const int64_t off = ((block * kv.n_head_kv + kv_head) * kv.block_size + pos % kv.block_size) * d;
    const float* k = kv.k + off;
    const float* v = kv.v + off;
    float score = 0.0f;
    for (int64_t i = 0; i < d; ++i) score += q[i] * k[i];
    score *= scale;
    if (score > running_max) {
      // Rescale what was accumulated under the old maximum.
      const float correction = std::exp(running_max - score);
      running_sum *= correction;
      for (int64_t i = 0; i < d; ++i) out[i] *= correction;
      running_max = score;
    }
    const float p = std::exp(score - running_max);
    running_sum += p;
    for (int64_t i = 0; i < d; ++i) out[i] += p * v[i];
  }
  const float inv = 1.0f / running_sum;
  for (int64_t i = 0; i < d; ++i) out[i] *= inv;
}

}  // namespace

void attention(ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head, int64_t pos0,
               const KvLayerView& kv, float scale, float* out) {
  const int64_t d = kv.head_dim;
  const int64_t group = n_head / kv.n_head_kv;
  pool.parallel_for(n_tokens * n_head, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t t = i / n_head, h = i % n_head;
      attend_row(q + i * d, pos0 + t + 1, h / group, kv, scale, out + i * d);
    }
  });
}

}  // namespace tessera::kernels
