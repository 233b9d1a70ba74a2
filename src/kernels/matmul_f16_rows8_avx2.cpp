// AVX2 matmul of F16 weights repacked 8 rows at a time (layout rows8,
// kernels/weight_repack.h): column c of a group is 8 fp16 values, one per row,
// so one vcvtph2ps gives a vector of 8 rows and each activation x[t][c] is
// broadcast against it. Outputs of 8 rows come out as one vector (no
// horizontal sums), and every (row, token) sum runs over the columns in order
// whatever the tile, so results do not depend on the thread split or batching.
//
// Prefill (several tokens): a tile of 16 rows x 6 tokens holds 12 accumulators
// and does 12 FMAs per 2 weight loads and 6 broadcasts. Row tiles are the
// outer loop so that a tile's weights (16 rows x cols fp16, <= 180 KiB for
// cols 5632) stay in L2 while every token passes over them: weights come from
// memory once per matmul, activations from L3.
// Decode (one token): 32 rows per pass, 4 independent FMA chains.
#include <immintrin.h>

#include "kernels/avx2_kernels.h"

namespace tessera::kernels::avx2 {
namespace {

__m256 load_rows8(const uint8_t* group, int64_t c) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group + 16 * c)));
}

// y[t][r0 .. r0 + 8G) for T tokens from t0; group g at W + (r0 + 8g) * stride.
template <int G, int T>
void f16_rows8_tile(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const float* x, int64_t t0, float* y,
                    int64_t rows) {
  const uint8_t* group[G];
  for (int g = 0; g < G; ++g) group[g] = W + (r0 + 8 * g) * stride;
  const float* xt[T];
  for (int t = 0; t < T; ++t) xt[t] = x + (t0 + t) * cols;
  __m256 acc[G][T];
  // Unrolled, or GCC keeps a copy of acc in memory and stores it every column.
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[g][t] = _mm256_setzero_ps();
  for (int64_t c = 0; c < cols; ++c) {
    __m256 w[G];
    for (int g = 0; g < G; ++g) w[g] = load_rows8(group[g], c);
    for (int t = 0; t < T; ++t) {
      const __m256 xb = _mm256_broadcast_ss(xt[t] + c);
      for (int g = 0; g < G; ++g) acc[g][t] = _mm256_fmadd_ps(w[g], xb, acc[g][t]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + (t0 + t) * rows + r0 + 8 * g, acc[g][t]);
}

constexpr int kTokens = 6;

// Groups [r, r + 8G) for all tokens, kTokens at a time.
template <int G>
void f16_rows8_all_tokens(const uint8_t* W, size_t stride, int64_t cols, int64_t r, const float* x, int64_t n_tokens,
                          float* y, int64_t rows) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens) f16_rows8_tile<G, kTokens>(W, stride, cols, r, x, t, y, rows);
  switch (n_tokens - t) {
    case 5:
      return f16_rows8_tile<G, 5>(W, stride, cols, r, x, t, y, rows);
    case 4:
      return f16_rows8_tile<G, 4>(W, stride, cols, r, x, t, y, rows);
    case 3:
      return f16_rows8_tile<G, 3>(W, stride, cols, r, x, t, y, rows);
    case 2:
      return f16_rows8_tile<G, 2>(W, stride, cols, r, x, t, y, rows);
    case 1:
      return f16_rows8_tile<G, 1>(W, stride, cols, r, x, t, y, rows);
    default:
      return;
  }
}

}  // namespace

// Rows past the last whole group of 8 are plain: the plain kernel does them.
void matmul_f16_rows8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                           const float* x, int64_t n_tokens, float* y, int64_t rows) {
  const int64_t full = rows / 8 * 8;
  const int64_t group_end = row_end < full ? row_end : full;
  int64_t r = row_begin;
  if (n_tokens == 1) {
    for (; r + 32 <= group_end; r += 32) f16_rows8_tile<4, 1>(W, row_stride, cols, r, x, 0, y, rows);
    for (; r < group_end; r += 8) f16_rows8_tile<1, 1>(W, row_stride, cols, r, x, 0, y, rows);
  } else {
    for (; r + 16 <= group_end; r += 16) f16_rows8_all_tokens<2>(W, row_stride, cols, r, x, n_tokens, y, rows);
    for (; r < group_end; r += 8) f16_rows8_all_tokens<1>(W, row_stride, cols, r, x, n_tokens, y, rows);
  }
  if (r < row_end) matmul_f16_rows(W, row_stride, cols, r, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
