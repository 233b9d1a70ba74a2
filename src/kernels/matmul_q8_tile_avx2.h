// The AVX2 integer-dot matmul driver shared by the matmul_*_q8_avx2.cpp files
// (include it nowhere else): block-quantized weights times Q8x32 activations
// (kernels/quantized_activations.h), a block of 32 columns at a time.
//
// Per block and (row, token) pair: the 32 weight quants dot the 32 activation
// quants in int32, exactly; the 8 int32 partial sums become floats and are
// accumulated, times d_w * d_x, into one vector per pair, summed across lanes
// at the end. Every pair is formed the same way whatever the tile shape, so
// results do not depend on the thread split or on the number of tokens.
//
// A weight format Fmt provides:
//   kBlockBytes  bytes of one block of 32 weights
//   kOffset      0 when quants(p) are signed weights; else quants(p) are unsigned
//                and weight = quant - kOffset (Q4_0: 8)
//   quants(p)    the block at p as 32 bytes in column order
//   scale_bits(p) the block's scale as fp16 bits
// An integer dot Dot provides:
//   dot(u, s)    8 int32 lanes, lane i = sum of u[k] * s[k] for k in [4i, 4i + 4),
//                u unsigned bytes, s signed bytes (vpmaddubsw + vpmaddwd on AVX2;
//                an AVX-VNNI tier would pass vpdpbusd and reuse the rest).
// Signed weights: u = |w| and s = x with w's sign (vpsignb); |w| <= 128 and
// |x| <= 127 keep vpmaddubsw's 16-bit pair sums in range. Offset weights: u is
// the stored quant and the offset comes off afterwards, kOffset / 8 times the
// activation block's sum from each of the 8 lanes, which saves the sign work.
//
// The scale products d_w * d_x of 8 blocks are formed together (one multiply
// per row and token for 8 blocks) and broadcast from memory, keeping the FMA
// ports for the accumulation.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/simd_avx2.h"

namespace tessera::kernels::avx2 {

inline constexpr int64_t kQ8Block = 32;
inline constexpr int kScaleGroup = 8;  // blocks whose scale products are formed together

// vpmaddubsw makes 16-bit sums of byte pairs, vpmaddwd widens pairs of those.
struct MaddubsDot {
  static __m256i dot(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
};

// Scales of n <= 8 consecutive blocks from p as floats, 0 past n. Assembled in
// general registers, which are idle here, by a serial chain of shifts that GCC
// does not turn into vector shuffles; inlined, so no call per row and group.
template <class Fmt>
[[gnu::always_inline]] inline __m256 block_scales(const uint8_t* p, int n) {
  auto bits = [p](int j) -> uint64_t { return Fmt::scale_bits(p + j * Fmt::kBlockBytes); };
  uint64_t lo = 0, hi = 0;
  if (n == kScaleGroup) {
    hi = ((bits(7) << 16 | bits(6)) << 16 | bits(5)) << 16 | bits(4);
    lo = ((bits(3) << 16 | bits(2)) << 16 | bits(1)) << 16 | bits(0);
  } else {
    for (int j = n - 1; j >= 4; --j) hi = hi << 16 | bits(j);
    for (int j = (n < 4 ? n : 4) - 1; j >= 0; --j) lo = lo << 16 | bits(j);
  }
  return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)));
}

// y[t][r] for R rows from r0 and T tokens from t0.
template <class Fmt, class Dot, int R, int T>
void matmul_q8_tile(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const uint8_t* xq,
                    size_t xq_stride, int64_t t0, float* y, int64_t rows) {
  static_assert(Fmt::kOffset % 8 == 0);
  const int64_t blocks = cols / kQ8Block;
  const int64_t blocks8 = (blocks + kScaleGroup - 1) / kScaleGroup * kScaleGroup;
  const uint8_t* row[R];
  for (int r = 0; r < R; ++r) row[r] = W + (r0 + r) * stride;
  const uint8_t* xt[T];
  const float* xd[T];
  const int32_t* xs[T];
  for (int t = 0; t < T; ++t) {
    xt[t] = xq + (t0 + t) * xq_stride;
    xd[t] = reinterpret_cast<const float*>(xt[t] + cols);
    xs[t] = reinterpret_cast<const int32_t*>(xt[t] + cols + blocks8 * sizeof(float));
  }
  // The loops over rows and tokens are unrolled (the pragmas): otherwise GCC
  // keeps a copy of acc in memory and stores it every block.
  __m256 acc[R][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  alignas(32) float dd[R][T][kScaleGroup];  // d_w * d_x of each pair for the group's blocks

  for (int64_t g = 0; g < blocks; g += kScaleGroup) {
    const int n = blocks - g < kScaleGroup ? static_cast<int>(blocks - g) : kScaleGroup;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m256 dw = block_scales<Fmt>(row[r] + g * Fmt::kBlockBytes, n);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) _mm256_store_ps(dd[r][t], _mm256_mul_ps(dw, _mm256_loadu_ps(xd[t] + g)));
    }
    for (int j = 0; j < n; ++j) {
      const int64_t b = g + j;
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const __m256i w = Fmt::quants(row[r] + b * Fmt::kBlockBytes);  // decoded once, used for T tokens
        const __m256i w_abs = Fmt::kOffset == 0 ? _mm256_sign_epi8(w, w) : w;
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xt[t] + b * kQ8Block));
          __m256i sums;
          if constexpr (Fmt::kOffset == 0) {
            sums = Dot::dot(w_abs, _mm256_sign_epi8(x, w));
          } else {
            sums = _mm256_sub_epi32(Dot::dot(w, x), _mm256_set1_epi32(xs[t][b] * (Fmt::kOffset / 8)));
          }
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_broadcast_ss(&dd[r][t][j]), acc[r][t]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) y[(t0 + t) * rows + r0 + r] = hsum(acc[r][t]);
}

