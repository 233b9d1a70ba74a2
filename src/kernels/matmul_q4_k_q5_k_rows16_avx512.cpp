// AVX-512 VNNI matmul of Q4_K and Q5_K weights repacked 16 rows at a time
// (layout rows16, kernels/weight_repack.h) with Q8x256 activations
// (matmul_rows16_avx512.h). The two formats share everything but Q5_K's fifth
// bit, which its layout keeps after Q4_K's bytes.
//
// A weight is d * sc_j * q - dmin * m_j in sub-block j (32 columns), q in
// 0..15 (Q4_K) or 0..31 (Q5_K). Per super-block and token, in integers:
// vpdpbusd sums q * x of each sub-block (exact int32 per row), vpmulld applies
// sc_j, and vpdpwssd sums m_j * s_j against the activations' 32-column sums;
// then two FMAs with d * d_x and dmin * d_x.
// |sum of sc_j * dot_j| <= 8 * 63 * 32 * 31 * 127 < 2^31.
#include "core/blocks.h"
#include "kernels/avx512_kernels.h"
#include "kernels/matmul_rows16_avx512.h"

namespace tessera::kernels::TESSERA_AVX512_NS {
namespace {

constexpr int64_t kDminOffset = 32, kScalesOffset = 64, kQuantsOffset = 256;

// Scales byte k of the 16 rows, one per 32-bit lane.
__m512i scales_byte(const uint8_t* S, int k) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(S + kScalesOffset + 16 * k)));
}

// Sub-block j's 6-bit scale and min for the 16 rows (ref::q4_k_scale_min, lane by lane).
void scale_min(const uint8_t* S, int j, __m512i* sc, __m512i* m) {
  const __m512i low6 = _mm512_set1_epi32(63), low4 = _mm512_set1_epi32(15);
  if (j < 4) {
    *sc = _mm512_and_si512(scales_byte(S, j), low6);
    *m = _mm512_and_si512(scales_byte(S, j + 4), low6);
  } else {
    const __m512i b = scales_byte(S, j + 4);
    *sc = _mm512_or_si512(_mm512_and_si512(b, low4), _mm512_slli_epi32(_mm512_srli_epi32(scales_byte(S, j - 4), 6), 4));
    *m = _mm512_or_si512(_mm512_srli_epi32(b, 4), _mm512_slli_epi32(_mm512_srli_epi32(scales_byte(S, j), 6), 4));
  }
}

// Bit J of every byte moved to bit 4 (other bits are garbage, masked by the caller).
template <int J>
__m512i bit_to_4(__m512i v) {
  if constexpr (J < 4) return _mm512_slli_epi16(v, 4 - J);
  else if constexpr (J > 4) return _mm512_srli_epi16(v, J - 4);
  else return v;
}

// q | (bit J of h) << 4, per byte: vpternlogd's A | (B & C).
template <int J>
__m512i with_fifth_bit(__m512i q, __m512i h) {
  return _mm512_ternarylogic_epi32(q, bit_to_4<J>(h), _mm512_set1_epi8(0x10), 0xf8);
}

template <class Block>
struct KQuantRows16 {
  static constexpr bool kFifthBit = sizeof(Block) == sizeof(BlockQ5_K);
  static constexpr int64_t kGroupBytes = 16 * sizeof(Block);  // one super-block of 16 rows
  static constexpr int kPrefetchLines = kGroupBytes / 64 / 4;  // a quarter of the group per sub-block pair

  // Quant chunk c of sub-block pair P: Q5_K interleaves pair 0's chunks with
  // the fifth-bit chunks, so the group is read in address order.
  template <int P>
  static const uint8_t* quants(const uint8_t* S, int c) {
    if constexpr (!kFifthBit) return S + kQuantsOffset + 512 * P + 64 * c;
    else if constexpr (P == 0) return S + kQuantsOffset + 128 * c + 64;
    else return S + kQuantsOffset + 512 + 512 * P + 64 * c;
  }
  static const uint8_t* fifth_bits(const uint8_t* S, int c) { return S + kQuantsOffset + 128 * c; }

  template <int T>
  using Rows = TokenRows256<T>;

