// AVX2 matmul of Q6_K weights repacked 8 rows at a time (layout rows8,
// kernels/weight_repack.h) with Q8x256 activations (matmul_rows8_avx2.h).
//
// A Q6_K weight is d * sc * (q - 32), q in 0..63, sc an int8 scale per 16
// columns. The kernel keeps w = q - 32 signed and multiplies |w| by x with the
// sign of w moved onto x (vpmaddubsw needs one unsigned operand): |w| <= 32
// keeps the 16 products of a 16-column sub-block within 16 bits (8 * 32 * 127
// per lane half), where q itself (up to 63) would overflow beyond 8 columns.
// Each sub-block's sum is scaled by sc in the integer domain (vpmaddwd) and
// summed over the super-block, which shares one activation scale d_x, so a
// super-block costs one conversion and one FMA per token:
//   acc += (d * d_x) * sum(sc * dot)
#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_rows8_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

constexpr int64_t kGroupBytes = 8 * sizeof(BlockQ6_K);  // one super-block of 8 rows
constexpr int64_t kQhOffset = 1024, kDOffset = 1536, kScalesOffset = 1552;

// Block `Part` (32 columns) of half h: low 4 bits from ql chunk 16h + 8 (Part & 1) + c,
// nibble Part / 2; high 2 bits from qh chunk 8h + c, bits 2 Part.
template <int Part>
__m256i weights_minus_32(const uint8_t* S, int h, int c) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), high2 = _mm256_set1_epi8(0x30);
  const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(S + 32 * (16 * h + 8 * (Part & 1) + c)));
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(S + kQhOffset + 32 * (8 * h + c)));
  const __m256i lo = _mm256_and_si256(Part < 2 ? l : _mm256_srli_epi16(l, 4), low4);
  __m256i hi;  // bits 2 Part .. 2 Part + 1 moved to bits 4..5
  if (Part == 0) hi = _mm256_slli_epi16(qh, 4);
  if (Part == 1) hi = _mm256_slli_epi16(qh, 2);
  if (Part == 2) hi = qh;
  if (Part == 3) hi = _mm256_srli_epi16(qh, 2);
  return _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_and_si256(hi, high2)), _mm256_set1_epi8(32));
}

struct Q6_KRows8 {
  template <int T>
  using Rows = TokenRows256<T>;

  // Adds sc * (16-column dot) of sub-block `sub` of block Part for each token to
  // dot32; the block's activations start at column col.
  template <int T, int Part>
  static void sub_block(const uint8_t* S, int h, int sub, __m256i sc, const Rows<T>& x, int64_t col,
                        __m256i* dot32) {
    __m256i sum16[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) sum16[t] = _mm256_setzero_si256();
    for (int c = 4 * sub; c < 4 * sub + 4; ++c) {
      const __m256i w = weights_minus_32<Part>(S, h, c);
      const __m256i aw = _mm256_abs_epi8(w);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i xs = _mm256_sign_epi8(broadcast_i32(x.q[t] + col + 4 * c), w);
        sum16[t] = in_order(_mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(aw, xs)));
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) dot32[t] = _mm256_add_epi32(dot32[t], _mm256_madd_epi16(sum16[t], sc));
  }

  template <int T, int Part>
  static void block(const uint8_t* S, int h, const Rows<T>& x, int64_t col, __m256i* dot32) {
    prefetch_ahead<4, 4096>(S + 210 * (4 * h + Part));  // 8 x 4 lines cover the 1680-byte super-block
    // Row i's two scales as int16 in lane i; each copied into both halves of the lane.
    const __m256i scales = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(S + kScalesOffset + 16 * (4 * h + Part))));
    const __m256i sc_lo = _mm256_blend_epi16(scales, _mm256_slli_epi32(scales, 16), 0xaa);
    const __m256i sc_hi = _mm256_blend_epi16(_mm256_srli_epi32(scales, 16), scales, 0xaa);
    sub_block<T, Part>(S, h, 0, sc_lo, x, col, dot32);
    sub_block<T, Part>(S, h, 1, sc_hi, x, col, dot32);
  }

  template <int T>
  static void run(const uint8_t* G, int64_t cols, const Rows<T>& x, __m256* acc) {
    for (int64_t s = 0; s < cols / kQK_K; ++s) {
      const uint8_t* S = G + kGroupBytes * s;
      __m256i dot32[T];
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) dot32[t] = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        const int64_t col = kQK_K * s + 128 * h;  // activations of Part 0
        block<T, 0>(S, h, x, col, dot32);
        block<T, 1>(S, h, x, col + 32, dot32);
        block<T, 2>(S, h, x, col + 64, dot32);
        block<T, 3>(S, h, x, col + 96, dot32);
      }
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(S + kDOffset)));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t)
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot32[t]), _mm256_mul_ps(d, _mm256_broadcast_ss(x.d[t] + s)),
                                 acc[t]);
    }
  }
};

}  // namespace

void matmul_q6_k_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows) {
  rows8_matmul<Q6_KRows8>(DType::Q6_K, ActFormat::Q8x256, W, row_stride, cols, row_begin, row_end, xq, xq_stride,
                          n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