// Rows [r0, r0 + R) for tokens [t0, t0 + nt), T tokens at a time.
template <class Fmt, class Dot, int R, int T>
void matmul_q8_token_tiles(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const uint8_t* xq,
                           size_t xq_stride, int64_t t0, int64_t nt, float* y, int64_t rows) {
  static_assert(T >= 1 && T <= 4);
  int64_t t = t0;
  for (; t + T <= t0 + nt; t += T) matmul_q8_tile<Fmt, Dot, R, T>(W, stride, cols, r0, xq, xq_stride, t, y, rows);
  const int64_t left = t0 + nt - t;
  if constexpr (T > 3) {
    if (left == 3) matmul_q8_tile<Fmt, Dot, R, 3>(W, stride, cols, r0, xq, xq_stride, t, y, rows);
  }
  if constexpr (T > 2) {
    if (left == 2) matmul_q8_tile<Fmt, Dot, R, 2>(W, stride, cols, r0, xq, xq_stride, t, y, rows);
  }
  if constexpr (T > 1) {
    if (left == 1) matmul_q8_tile<Fmt, Dot, R, 1>(W, stride, cols, r0, xq, xq_stride, t, y, rows);
  }
}

// Tile shapes. Decode streams the weights once, kDecodeRows rows per pass
// sharing each activation load. Prefill reuses each decoded weight block for
// kPrefillTokens tokens and each activation block for kPrefillRows rows; the
// kPrefillRows * kPrefillTokens accumulators and the operands fit in the 16
// ymm registers (12 accumulators made GCC spill).
inline constexpr int kDecodeRows = 4;
inline constexpr int kPrefillRows = 2;
inline constexpr int kPrefillTokens = 4;
// Quantized activations of one token block stay in L2 (half of Zen 3's 512 KiB)
// while every row of the thread's share streams past them.
inline constexpr int64_t kTokenBlockBytes = 256 * 1024;

// The MatmulQuantizedRowsFn body for a weight format.
template <class Fmt, class Dot>
void matmul_q8_rows(const uint8_t* W, size_t stride, int64_t cols, int64_t row_begin, int64_t row_end,
                    const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  if (n_tokens == 1) {
    int64_t r = row_begin;
    for (; r + kDecodeRows <= row_end; r += kDecodeRows)
      matmul_q8_tile<Fmt, Dot, kDecodeRows, 1>(W, stride, cols, r, xq, xq_stride, 0, y, rows);
    for (; r < row_end; ++r) matmul_q8_tile<Fmt, Dot, 1, 1>(W, stride, cols, r, xq, xq_stride, 0, y, rows);
    return;
  }
  int64_t block = kTokenBlockBytes / static_cast<int64_t>(xq_stride > 0 ? xq_stride : 1);
  block = block < kPrefillTokens ? kPrefillTokens : block - block % kPrefillTokens;
  for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
    const int64_t nt = n_tokens - t0 < block ? n_tokens - t0 : block;
    int64_t r = row_begin;
    for (; r + kPrefillRows <= row_end; r += kPrefillRows)
      matmul_q8_token_tiles<Fmt, Dot, kPrefillRows, kPrefillTokens>(W, stride, cols, r, xq, xq_stride, t0, nt, y,
                                                                    rows);
    for (; r < row_end; ++r)
      matmul_q8_token_tiles<Fmt, Dot, 1, kPrefillTokens>(W, stride, cols, r, xq, xq_stride, t0, nt, y, rows);
  }
}

}  // namespace tessera::kernels::avx2
