// The scalar attention tile: the reference the SIMD tiers are tested against.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/generic_kernels.h"
#include "kernels/reference.h"

namespace tessera::kernels::generic {

void attention_tile(const KvLayerView& kv, int64_t kv_head, int64_t p_begin, int64_t p_end,
                    const AttentionTile& t) {
  const int64_t d = kv.head_dim, bs = kv.block_size, rows = t.n_tok * t.group;
  const size_t k_row = row_bytes(kv.k_type, d), v_row = row_bytes(kv.v_type, d);
  for (int64_t b0 = p_begin; b0 < p_end; b0 += bs) {
    const int64_t n = std::min(bs, p_end - b0);  // positions of this block in range
    if (t.window > 0 && b0 + n <= t.pos_first - t.window + 1) continue;  // before every row's window
    const int64_t first = (static_cast<int64_t>(kv.block_table[b0 / bs]) * kv.n_head_kv + kv_head) * bs;
    for (int64_t j = 0; j < n; ++j) {
      ref::dequantize_row(kv.k_type, kv.k + static_cast<size_t>(first + j) * k_row, t.k_buf + j * d, d);
      ref::dequantize_row(kv.v_type, kv.v + static_cast<size_t>(first + j) * v_row, t.v_buf + j * d, d);
    }
    for (int64_t r = 0; r < rows; ++r) {
      // Causal: row r sees positions up to pos_first + its token (bidirectional:
      // up to last_visible); with a window, only the last `window` of them.
      const int64_t pos = t.last_visible >= 0 ? t.last_visible : t.pos_first + r / t.group;
      const int64_t seen = std::min(n, pos - b0 + 1);
      const int64_t from = t.window > 0 ? std::max<int64_t>(0, pos - t.window + 1 - b0) : 0;
      if (seen <= from) continue;
      const float* q = t.q + (r / t.group) * t.q_token_stride + (r % t.group) * d;
      float* s = t.s_buf + r * bs;
      float block_max = -std::numeric_limits<float>::infinity();
      for (int64_t j = from; j < seen; ++j) {
        float dot = 0;
        for (int64_t i = 0; i < d; ++i) dot += q[i] * t.k_buf[j * d + i];
        s[j] = t.softcap > 0 ? t.softcap * std::tanh(dot * t.scale / t.softcap) : dot * t.scale;
        block_max = std::max(block_max, s[j]);
      }
      // Rescale what was accumulated under the old maximum.
      const float m = std::max(t.m[r], block_max);
      const float correction = std::exp(t.m[r] - m);
      float* acc = t.acc + r * d;
      for (int64_t i = 0; i < d; ++i) acc[i] *= correction;
      float sum = 0;
      for (int64_t j = from; j < seen; ++j) {
        const float p = std::exp(s[j] - m);
        sum += p;
        for (int64_t i = 0; i < d; ++i) acc[i] += p * t.v_buf[j * d + i];
      }
      t.l[r] = t.l[r] * correction + sum;
      t.m[r] = m;
    }
  }
}

}  // namespace tessera::kernels::generic
