// Shared by the AVX2 kernels for weights in the rows8 layout (kernels/
// weight_repack.h) with Q8x32 activations (include it nowhere else). Each 32-bit
// lane holds one of 8 rows: a 32-byte load gives 8 rows x 4 quant bytes, and
// vpmaddubsw pairs them with 4 activation bytes broadcast to every lane, so the
// int-to-float conversion and FMA per block serve 8 rows at once.
//
// A tile type Tile provides
//   template <int T> using Rows = TokenRows<T> or TokenRows256<T>  (its activation format)
//   template <int T> static void run(const uint8_t* G, int64_t cols, const Rows<T>& x, __m256 acc[T])
// which adds to acc[t] (lane i = row i of the group at G) the products of the
// group's whole row with token t.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/quantized_activations.h"
#include "kernels/reference.h"
#include "kernels/token_rows.h"

namespace tessera::kernels::avx2 {
namespace {

inline int32_t load_i32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

inline __m256i broadcast_i32(const void* p) { return _mm256_set1_epi32(load_i32(p)); }

// The running sum as a value GCC may not reassociate: left alone it turns the
// integer add chains into trees, computing every product of a block first and
// spilling them. The empty asm costs nothing at run time.
inline __m256i in_order(__m256i sum) {
  asm("" : "+x"(sum));
  return sum;
}

// Decode streams each weight once from memory. The hardware prefetcher alone
// kept the int8 kernels at ~26 t/s on TinyLlama-shape Q4_0 (2 threads); asking
// for the lines 2 KiB ahead of the ones in use raised it to ~33-37 t/s (1 KiB
// and 4 KiB measured slower). With the weights on huge pages the best distance
// grew with the work per byte: 4 KiB for the K-quants (Q4_K_M tg +8% over
// 2 KiB), 2 KiB for Q8_0 (4 KiB: -6%) and Q4_0 (4 KiB: no better). Every token
// tile prefetches, not only the 1-token one: a few decoding sequences stream the
// weights in their first 4-token tile (TinyLlama Q4_0, 8 sequences, 2 threads,
// TESSERA_ISA=avx2 on Zen 4: 116 -> 148-151 t/s; prefill unchanged). Call once
// per `Lines` * 64 bytes consumed.
constexpr int64_t kPrefetchBytes = 2048;

template <int Lines, int64_t Distance = kPrefetchBytes>
inline void prefetch_ahead(const uint8_t* p) {
  for (int i = 0; i < Lines; ++i) _mm_prefetch(reinterpret_cast<const char*>(p + Distance + 64 * i), _MM_HINT_T0);
}

// The same into L2 only (T1), 16 KiB ahead, as the AVX-512 kernels do
// (matmul_rows16_avx512.h): Q4_0 and Q8_0 in their 1-token tile, where the L1
// miss buffers are the limit. On Zen 4 with TESSERA_ISA=avx2 (64 MiB matrix,
// one token) it streamed Q4_0 1.5x and Q8_0 1.1x faster than T0 2 KiB ahead;
// their 4-token tiles ran 0.84x with it and keep prefetch_ahead, as do the
// K-quants (no difference measured). On cores where T1 fills L1 as T0 does
// (before Zen 4), it is T0 16 KiB ahead.
template <int Lines>
inline void prefetch_to_l2(const uint8_t* p) {
  for (int i = 0; i < Lines; ++i) _mm_prefetch(reinterpret_cast<const char*>(p + 16 * 1024 + 64 * i), _MM_HINT_T1);
}

using kernels::TokenRows;  // kernels/token_rows.h
using kernels::TokenRows256;

constexpr int kRows8Tokens = 4;  // 4 sums, 4 accumulators and the weights fit the 16 ymm registers
constexpr int64_t kRows8TokenBlockBytes = 256 * 1024;  // activations kept in L2, as in matmul_q8_tile_avx2.h

template <class Tile, int T>
void rows8_tile(const uint8_t* G, int64_t cols, int64_t r0, const uint8_t* xq, size_t xq_stride, int64_t t0,
                float* y, int64_t rows) {
  const typename Tile::template Rows<T> x(xq, xq_stride, t0, cols);
  __m256 acc[T];
  // Unrolled, or GCC keeps a copy of acc in memory and stores it every block.
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  Tile::template run<T>(G, cols, x, acc);
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + (t0 + t) * rows + r0, acc[t]);
}

// Groups of 8 rows from row_begin (a multiple of 8) below the last whole group;
// tokens in blocks that stay in L2, 4 at a time. Returns the first row not done.
template <class Tile>
int64_t rows8_groups(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  const int64_t full = rows / 8 * 8;
  const int64_t group_end = row_end < full ? row_end : full;
  int64_t block = kRows8TokenBlockBytes / static_cast<int64_t>(xq_stride);
  block = block < kRows8Tokens ? kRows8Tokens : block - block % kRows8Tokens;
  for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
    const int64_t nt = n_tokens - t0 < block ? n_tokens - t0 : block;
    for (int64_t r = row_begin; r < group_end; r += 8) {
      const uint8_t* G = W + r * row_stride;
      int64_t t = t0;
      for (; t + kRows8Tokens <= t0 + nt; t += kRows8Tokens)
        rows8_tile<Tile, kRows8Tokens>(G, cols, r, xq, xq_stride, t, y, rows);
      for (; t < t0 + nt; ++t) rows8_tile<Tile, 1>(G, cols, r, xq, xq_stride, t, y, rows);
    }
  }
  return group_end > row_begin ? group_end : row_begin;
}

// The rows past the last whole group of 8 (plain layout), for formats without a
// plain int8 kernel: the exact integer reference, one row and token at a time
// (at most 7 rows of a matrix).
inline void reference_rows(DType type, ActFormat act, const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                           int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                           int64_t rows) {
  for (int64_t r = row_begin; r < row_end; ++r)
    for (int64_t t = 0; t < n_tokens; ++t)
      ref::matmul_quantized(type, act, W + r * row_stride, 1, cols, xq + t * xq_stride, xq_stride, 1,
                            y + t * rows + r);
}

// The MatmulQuantizedRowsFn body for a Tile and the plain format of its tail rows.
template <class Tile>
void rows8_matmul(DType type, ActFormat act, const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                  int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  const int64_t r = rows8_groups<Tile>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
  if (r < row_end) reference_rows(type, act, W, row_stride, cols, r, row_end, xq, xq_stride, n_tokens, y, rows);
}

}  // namespace
}  // namespace tessera::kernels::avx2
