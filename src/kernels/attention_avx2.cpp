// AVX2+FMA attention tile. Per block of cache positions: K and V converted to
// floats once for the whole tile (F16 by F16C, Q8_0 by one scale per 32; F32
// read in place), then two query rows at a time: scores by FMAs along
// head_dim (2 rows x 4 positions in 8 accumulators, one shared K load per
// FMA pair), online softmax with exp8, and P.V with 2 rows x up to 32 output
// columns held in registers (one V load feeds both rows).
#include <cmath>

#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/generic_kernels.h"
#include "kernels/simd_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

size_t bytes_per_row(DType type, int64_t d) {
  if (type == DType::F32) return static_cast<size_t>(d) * 4;
  if (type == DType::F16) return static_cast<size_t>(d) * 2;
  return static_cast<size_t>(d / kQK8_0) * sizeof(BlockQ8_0);
}

// n consecutive cache rows of d elements as floats: in place for F32, else
// converted into dst (n * d a multiple of 8; Q8_0: of 32).
const float* block_floats(DType type, const uint8_t* src, int64_t n, int64_t d, float* dst) {
  const int64_t count = n * d;
  if (type == DType::F32) return reinterpret_cast<const float*>(src);
  if (type == DType::F16) {
    for (int64_t i = 0; i < count; i += 8)
      _mm256_store_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
    return dst;
  }
  const auto* b = reinterpret_cast<const BlockQ8_0*>(src);
  for (int64_t k = 0; k < count / kQK8_0; ++k) {
    const __m256 scale = _mm256_set1_ps(fp16_to_float(reinterpret_cast<const uint8_t*>(&b[k].d)));
    for (int i = 0; i < kQK8_0; i += 8) {
      const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[k].qs + i)));
      _mm256_store_ps(dst + k * kQK8_0 + i, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(q)));
    }
  }
  return dst;
}

// Lane i: the sum of the lanes of a[i].
__m256 hsum8(const __m256* a) {
  const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// s0[j] = q0.K[j], s1[j] = q1.K[j] for j < n4 (a multiple of 4); K is n4 x d.
void scores2(const float* q0, const float* q1, const float* K, int64_t d, int64_t n4, float* s0, float* s1) {
  for (int64_t j = 0; j < n4; j += 4) {
    __m256 a[8];
    for (auto& x : a) x = _mm256_setzero_ps();
    const float* k = K + j * d;
    for (int64_t i = 0; i < d; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(q0 + i), x1 = _mm256_loadu_ps(q1 + i);
      for (int p = 0; p < 4; ++p) {
        const __m256 kp = _mm256_loadu_ps(k + p * d + i);
        a[p] = _mm256_fmadd_ps(x0, kp, a[p]);
        a[4 + p] = _mm256_fmadd_ps(x1, kp, a[4 + p]);
      }
    }
    const __m256 s = hsum8(a);
    _mm_storeu_ps(s0 + j, _mm256_castps256_ps128(s));
    _mm_storeu_ps(s1 + j, _mm256_extractf128_ps(s, 1));
  }
}

// Lanes j + i with from <= j + i < seen.
__m256 visible_lanes(int64_t j, int64_t from, int64_t seen) {
  const __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(j)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(from)), lane);  // lane < from
  return _mm256_andnot_ps(_mm256_castsi256_ps(lo), _mm256_castsi256_ps(tail_mask(seen - j)));
}

// One row's block of scores s[0, n8): those in [from, seen) are scaled and
// folded into the row's (m, l); s becomes p = exp(score - m), 0 outside. Returns
// the factor the row's acc must be multiplied by (its old terms under the new m).
float softmax_block(float* s, int64_t from, int64_t seen, int64_t n8, float scale, float* m, float* l) {
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 vmax = neg_inf;
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 x = _mm256_blendv_ps(neg_inf, _mm256_mul_ps(_mm256_load_ps(s + j), vscale),
                                      visible_lanes(j, from, seen));
    _mm256_store_ps(s + j, x);
    vmax = _mm256_max_ps(vmax, x);
  }
  const float block_max = hmax(vmax);
  const float m_new = *m > block_max ? *m : block_max;
  // exp8(-inf) is 0, exp8(0) exactly 1.
  const float correction = _mm256_cvtss_f32(exp8(_mm256_set1_ps(*m - m_new)));
  const __m256 vm = _mm256_set1_ps(m_new);
  __m256 sum = _mm256_setzero_ps();
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 keep = visible_lanes(j, from, seen);
    const __m256 p = _mm256_and_ps(keep, exp8(_mm256_sub_ps(_mm256_load_ps(s + j), vm)));
    _mm256_store_ps(s + j, p);
    sum = _mm256_add_ps(sum, p);
  }
  *l = *l * correction + hsum(sum);
  *m = m_new;
  return correction;
}

