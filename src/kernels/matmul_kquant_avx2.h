// Row and token blocking shared by the K-quant AVX2 matmuls (matmul_q4_k_avx2.cpp,
// matmul_q6_k_avx2.cpp); include it nowhere else. The same blocking as
// matmul_tile_avx2.h, around tiles that each format writes itself: K-quant
// super-blocks (256 columns) carry per-sub-block scales (and mins), which the
// tiles apply to whole sub-block dot products rather than to every weight.
//
// A format `Fmt` provides
//   template <int R, int T> static void tile(W, stride, cols, r0, x, t0, y, rows)
// computing y[t][r] for R rows from r0 and T tokens from t0. Each (row, token)
// sum must be formed in the same order whatever R and T are, so that results
// do not depend on how rows are split between threads.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace tessera::kernels::avx2::kquant {

inline constexpr int64_t kBlockCols = 256;

// Asks for the block `ahead` super-blocks past p: without it, rows of Q6_K
// (210-byte blocks read in unaligned 32-byte pieces) stream at half speed.
template <size_t kBlockBytes>
inline void prefetch_block(const uint8_t* p, int ahead) {
  const uint8_t* next = p + static_cast<size_t>(ahead) * kBlockBytes;
  for (size_t off = 0; off < kBlockBytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(next + off), _MM_HINT_T0);
}

// R rows from r0 for tokens [t0, t0 + nt), 4 tokens at a time.
template <class Fmt, int R>
void token_tiles(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const float* x, int64_t t0, int64_t nt,
                 float* y, int64_t rows) {
  int64_t t = t0;
  for (; t + 4 <= t0 + nt; t += 4) Fmt::template tile<R, 4>(W, stride, cols, r0, x, t, y, rows);
  switch (t0 + nt - t) {
    case 3:
      Fmt::template tile<R, 3>(W, stride, cols, r0, x, t, y, rows);
      break;
    case 2:
      Fmt::template tile<R, 2>(W, stride, cols, r0, x, t, y, rows);
      break;
    case 1:
      Fmt::template tile<R, 1>(W, stride, cols, r0, x, t, y, rows);
      break;
    default:
      break;
  }
}

// The MatmulRowsFn body. One token (decode): 4 rows per pass, streaming the
// weights once. Several (prefill): tokens in blocks whose activations stay in
// L2, and for each block 2 rows x 4 tokens per pass.
template <class Fmt>
void matmul_rows(const uint8_t* W, size_t stride, int64_t cols, int64_t row_begin, int64_t row_end, const float* x,
                 int64_t n_tokens, float* y, int64_t rows) {
  if (n_tokens == 1) {
    int64_t r = row_begin;
    for (; r + 4 <= row_end; r += 4) Fmt::template tile<4, 1>(W, stride, cols, r, x, 0, y, rows);
    for (; r < row_end; ++r) Fmt::template tile<1, 1>(W, stride, cols, r, x, 0, y, rows);
    return;
  }
  constexpr int64_t kTokenBlockBytes = 128 * 1024;
  int64_t block = cols > 0 ? kTokenBlockBytes / (cols * static_cast<int64_t>(sizeof(float))) : n_tokens;
  block = block < 4 ? 4 : block & ~int64_t{3};
  for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
    const int64_t nt = n_tokens - t0 < block ? n_tokens - t0 : block;
    int64_t r = row_begin;
    for (; r + 2 <= row_end; r += 2) token_tiles<Fmt, 2>(W, stride, cols, r, x, t0, nt, y, rows);
    for (; r < row_end; ++r) token_tiles<Fmt, 1>(W, stride, cols, r, x, t0, nt, y, rows);
  }
}

}  // namespace tessera::kernels::avx2::kquant
