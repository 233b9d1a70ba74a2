// AVX2 matmul with Q4_K weights. Per super-block and row the 8 sub-block
// scales and mins are unpacked from their 6-bit fields to floats (d * sc,
// dmin * m) once. Each pass then takes 64 columns, one 32-byte run of qs: its
// low nibbles (sub-block 2k) and high nibbles (2k + 1) widen straight from
// memory to 32-bit lanes, become w = scale * q - min in one fused op each, and
// serve all T tokens of the tile. (Measured: as fast for one token as applying
// scale and min per sub-block dot, and a third faster for 16.) scale * q is
// exact in float (fp16 d times a 6-bit and a 4-bit integer), so the fused op
// gives the reference's weights bit for bit.
#include <cstring>

#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_kquant_avx2.h"
#include "kernels/simd_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

// Adds dot(w, x) over 32 columns to acc (two partial dots keep the chains short).
__m256 add_dot32(__m256 acc, const __m256* w, const float* x) {
  __m256 d0 = _mm256_mul_ps(w[0], _mm256_loadu_ps(x));
  __m256 d1 = _mm256_mul_ps(w[1], _mm256_loadu_ps(x + 8));
  d0 = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(x + 16), d0);
  d1 = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(x + 24), d1);
  return _mm256_add_ps(acc, _mm256_add_ps(d0, d1));
}

struct Q4_KFormat {
  // The 12 scale bytes as three little-endian words: sc[0..3] and m[0..3] are
  // the low 6 bits of words 0 and 1; sc[4..7] and m[4..7] take their low 4 bits
  // from word 2's nibbles and their top 2 bits from the top of words 0 and 1.
  // Stores d * sc[j] and dmin * m[j] as floats.
  static void unpack_scales(const uint8_t* p, float* scale, float* min) {
    uint32_t a[3];
    std::memcpy(a, p + offsetof(BlockQ4_K, scales), sizeof a);
    const uint32_t sc_lo = a[0] & 0x3f3f3f3fu, m_lo = a[1] & 0x3f3f3f3fu;
    const uint32_t sc_hi = (a[2] & 0x0f0f0f0fu) | ((a[0] >> 6) & 0x03030303u) << 4;
    const uint32_t m_hi = ((a[2] >> 4) & 0x0f0f0f0fu) | ((a[1] >> 6) & 0x03030303u) << 4;
    auto bytes_to_floats = [](uint32_t lo, uint32_t hi) {
      const auto both = static_cast<long long>(static_cast<uint64_t>(hi) << 32 | lo);
      return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(both)));
    };
    const __m256 d = _mm256_set1_ps(fp16_to_float(p + offsetof(BlockQ4_K, d)));
    const __m256 dmin = _mm256_set1_ps(fp16_to_float(p + offsetof(BlockQ4_K, dmin)));
    _mm256_store_ps(scale, _mm256_mul_ps(d, bytes_to_floats(sc_lo, sc_hi)));
    _mm256_store_ps(min, _mm256_mul_ps(dmin, bytes_to_floats(m_lo, m_hi)));
  }

  template <int R, int T>
  static void tile(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const float* x, int64_t t0, float* y,
                   int64_t rows) {
    const uint8_t* row[R];
    for (int r = 0; r < R; ++r) row[r] = W + (r0 + r) * stride;
    const float* xt[T];
    for (int t = 0; t < T; ++t) xt[t] = x + (t0 + t) * cols;
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    alignas(32) float scale[R][8], min[R][8];

    for (int64_t b = 0; b < cols / kquant::kBlockCols; ++b) {
      const uint8_t* p[R];
      for (int r = 0; r < R; ++r) {
        p[r] = row[r] + b * sizeof(BlockQ4_K);
        kquant::prefetch_block<sizeof(BlockQ4_K)>(p[r], 2);
        unpack_scales(p[r], scale[r], min[r]);
      }
      // Not unrolled: unrolled, the compiler interleaves passes and rows until
      // it runs out of registers.
#pragma GCC unroll 1
      for (int k = 0; k < 4; ++k) {
        for (int r = 0; r < R; ++r) {
          const uint8_t* q = p[r] + offsetof(BlockQ4_K, qs) + 32 * k;
          for (int half = 0; half < 2; ++half) {  // sub-block 2k + half
            const int j = 2 * k + half;
            const __m256 sc = _mm256_set1_ps(scale[r][j]), m = _mm256_set1_ps(min[r][j]);
            __m256 w[4];
            for (int v = 0; v < 4; ++v) {
              __m256i n = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + 8 * v)));
              n = half == 0 ? _mm256_and_si256(n, _mm256_set1_epi32(15)) : _mm256_srli_epi32(n, 4);
              w[v] = _mm256_fmsub_ps(sc, _mm256_cvtepi32_ps(n), m);
            }
            for (int t = 0; t < T; ++t)
              acc[r][t] = add_dot32(acc[r][t], w, xt[t] + b * kquant::kBlockCols + 32 * j);
          }
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) y[(t0 + t) * rows + r0 + r] = hsum(acc[r][t]);
  }
};

}  // namespace

void matmul_q4_k_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  kquant::matmul_rows<Q4_KFormat>(W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