// acc[r][c, c + 8 NV) = acc[r] * corr[r] + sum_{j < n} p[r][j] * V[j][c, ...), for R rows.
template <int R, int NV>
void pv_columns(const float* const* p, float* const* acc, const float* corr, const float* V, int64_t d, int64_t n,
                int64_t c) {
  __m256 o[R][NV];
  for (int r = 0; r < R; ++r) {
    const __m256 f = _mm256_set1_ps(corr[r]);
    for (int v = 0; v < NV; ++v) o[r][v] = _mm256_mul_ps(_mm256_loadu_ps(acc[r] + c + 8 * v), f);
  }
  for (int64_t j = 0; j < n; ++j) {
    __m256 vj[NV];
    for (int v = 0; v < NV; ++v) vj[v] = _mm256_loadu_ps(V + j * d + c + 8 * v);
    for (int r = 0; r < R; ++r) {
      const __m256 pj = _mm256_broadcast_ss(p[r] + j);
      for (int v = 0; v < NV; ++v) o[r][v] = _mm256_fmadd_ps(pj, vj[v], o[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(acc[r] + c + 8 * v, o[r][v]);
}

template <int R>
void pv(const float* const* p, float* const* acc, const float* corr, const float* V, int64_t d, int64_t n) {
  int64_t c = 0;
  for (; c + 32 <= d; c += 32) pv_columns<R, 4>(p, acc, corr, V, d, n, c);
  switch ((d - c) / 8) {
    case 3:
      return pv_columns<R, 3>(p, acc, corr, V, d, n, c);
    case 2:
      return pv_columns<R, 2>(p, acc, corr, V, d, n, c);
    case 1:
      return pv_columns<R, 1>(p, acc, corr, V, d, n, c);
    default:
      return;
  }
}

}  // namespace

void attention_tile(const KvLayerView& kv, int64_t kv_head, int64_t p_begin, int64_t p_end,
                    const AttentionTile& t) {
  const int64_t d = kv.head_dim, bs = kv.block_size, rows = t.n_tok * t.group;
  if (d % 8 != 0) return generic::attention_tile(kv, kv_head, p_begin, p_end, t);
  const size_t k_row = bytes_per_row(kv.k_type, d), v_row = bytes_per_row(kv.v_type, d);
  for (int64_t b0 = p_begin; b0 < p_end; b0 += bs) {
    const int64_t n = p_end - b0 < bs ? p_end - b0 : bs;  // positions of this block in range
    if (t.window > 0 && b0 + n <= t.pos_first - t.window + 1) continue;  // before every row's window
    const int64_t n4 = (n + 3) / 4 * 4, n8 = (n + 7) / 8 * 8;  // both <= bs: still inside the block
    const int64_t first = (static_cast<int64_t>(kv.block_table[b0 / bs]) * kv.n_head_kv + kv_head) * bs;
    const float* K = block_floats(kv.k_type, kv.k + static_cast<size_t>(first) * k_row, n4, d, t.k_buf);
    const float* V = block_floats(kv.v_type, kv.v + static_cast<size_t>(first) * v_row, n, d, t.v_buf);
    for (int64_t r = 0; r < rows; r += 2) {
      const int R = rows - r >= 2 ? 2 : 1;
      // Causal: row r sees positions up to pos_first + its token (bidirectional:
      // up to last_visible); with a window, only the last `window` of them.
      int64_t seen[2], from[2];
      for (int i = 0; i < R; ++i) {
        const int64_t pos = t.last_visible >= 0 ? t.last_visible : t.pos_first + (r + i) / t.group;
        seen[i] = pos - b0 + 1 < n ? pos - b0 + 1 : n;
        from[i] = t.window > 0 && pos - t.window + 1 - b0 > 0 ? pos - t.window + 1 - b0 : 0;
      }
      // Rows are in token order: the later one sees furthest, the earlier one from earliest.
      if (seen[R - 1] <= 0 || from[0] >= seen[R - 1]) continue;
      const float* q[2];
      float* s[2];
      float* acc[2];
      float corr[2];
      for (int i = 0; i < R; ++i) {
        q[i] = t.q + ((r + i) / t.group) * t.q_token_stride + ((r + i) % t.group) * d;
        s[i] = t.s_buf + (r + i) * bs;
        acc[i] = t.acc + (r + i) * d;
      }
      scores2(q[0], q[R - 1], K, d, n4, s[0], s[R - 1]);
      float scale = t.scale;
      if (t.softcap > 0) {  // scores through softcap * tanh(score / softcap), then unscaled
        for (int i = 0; i < R; ++i)
          for (int64_t j = 0; j < n; ++j) s[i][j] = t.softcap * std::tanh(s[i][j] * t.scale / t.softcap);
        scale = 1.0f;
      }
      for (int i = 0; i < R; ++i) {
        if (seen[i] > from[i]) {
          corr[i] = softmax_block(s[i], from[i], seen[i], n8, scale, t.m + r + i, t.l + r + i);
        } else {
          for (int64_t j = 0; j < n8; ++j) s[i][j] = 0.0f;
          corr[i] = 1.0f;
        }
      }
      const int64_t used = seen[R - 1];  // the later row sees at least as far
      if (R == 2)
        pv<2>(s, acc, corr, V, d, used);
      else
        pv<1>(s, acc, corr, V, d, used);
    }
  }
}

}  // namespace tessera::kernels::avx2
