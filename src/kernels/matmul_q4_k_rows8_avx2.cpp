// AVX2 matmul of Q4_K weights repacked 8 rows at a time (layout rows8,
// kernels/weight_repack.h) with Q8x32 activations (matmul_rows8_avx2.h).
//
// A Q4_K weight is d * sc_j * q - dmin * m_j in sub-block j (32 columns) of a
// super-block, q in 0..15. Per sub-block and token the kernel forms the int32
// dot of q with the activation quants for 8 rows at once, then adds
//   (d * sc_j) * d_x * dot  -  (dmin * m_j) * (d_x * s_x)
// where s_x is the activation block's quant sum, so the mins cost one FMA per
// sub-block rather than any work per weight.
#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_rows8_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

constexpr int64_t kGroupBytes = 8 * sizeof(BlockQ4_K);  // one super-block of 8 rows

// Scales byte k of the 8 rows, one per 32-bit lane.
__m256i scales_byte(const uint8_t* S, int k) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(S + 32 + 8 * k)));
}

// Sub-block j's 6-bit scale and min for the 8 rows (the packing of
// ref::q4_k_scale_min, lane by lane).
void scale_min(const uint8_t* S, int j, __m256i* sc, __m256i* m) {
  const __m256i low6 = _mm256_set1_epi32(63), low4 = _mm256_set1_epi32(15);
  if (j < 4) {
    *sc = _mm256_and_si256(scales_byte(S, j), low6);
    *m = _mm256_and_si256(scales_byte(S, j + 4), low6);
  } else {
    const __m256i b = scales_byte(S, j + 4);
    *sc = _mm256_or_si256(_mm256_and_si256(b, low4), _mm256_slli_epi32(_mm256_srli_epi32(scales_byte(S, j - 4), 6), 4));
    *m = _mm256_or_si256(_mm256_srli_epi32(b, 4), _mm256_slli_epi32(_mm256_srli_epi32(scales_byte(S, j), 6), 4));
  }
}

struct Q4_KRows8 {
  // q <= 15 and |x| <= 127: 8 vpmaddubsw results sum to at most 30480 in 16 bits.
  template <int T>
  static void run(const uint8_t* G, int64_t cols, const TokenRows<T>& x, __m256* acc) {
    const __m256i nibble = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    for (int64_t s = 0; s < cols / kQK_K; ++s) {
      const uint8_t* S = G + kGroupBytes * s;
      const uint8_t* quants = S + 128;
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(S)));
      const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(S + 16)));
      for (int j = 0; j < 8; ++j) {
        if (T == 1) prefetch_ahead<3>(S + 144 * j);  // 8 x 3 lines cover the 1152-byte super-block
        const int shift = 4 * (j % 2);  // even sub-blocks in the low nibbles
        const uint8_t* qj = quants + 256 * (j / 2);
        const int64_t b = 8 * s + j;  // activation block
        __m256i sum16[T];
        for (int t = 0; t < T; ++t) sum16[t] = _mm256_setzero_si256();
        for (int c = 0; c < 8; ++c) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qj + 32 * c));
          const __m256i q = _mm256_and_si256(_mm256_srli_epi16(v, shift), nibble);
          for (int t = 0; t < T; ++t)
            sum16[t] = in_order(_mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(q, broadcast_i32(x.q[t] + 32 * b + 4 * c))));
        }
        __m256i sc, m;
        scale_min(S, j, &sc, &m);
        const __m256 dsc = _mm256_mul_ps(d, _mm256_cvtepi32_ps(sc));
        const __m256 msc = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(m));
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(sum16[t], ones));
          acc[t] = _mm256_fmadd_ps(dot, _mm256_mul_ps(dsc, _mm256_broadcast_ss(x.d[t] + b)), acc[t]);
          acc[t] = _mm256_fnmadd_ps(msc, _mm256_set1_ps(x.d[t][b] * static_cast<float>(x.s[t][b])), acc[t]);
        }
      }
    }
  }
};

}  // namespace

void matmul_q4_k_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows) {
  const int64_t r = rows8_groups<Q4_KRows8>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
  if (r < row_end)
    reference_rows(DType::Q4_K, W, row_stride, cols, r, row_end, xq, xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
