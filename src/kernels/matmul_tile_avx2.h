// The AVX2 matmul driver shared by the matmul_*_avx2.cpp files (include it
// nowhere else). Each file describes its weight format; this decodes the
// weights in registers and does the FMAs with float activations.
//
// A format `Fmt` provides:
//   kStepBytes   bytes of one step of a row; a step is 32 columns (one block
//                for Q8_0/Q4_0, 32 values for F32/F16/BF16)
//   kScaled      true for block formats: a step contributes scale * dot(quants, x)
//   decode(p, w) the step at p as 4 vectors of 8 floats (the quants when scaled)
//   scale(p)     the step's scale (scaled formats only)
//   load8(row, c, n)  columns [c, c + n) of a row, n <= 8, zero-padded (float
//                formats only: their rows need not be a multiple of 32 long)
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/simd_avx2.h"

namespace tessera::kernels::avx2 {

inline constexpr int64_t kStepCols = 32;

// y[t][r] for R rows from r0 and T tokens from t0. Every (row, token) sum is
// formed in the same order whatever R and T are, so results do not depend on
// how rows are split between threads.
template <class Fmt, int R, int T>
void matmul_tile(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const float* x, int64_t t0,
                 float* y, int64_t rows) {
  const uint8_t* row[R];
  for (int r = 0; r < R; ++r) row[r] = W + (r0 + r) * stride;
  const float* xt[T];
  for (int t = 0; t < T; ++t) xt[t] = x + (t0 + t) * cols;
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();

  const int64_t steps = cols / kStepCols;
  for (int64_t s = 0; s < steps; ++s) {
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = row[r] + s * Fmt::kStepBytes;
      __m256 w[4];
      Fmt::decode(p, w);  // once per row and step, used for all T tokens
      __m256 scale = _mm256_setzero_ps();
      if constexpr (Fmt::kScaled) scale = _mm256_set1_ps(Fmt::scale(p));
      for (int t = 0; t < T; ++t) {
        const float* xp = xt[t] + s * kStepCols;
        // Two partial dots keep the dependency chains short.
        __m256 d0 = _mm256_mul_ps(w[0], _mm256_loadu_ps(xp));
        __m256 d1 = _mm256_mul_ps(w[1], _mm256_loadu_ps(xp + 8));
        d0 = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(xp + 16), d0);
        d1 = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(xp + 24), d1);
        if constexpr (Fmt::kScaled)
          acc[r][t] = _mm256_fmadd_ps(scale, _mm256_add_ps(d0, d1), acc[r][t]);
        else
          acc[r][t] = _mm256_add_ps(acc[r][t], _mm256_add_ps(d0, d1));
      }
    }
  }
  if constexpr (!Fmt::kScaled) {
    for (int64_t c = steps * kStepCols; c < cols; c += 8) {
      const int64_t n = cols - c < 8 ? cols - c : 8;
      const __m256i mask = tail_mask(n);
      for (int r = 0; r < R; ++r) {
        const __m256 w = Fmt::load8(row[r], c, n);
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(w, _mm256_maskload_ps(xt[t] + c, mask), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[(t0 + t) * rows + r0 + r] = hsum(acc[r][t]);
}

// Row and token blocking, shared by every AVX2 matmul whose tiles a `Tiles`
// policy provides:
//   template <int R, int T> static void tile(W, stride, cols, r0, x, t0, y, rows)
// computing y[t][r] for R rows from r0 and T tokens from t0.

// Rows [r0, r0 + R) for tokens [t0, t0 + nt), 4 tokens at a time, so each
// decoded weight serves up to 4 tokens.
template <class Tiles, int R>
void token_tiles(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const float* x, int64_t t0, int64_t nt,
                 float* y, int64_t rows) {
  int64_t t = t0;
  for (; t + 4 <= t0 + nt; t += 4) Tiles::template tile<R, 4>(W, stride, cols, r0, x, t, y, rows);
  switch (t0 + nt - t) {
    case 3:
      Tiles::template tile<R, 3>(W, stride, cols, r0, x, t, y, rows);
      break;
    case 2:
      Tiles::template tile<R, 2>(W, stride, cols, r0, x, t, y, rows);
      break;
    case 1:
      Tiles::template tile<R, 1>(W, stride, cols, r0, x, t, y, rows);
      break;
    default:
      break;
  }
}

// The MatmulRowsFn body. One token (decode): 4 rows per pass, streaming the
// weights once. Several tokens (prefill): tokens in blocks whose activations
// stay in L2, and for each block 2 rows x 4 tokens per pass.
template <class Tiles>
void blocked_rows(const uint8_t* W, size_t stride, int64_t cols, int64_t row_begin, int64_t row_end, const float* x,
                  int64_t n_tokens, float* y, int64_t rows) {
  if (n_tokens == 1) {
    int64_t r = row_begin;
    for (; r + 4 <= row_end; r += 4) Tiles::template tile<4, 1>(W, stride, cols, r, x, 0, y, rows);
    for (; r < row_end; ++r) Tiles::template tile<1, 1>(W, stride, cols, r, x, 0, y, rows);
    return;
  }
  constexpr int64_t kTokenBlockBytes = 128 * 1024;
  int64_t block = cols > 0 ? kTokenBlockBytes / (cols * static_cast<int64_t>(sizeof(float))) : n_tokens;
  block = block < 4 ? 4 : block & ~int64_t{3};
  for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
    const int64_t nt = n_tokens - t0 < block ? n_tokens - t0 : block;
    int64_t r = row_begin;
    for (; r + 2 <= row_end; r += 2) token_tiles<Tiles, 2>(W, stride, cols, r, x, t0, nt, y, rows);
    for (; r < row_end; ++r) token_tiles<Tiles, 1>(W, stride, cols, r, x, t0, nt, y, rows);
  }
}

// The tiles of a per-step format (matmul_tile above) as a Tiles policy.
template <class Fmt>
struct StepTiles {
  template <int R, int T>
  static void tile(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const float* x, int64_t t0, float* y,
                   int64_t rows) {
    matmul_tile<Fmt, R, T>(W, stride, cols, r0, x, t0, y, rows);
  }
};

template <class Fmt>
void matmul_rows(const uint8_t* W, size_t stride, int64_t cols, int64_t row_begin, int64_t row_end,
                 const float* x, int64_t n_tokens, float* y, int64_t rows) {
  blocked_rows<StepTiles<Fmt>>(W, stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
