// AVX2 matmul of Q4_K and Q5_K weights repacked 8 rows at a time (layout rows8,
// kernels/weight_repack.h) with Q8x256 activations (matmul_rows8_avx2.h). The
// two formats share everything but Q5_K's fifth bit, which its layout keeps
// after Q4_K's bytes.
//
// A weight is d * sc_j * q - dmin * m_j in sub-block j (32 columns) of a
// super-block, q in 0..15 (Q4_K) or 0..31 (Q5_K). One activation scale d_x per
// super-block lets the kernel keep everything in integers until the
// super-block ends: per token, sum_j sc_j * dot(q_j, x_j) (vpmaddwd applies
// sc_j) and sum_j m_j * s_j with s_j the activation sums, then two FMAs. The
// mins cost no work per weight.
#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_rows8_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

constexpr int64_t kQuantsOffset = 128, kFifthBitsOffset = 1152;

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

// Sub-block j's scale as int16 in both halves of each lane, for vpmaddwd.
__m256i pair16(__m256i v) { return _mm256_or_si256(v, _mm256_slli_epi32(v, 16)); }

// Bit J of every byte of h as bit 4 (the other bits cleared).
template <int J>
__m256i fifth_bit(__m256i h) {
  __m256i v = h;
  if constexpr (J < 4) v = _mm256_slli_epi16(h, 4 - J);
  if constexpr (J > 4) v = _mm256_srli_epi16(h, J - 4);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

template <class Block>
struct KQuantRows8 {
  static constexpr bool kFifthBit = sizeof(Block) == sizeof(BlockQ5_K);
  static constexpr int64_t kGroupBytes = 8 * sizeof(Block);  // one super-block of 8 rows
  // A quarter of the group per sub-block pair: 288 or 352 bytes, not whole
  // lines, so one line more than they span.
  static constexpr int64_t kQuarter = kGroupBytes / 4;
  static constexpr int kPrefetchLines = (kQuarter + 63) / 64 + 1;
  // vpmaddubsw sums of q * x added in 16 bits before vpmaddwd: q <= 15 and
  // |x| <= 127 allow 8 (8 x 2 x 15 x 127 = 30480), q <= 31 only 4 (31496).
  static constexpr int kChunksPer16 = kFifthBit ? 4 : 8;

  template <int T>
  using Rows = TokenRows256<T>;

  // Adds sc * dot(q, x) of sub-block J (nibble J % 2 of the 8 chunks at qp,
  // activation columns from col) to dot32[t].
  template <int T, int J>
  static void sub_block(const uint8_t* S, const Rows<T>& x, int64_t col, __m256i sc, __m256i* dot32) {
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    const uint8_t* qp = S + kQuantsOffset + 256 * (J / 2);
    __m256i sum16[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) sum16[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp + 32 * c));
      __m256i q = _mm256_and_si256(J % 2 ? _mm256_srli_epi16(v, 4) : v, nibble);
      if constexpr (kFifthBit)  // fifth bits of columns 4c..4c+3: bit J of chunk c
        q = _mm256_or_si256(q, fifth_bit<J>(_mm256_loadu_si256(
                                   reinterpret_cast<const __m256i*>(S + kFifthBitsOffset + 32 * c))));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t)
        sum16[t] = in_order(_mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(q, broadcast_i32(x.q[t] + col + 4 * c))));
      if (c % kChunksPer16 == kChunksPer16 - 1) {
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          dot32[t] = _mm256_add_epi32(dot32[t], _mm256_madd_epi16(sum16[t], sc));
          sum16[t] = _mm256_setzero_si256();
        }
      }
    }
  }

  // Sub-blocks 2P (low nibbles) and 2P + 1 (high), which share their bytes.
  template <int T, int P>
  static void pair(const uint8_t* S, const Rows<T>& x, int64_t s, __m256i* dot32, __m256i* mins) {
    prefetch_ahead<kPrefetchLines, 4096>(S + kQuarter * P);
    __m256i sc0, sc1, m0, m1;
    scale_min(S, 2 * P, &sc0, &m0);
    scale_min(S, 2 * P + 1, &sc1, &m1);
    mins[P] = _mm256_or_si256(m0, _mm256_slli_epi32(m1, 16));
    sub_block<T, 2 * P>(S, x, kQK_K * s + 64 * P, pair16(sc0), dot32);
    sub_block<T, 2 * P + 1>(S, x, kQK_K * s + 64 * P + 32, pair16(sc1), dot32);
  }

  // Per super-block and token: the integer sums over its 8 sub-blocks of
  // sc_j * dot_j and of m_j * (activation sum of sub-block j), then
  //   acc += (d * d_x) * sum(sc_j dot_j) - (dmin * d_x) * sum(m_j s_j)
  template <int T>
  static void run(const uint8_t* G, int64_t cols, const Rows<T>& x, __m256* acc) {
    for (int64_t s = 0; s < cols / kQK_K; ++s) {
      const uint8_t* S = G + kGroupBytes * s;
      __m256i dot32[T];
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) dot32[t] = _mm256_setzero_si256();
      __m256i mins[4];  // (m_2p, m_2p+1) as int16 in each lane
      pair<T, 0>(S, x, s, dot32, mins);
      pair<T, 1>(S, x, s, dot32, mins);
      pair<T, 2>(S, x, s, dot32, mins);
      pair<T, 3>(S, x, s, dot32, mins);
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(S)));
      const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(S + 16)));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const int16_t* sums = x.s[t] + 8 * s;
        __m256i msum = _mm256_madd_epi16(mins[0], broadcast_i32(sums));
        for (int p = 1; p < 4; ++p) msum = _mm256_add_epi32(msum, _mm256_madd_epi16(mins[p], broadcast_i32(sums + 2 * p)));
        const __m256 dx = _mm256_broadcast_ss(x.d[t] + s);
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot32[t]), _mm256_mul_ps(d, dx), acc[t]);
        acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin, dx), acc[t]);
      }
    }
  }
};

}  // namespace

void matmul_q4_k_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows) {
  rows8_matmul<KQuantRows8<BlockQ4_K>>(DType::Q4_K, ActFormat::Q8x256, W, row_stride, cols, row_begin, row_end, xq,
                                       xq_stride, n_tokens, y, rows);
}

void matmul_q5_k_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows) {
  rows8_matmul<KQuantRows8<BlockQ5_K>>(DType::Q5_K, ActFormat::Q8x256, W, row_stride, cols, row_begin, row_end, xq,
                                       xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
