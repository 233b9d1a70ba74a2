// AVX-512 VNNI matmul of Q4_0 / Q8_0 weights repacked 16 rows at a time (layout
// rows16, kernels/weight_repack.h) with Q8x32 activations (matmul_rows16_avx512.h).
//
// Both formats store unsigned quants here, weight = quant - offset: Q4_0's are
// q + 8 (0..15), rows16 Q8_0's q + 128 (0..255). vpdpbusd multiplies them, as its
// unsigned operand, by the signed activation bytes; the offset comes off once
// per block as offset * (the activation block's sum). Per block and token: the
// int32 sums of 16 rows, one conversion and one FMA with the 16 rows' scales
// (one load) times the token's.
#include "kernels/avx512_kernels.h"
#include "kernels/matmul_rows16_avx512.h"

namespace tessera::kernels::TESSERA_AVX512_NS {
namespace {

struct Q4_0Rows16 {
  static constexpr int64_t kQuantBytes = 16;  // per row and block
  static constexpr int32_t kOffset = 8;

  // Chunk k (4 bytes a row) holds columns 4k..4k+3 in its low nibbles and
  // 4k+16..4k+19 in its high ones.
  template <int T>
  static void block(const uint8_t* quants, const TokenRows<T>& x, int64_t b, __m512i* sum) {
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    for (int k = 0; k < 4; ++k) {
      const __m512i v = load512(quants + 64 * k);
      const __m512i lo = _mm512_and_si512(v, nibble);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const int8_t* xb = x.q[t] + 32 * b;
        sum[t] = _mm512_dpbusd_epi32(sum[t], lo, broadcast_i32(xb + 4 * k));
        sum[t] = _mm512_dpbusd_epi32(sum[t], hi, broadcast_i32(xb + 16 + 4 * k));
      }
    }
  }
};

struct Q8_0Rows16 {
  static constexpr int64_t kQuantBytes = 32;
  static constexpr int32_t kOffset = 128;

  template <int T>
  static void block(const uint8_t* quants, const TokenRows<T>& x, int64_t b, __m512i* sum) {
    for (int k = 0; k < 8; ++k) {
      const __m512i w = load512(quants + 64 * k);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) sum[t] = _mm512_dpbusd_epi32(sum[t], w, broadcast_i32(x.q[t] + 32 * b + 4 * k));
    }
  }
};

// A whole group of 16 rows: per block, Fmt's int32 sums less the offset, then
// one FMA per token with the 16 rows' scales times the token's. Each sum
// starts at -offset * (the block's activation sum), formed in a scalar
// register: the vector ops of a block's tail (conversion, scale product, FMA)
// compete with vpdpbusd for the same pipes on Zen 4, so the vpsubd a zero
// start would need is one too many (integers: the same exact sums either way).
//
// The group is one stream in address order (each pair of blocks' scales, then
// their quants). Decode (T = 1) leaves it to the hardware prefetcher: on Zen 4
// with a 64 MiB matrix, software prefetches (into L2 16 KiB ahead, or L1 2 KiB
// ahead) made it stream 0.7x as fast. Tiles of several tokens, whose weights
// are streamed slower per byte, prefetch into L2: 4 tokens from memory 1.2x
// (Q4_0) and 1.5x (Q8_0) faster, prefill the same (kernels_bench decode4/, packed/).
template <class Fmt>
struct BlockRows16 {
  template <int T>
  using Rows = TokenRows<T>;

  static constexpr int64_t kQuants = 16 * Fmt::kQuantBytes;  // one block's, 16 rows
  static constexpr int64_t kPairBytes = 2 * (32 + kQuants);

  template <int T>
  static void block(const uint8_t* scales, const uint8_t* quants, const TokenRows<T>& x, int64_t b, __m512* acc) {
    __m512i sum[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) sum[t] = _mm512_set1_epi32(-x.s[t][b] * Fmt::kOffset);
    Fmt::template block<T>(quants, x, b, sum);
    const __m512 dw = load_fp16x16(scales);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(x.d[t][b]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[t]), d, acc[t]);
    }
  }

  template <int T>
  static void run(const uint8_t* G, int64_t cols, const TokenRows<T>& x, __m512* acc) {
    const int64_t blocks = cols / 32;
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2, G += kPairBytes) {
      if constexpr (T > 1) prefetch_to_l2<kPairBytes / 64>(G);
      block<T>(G, G + 64, x, b, acc);
      block<T>(G + 32, G + 64 + kQuants, x, b + 1, acc);
    }
    if (b < blocks) block<T>(G, G + 32, x, b, acc);  // an odd last block: its scales, then its quants
  }
};

}  // namespace

void matmul_q4_0_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows) {
  rows16_matmul<BlockRows16<Q4_0Rows16>>(DType::Q4_0, ActFormat::Q8x32, W, row_stride, cols, row_begin, row_end, xq,
                                         xq_stride, n_tokens, y, rows);
}

void matmul_q8_0_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows) {
  rows16_matmul<BlockRows16<Q8_0Rows16>>(DType::Q8_0, ActFormat::Q8x32, W, row_stride, cols, row_begin, row_end, xq,
                                         xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::TESSERA_AVX512_NS
