// AVX2 matmul of Q4_0 / Q8_0 weights repacked 8 rows at a time (layout rows8,
// kernels/weight_repack.h) with Q8x32 activations (matmul_rows8_avx2.h): per
// block and token, one conversion and one FMA for 8 rows, and the 8 rows'
// scales are one load.
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_rows8_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

// Q4_0: quants are q + 8 in 0..15, so a block's 8 vpmaddubsw results can be
// summed in 16 bits: |8 * (15 * 127 * 2)| = 30480 < 32768 (activations are
// never -128). The offset comes off once per block: 8 * the activation sum.
struct Q4_0Rows8 {
  static constexpr int64_t kQuantBytes = 16;
  static constexpr bool kPrefetch = true;  // decode: +25-30% into L1, 1.5x more into L2 (matmul_rows8_avx2.h)

  template <int T>
  static void block(const uint8_t* quants, const TokenRows<T>& x, int64_t b, __m256i* sum32) {
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    __m256i sum16[T];
    for (int t = 0; t < T; ++t) sum16[t] = _mm256_setzero_si256();
    for (int k = 0; k < 4; ++k) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 32 * k));
      const __m256i lo = _mm256_and_si256(v, nibble);                         // columns 4k .. 4k+3
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);  // columns 4k+16 .. 4k+19
      for (int t = 0; t < T; ++t) {
        const int8_t* xb = x.q[t] + b * 32;
        sum16[t] = in_order(_mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(lo, broadcast_i32(xb + 4 * k))));
        sum16[t] = in_order(_mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(hi, broadcast_i32(xb + 16 + 4 * k))));
      }
    }
    for (int t = 0; t < T; ++t)
      sum32[t] = _mm256_sub_epi32(_mm256_madd_epi16(sum16[t], _mm256_set1_epi16(1)), _mm256_set1_epi32(x.s[t][b] * 8));
  }
};

// Q8_0: signed quants, so vpmaddubsw takes |w| and x with w's sign; its 16-bit
// sums reach 32512 and are widened after every load.
struct Q8_0Rows8 {
  static constexpr int64_t kQuantBytes = 32;
  static constexpr bool kPrefetch = true;  // decode +9% on huge pages into L1, 1.1x more into L2

  template <int T>
  static void block(const uint8_t* quants, const TokenRows<T>& x, int64_t b, __m256i* sum32) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int t = 0; t < T; ++t) sum32[t] = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 32 * k));
      const __m256i w_abs = _mm256_sign_epi8(w, w);
      for (int t = 0; t < T; ++t) {
        const __m256i xs = _mm256_sign_epi8(broadcast_i32(x.q[t] + b * 32 + 4 * k), w);
        sum32[t] = in_order(_mm256_add_epi32(sum32[t], _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, xs), ones)));
      }
    }
  }
};

// A whole row group: per block, Fmt's int32 sums, then one FMA per token with
// the 8 rows' scales (one load) times the token's.
template <class Fmt>
struct BlockRows8 {
  template <int T>
  using Rows = TokenRows<T>;
  template <int T>
  static void run(const uint8_t* G, int64_t cols, const TokenRows<T>& x, __m256* acc) {
    const int64_t blocks = cols / 32;
    const uint8_t* scales = G;
    const uint8_t* quants = G + 16 * blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      if constexpr (Fmt::kPrefetch && T == 1)  // decode: into L2 (matmul_rows8_avx2.h)
        prefetch_to_l2<8 * Fmt::kQuantBytes / 64>(quants + 8 * Fmt::kQuantBytes * b);
      else if constexpr (Fmt::kPrefetch)
        prefetch_ahead<8 * Fmt::kQuantBytes / 64>(quants + 8 * Fmt::kQuantBytes * b);
      __m256i sum32[T];
      Fmt::template block<T>(quants + 8 * Fmt::kQuantBytes * b, x, b, sum32);
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 16 * b)));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256 d = _mm256_mul_ps(dw, _mm256_broadcast_ss(x.d[t] + b));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum32[t]), d, acc[t]);
      }
    }
  }
};

}  // namespace

// Rows past the last whole group of 8 are plain: the plain kernels do them.
void matmul_q4_0_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows) {
  const int64_t r = rows8_groups<BlockRows8<Q4_0Rows8>>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
  if (r < row_end) matmul_q4_0_q8_rows(W, row_stride, cols, r, row_end, xq, xq_stride, n_tokens, y, rows);
}

void matmul_q8_0_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows) {
  const int64_t r = rows8_groups<BlockRows8<Q8_0Rows8>>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
  if (r < row_end) matmul_q8_0_q8_rows(W, row_stride, cols, r, row_end, xq, xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
