// Shared by the AVX-512 kernels for weights in the rows16 layout (kernels/
// weight_repack.h) with quantized activations (include it nowhere else). Each
// 32-bit lane of a zmm register holds one of 16 rows: a 64-byte load gives 16
// rows x 4 quant bytes, and vpdpbusd multiplies them by 4 activation bytes
// broadcast to every lane, adding the 4 products into the lane's int32 (exact),
// so one instruction does what vpmaddubsw + vpmaddwd + vpaddd do on AVX2.
//
// A tile type Tile provides
//   template <int T> using Rows = TokenRows<T> or TokenRows256<T>  (its activation format)
//   template <int T> static void run(const uint8_t* G, int64_t cols, const Rows<T>& x, __m512 acc[T])
// which adds to acc[t] (lane i = row i of the group at G) the products of the
// group's whole row with token t. Every (row, token) sum is formed the same way
// whatever T is, so results do not depend on the batch or the thread split.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/quantized_activations.h"
#include "kernels/reference.h"
#include "kernels/simd_avx512.h"
#include "kernels/token_rows.h"

namespace tessera::kernels::TESSERA_AVX512_NS {
namespace {

using kernels::TokenRows;
using kernels::TokenRows256;

// Every group of a rows16 int8 matrix is one address stream, read in order
// (weight_repack.h), so a 1-token tile (decode) leaves it to the hardware
// prefetcher: one Zen 4 core streamed Q4_K 1.2x faster without software
// prefetches, and Q4_0 / Q8_0 1.3x. Tiles of several tokens prefetch: a batch
// of a few decoding sequences streams its weights in the first 4-token tile
// (TinyLlama Q4_0, 2 threads, 8 sequences: 124 -> 180 t/s aggregate; prefill
// also gained, ~260 -> ~290 t/s: prefetches of lines already in L1 cost
// little). Q4_K asks into L1 this far ahead; call once per Lines * 64 bytes.
template <int Lines, int64_t Distance>
inline void prefetch_ahead(const uint8_t* p) {
  for (int i = 0; i < Lines; ++i) _mm_prefetch(reinterpret_cast<const char*>(p + Distance + 64 * i), _MM_HINT_T0);
}

// The same into L2 only (T1), 16 KiB ahead, for the other formats' tiles of
// several tokens: a T0 prefetch holds one of the core's few L1 miss buffers
// until its line arrives from memory (Q5_K and Q6_K, when their layouts were
// two streams, ran at a third to a half of Q4_K's rate with T0 4 KiB ahead).
template <int Lines>
inline void prefetch_to_l2(const uint8_t* p) {
  for (int i = 0; i < Lines; ++i) _mm_prefetch(reinterpret_cast<const char*>(p + 16 * 1024 + 64 * i), _MM_HINT_T1);
}

// 32 zmm registers: T int32 sums, T float accumulators and the weights of a
// step fit with T = 4 (8 measured no faster on Zen 4).
constexpr int kRows16Tokens = 4;
constexpr int64_t kRows16TokenBlockBytes = 256 * 1024;  // activations of a token block stay in L2

template <class Tile, int T>
void rows16_tile(const uint8_t* G, int64_t cols, int64_t r0, const uint8_t* xq, size_t xq_stride, int64_t t0,
                 float* y, int64_t rows) {
  const typename Tile::template Rows<T> x(xq, xq_stride, t0, cols);
  __m512 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  Tile::template run<T>(G, cols, x, acc);
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + (t0 + t) * rows + r0, acc[t]);
}

// Groups of 16 rows from row_begin (a multiple of 16) below the last whole
// group; tokens in blocks that stay in L2, kRows16Tokens at a time, the rest
// one by one. Returns the first row not done.
template <class Tile>
int64_t rows16_groups(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  const int64_t full = rows / 16 * 16;
  const int64_t group_end = row_end < full ? row_end : full;
  int64_t block = kRows16TokenBlockBytes / static_cast<int64_t>(xq_stride);
  block = block < kRows16Tokens ? kRows16Tokens : block - block % kRows16Tokens;
  for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
    const int64_t nt = n_tokens - t0 < block ? n_tokens - t0 : block;
    for (int64_t r = row_begin; r < group_end; r += 16) {
      const uint8_t* G = W + r * row_stride;
      int64_t t = t0;
      for (; t + kRows16Tokens <= t0 + nt; t += kRows16Tokens)
        rows16_tile<Tile, kRows16Tokens>(G, cols, r, xq, xq_stride, t, y, rows);
      for (; t < t0 + nt; ++t) rows16_tile<Tile, 1>(G, cols, r, xq, xq_stride, t, y, rows);
    }
  }
  return group_end > row_begin ? group_end : row_begin;
}

// The rows past the last whole group of 16 (plain layout, at most 15 of a
// matrix): the exact integer reference, one row and token at a time.
inline void reference_rows(DType type, ActFormat act, const uint8_t* W, size_t row_stride, int64_t cols,
                           int64_t row_begin, int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens,
                           float* y, int64_t rows) {
  for (int64_t r = row_begin; r < row_end; ++r)
    for (int64_t t = 0; t < n_tokens; ++t)
      ref::matmul_quantized(type, act, W + r * row_stride, 1, cols, xq + t * xq_stride, xq_stride, 1,
                            y + t * rows + r);
}

// The MatmulQuantizedRowsFn body for a Tile and the plain format of its tail rows.
template <class Tile>
void rows16_matmul(DType type, ActFormat act, const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                   int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  const int64_t r = rows16_groups<Tile>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
  if (r < row_end) reference_rows(type, act, W, row_stride, cols, r, row_end, xq, xq_stride, n_tokens, y, rows);
}

}  // namespace
}  // namespace tessera::kernels::TESSERA_AVX512_NS
