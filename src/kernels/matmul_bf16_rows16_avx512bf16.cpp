// AVX-512 BF16 matmul: BF16 weights repacked 16 rows at a time (layout rows16,
// kernels/weight_repack.h) times activations rounded to bf16 once per matmul
// (ActFormat::BF16). One 64-byte load holds a column pair of 16 rows; vdpbf16ps
// multiplies it by the token's pair (x[2p], x[2p+1]) broadcast and adds both
// products to each row's float lane: 32 multiply-adds per instruction, twice
// an fp32 FMA's 16. The weights are used exactly; the activations carry the
// bf16 rounding (relative 2^-9), as in GGUF engines' BF16 paths.
//
// Every (row, token) sum runs over the column pairs in order, whatever the
// tile, so results do not depend on the thread split or batching. Prefill:
// 32 rows x 6 tokens per tile (12 accumulators), row tiles outermost, so a
// tile's weights stay in L2 while the tokens pass. Decode: one group of 16
// rows at a time, one address stream per thread, left to the hardware
// prefetcher. Four groups per pass with 2 KiB software prefetches (four
// streams) streamed 1.3x slower from memory on Zen 4 (kernels_bench decode/).
#include "kernels/avx512_kernels.h"

namespace tessera::kernels::TESSERA_AVX512_NS {
namespace {

// The same 64 bytes as 32 bf16 values.
inline __m512bh as_bf16(__m512i v) {
  __m512bh r;
  __builtin_memcpy(&r, &v, sizeof r);
  return r;
}

inline float bf16_bits_to_float(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

// y[t][r0 .. r0 + 16G) for T tokens from t0; group g at W + (r0 + 16g) * stride.
template <int G, int T>
void bf16_tile(const uint8_t* W, size_t stride, int64_t cols, int64_t r0, const uint8_t* xq, size_t xq_stride,
               int64_t t0, float* y, int64_t rows) {
  const uint8_t* group[G];
  for (int g = 0; g < G; ++g) group[g] = W + (r0 + 16 * g) * stride;
  const uint8_t* xt[T];
  for (int t = 0; t < T; ++t) xt[t] = xq + (t0 + t) * xq_stride;
  __m512 acc[G][T];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[g][t] = _mm512_setzero_ps();
  const int64_t pairs = cols / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    __m512i w[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) w[g] = load512(group[g] + 64 * p);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512bh xb = as_bf16(broadcast_i32(xt[t] + 4 * p));
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) acc[g][t] = _mm512_dpbf16_ps(acc[g][t], as_bf16(w[g]), xb);
    }
  }
  if (cols % 2) {  // the odd last column: 16 rows' bf16 widened to floats, one FMA
    for (int g = 0; g < G; ++g) {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group[g] + 64 * pairs));
      const __m512 wf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepi16_epi32(h), 16));
      for (int t = 0; t < T; ++t) {
        uint16_t xb;
        __builtin_memcpy(&xb, xt[t] + 2 * (cols - 1), sizeof xb);
        acc[g][t] = _mm512_fmadd_ps(wf, _mm512_set1_ps(bf16_bits_to_float(xb)), acc[g][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + (t0 + t) * rows + r0 + 16 * g, acc[g][t]);
}

constexpr int kTokens = 6;

// Groups [r, r + 16G) for all tokens, kTokens at a time, the rest one by one.
template <int G>
void bf16_all_tokens(const uint8_t* W, size_t stride, int64_t cols, int64_t r, const uint8_t* xq, size_t xq_stride,
                     int64_t n_tokens, float* y, int64_t rows) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens) bf16_tile<G, kTokens>(W, stride, cols, r, xq, xq_stride, t, y, rows);
  for (; t < n_tokens; ++t) bf16_tile<G, 1>(W, stride, cols, r, xq, xq_stride, t, y, rows);
}

// Rows past the last whole group of 16 (plain layout): the same products in
// the same column order, scalar.
void plain_rows(const uint8_t* W, size_t stride, int64_t cols, int64_t row_begin, int64_t row_end, const uint8_t* xq,
                size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  for (int64_t r = row_begin; r < row_end; ++r)
    for (int64_t t = 0; t < n_tokens; ++t) {
      float sum = 0.0f;
      for (int64_t c = 0; c < cols; ++c) {
        uint16_t wb, xb;
        __builtin_memcpy(&wb, W + r * stride + 2 * c, sizeof wb);
        __builtin_memcpy(&xb, xq + t * xq_stride + 2 * c, sizeof xb);
        sum += bf16_bits_to_float(wb) * bf16_bits_to_float(xb);
      }
      y[t * rows + r] = sum;
    }
}

}  // namespace

void matmul_bf16_rows16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                             const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  const int64_t full = rows / 16 * 16;
  const int64_t group_end = row_end < full ? row_end : full;
  int64_t r = row_begin;
  if (n_tokens == 1) {
    for (; r < group_end; r += 16) bf16_tile<1, 1>(W, row_stride, cols, r, xq, xq_stride, 0, y, rows);
  } else {
    for (; r + 32 <= group_end; r += 32) bf16_all_tokens<2>(W, row_stride, cols, r, xq, xq_stride, n_tokens, y, rows);
    for (; r < group_end; r += 16) bf16_all_tokens<1>(W, row_stride, cols, r, xq, xq_stride, n_tokens, y, rows);
  }
  if (r < row_end) plain_rows(W, row_stride, cols, r, row_end, xq, xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::TESSERA_AVX512_NS
