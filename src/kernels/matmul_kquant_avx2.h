// Row and token blocking shared by the K-quant AVX2 matmuls (matmul_q4_k_avx2.cpp,
// matmul_q6_k_avx2.cpp); include it nowhere else. The blocking is
// matmul_tile_avx2.h's, around tiles that each format writes itself: K-quant
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

#include "kernels/matmul_tile_avx2.h"

namespace tessera::kernels::avx2::kquant {

inline constexpr int64_t kBlockCols = 256;

// Asks for the block `ahead` super-blocks past p: without it, rows of Q6_K
// (210-byte blocks read in unaligned 32-byte pieces) stream at half speed.
template <size_t kBlockBytes>
inline void prefetch_block(const uint8_t* p, int ahead) {
  const uint8_t* next = p + static_cast<size_t>(ahead) * kBlockBytes;
  for (size_t off = 0; off < kBlockBytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(next + off), _MM_HINT_T0);
}

// The blocking of matmul_tile_avx2.h around the format's own tiles.
template <class Fmt>
void matmul_rows(const uint8_t* W, size_t stride, int64_t cols, int64_t row_begin, int64_t row_end, const float* x,
                 int64_t n_tokens, float* y, int64_t rows) {
  blocked_rows<Fmt>(W, stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2::kquant