  // Sub-blocks 2P (low nibbles) and 2P + 1 (high) of the 8 chunks at S, with
  // activations from column col: adds sc0 * dot_2P + sc1 * dot_2P+1 to dot[t].
  template <int T, int P>
  static void sub_block_pair(const uint8_t* S, const Rows<T>& x, int64_t col, __m512i sc0, __m512i sc1,
                             __m512i* dot) {
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    __m512i d0[T], d1[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) d0[t] = d1[t] = _mm512_setzero_si512();
    for (int c = 0; c < 8; ++c) {
      const __m512i v = load512(quants<P>(S, c));
      __m512i lo = _mm512_and_si512(v, nibble);
      __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
      if constexpr (kFifthBit) {  // fifth bits of columns 4c..4c+3: bits 2P, 2P + 1 of chunk c
        const __m512i h = load512(fifth_bits(S, c));
        lo = with_fifth_bit<2 * P>(lo, h);
        hi = with_fifth_bit<2 * P + 1>(hi, h);
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        d0[t] = _mm512_dpbusd_epi32(d0[t], lo, broadcast_i32(x.q[t] + col + 4 * c));
        d1[t] = _mm512_dpbusd_epi32(d1[t], hi, broadcast_i32(x.q[t] + col + 32 + 4 * c));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      dot[t] = _mm512_add_epi32(dot[t], _mm512_add_epi32(_mm512_mullo_epi32(d0[t], sc0), _mm512_mullo_epi32(d1[t], sc1)));
  }

  template <int T, int P>
  static void pair(const uint8_t* S, const Rows<T>& x, int64_t s, __m512i* dot, __m512i* msum) {
    if constexpr (T > 1) {  // one token leaves the in-order group to the hardware (matmul_rows16_avx512.h)
      if constexpr (kFifthBit)
        prefetch_to_l2<kPrefetchLines>(S + 64 * kPrefetchLines * P);
      else
        prefetch_ahead<kPrefetchLines, 4096>(S + 64 * kPrefetchLines * P);
    }
    __m512i sc0, sc1, m0, m1;
    scale_min(S, 2 * P, &sc0, &m0);
    scale_min(S, 2 * P + 1, &sc1, &m1);
    const __m512i mins = _mm512_or_si512(m0, _mm512_slli_epi32(m1, 16));  // (m_2P, m_2P+1) as int16 pairs
    sub_block_pair<T, P>(S, x, kQK_K * s + 64 * P, sc0, sc1, dot);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) msum[t] = _mm512_dpwssd_epi32(msum[t], mins, broadcast_i32(x.s[t] + 8 * s + 2 * P));
  }

  template <int T>
  static void run(const uint8_t* G, int64_t cols, const Rows<T>& x, __m512* acc) {
    for (int64_t s = 0; s < cols / kQK_K; ++s) {
      const uint8_t* S = G + kGroupBytes * s;
      __m512i dot[T], msum[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) dot[t] = msum[t] = _mm512_setzero_si512();
      pair<T, 0>(S, x, s, dot, msum);
      pair<T, 1>(S, x, s, dot, msum);
      pair<T, 2>(S, x, s, dot, msum);
      pair<T, 3>(S, x, s, dot, msum);
      const __m512 d = load_fp16x16(S);
      const __m512 dmin = load_fp16x16(S + kDminOffset);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512 dx = _mm512_set1_ps(x.d[t][s]);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t]), _mm512_mul_ps(d, dx), acc[t]);
        acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum[t]), _mm512_mul_ps(dmin, dx), acc[t]);
      }
    }
  }
};

}  // namespace

void matmul_q4_k_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows) {
  rows16_matmul<KQuantRows16<BlockQ4_K>>(DType::Q4_K, ActFormat::Q8x256, W, row_stride, cols, row_begin, row_end,
                                         xq, xq_stride, n_tokens, y, rows);
}

void matmul_q5_k_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows) {
  rows16_matmul<KQuantRows16<BlockQ5_K>>(DType::Q5_K, ActFormat::Q8x256, W, row_stride, cols, row_begin, row_end,
                                         xq, xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::TESSERA_AVX512_NS
