// AVX-512 VNNI matmul of Q6_K weights repacked 16 rows at a time (layout rows16,
// kernels/weight_repack.h) with Q8x256 activations (matmul_rows16_avx512.h).
//
// A Q6_K weight is d * sc * (q - 32), q in 0..63, sc an int8 scale per 16
// columns. The kernel keeps w = q - 32 signed and gives vpdpbusd |w| as its
// unsigned operand and x with the sign of w (a masked byte negation; AVX-512
// has no vpsignb). Each 16-column sub-block's int32 dot is scaled by sc
// (vpmulld) and summed over the super-block, which shares one activation
// scale d_x: per super-block and token, one conversion and one FMA.
#include "core/blocks.h"
#include "kernels/avx512_kernels.h"
#include "kernels/matmul_rows16_avx512.h"

namespace tessera::kernels::TESSERA_AVX512_NS {
namespace {

constexpr int64_t kGroupBytes = 16 * sizeof(BlockQ6_K);  // one super-block of 16 rows
constexpr int64_t kScalesOffset = 32, kHalfOffset = 288, kHalfBytes = 1536;

// Block `Part` (32 columns) of half h, chunk c: low 4 bits from ql chunk
// 16h + 8 (Part & 1) + c, nibble Part / 2; high 2 bits from qh chunk 8h + c,
// bits 2 Part (each half: ql chunk 16h + c then qh chunk 8h + c for c < 8,
// then ql chunks 16h + 8 .. 16h + 15, the order Part 0 and 1 read them). Returns q - 32.
template <int Part>
__m512i weights_minus_32(const uint8_t* S, int h, int c) {
  const __m512i low4 = _mm512_set1_epi8(0x0f), high2 = _mm512_set1_epi8(0x30);
  const uint8_t* half = S + kHalfOffset + kHalfBytes * h;
  const __m512i l = load512(half + ((Part & 1) ? 1024 + 64 * c : 128 * c));
  const __m512i qh = load512(half + 128 * c + 64);
  const __m512i lo = _mm512_and_si512(Part < 2 ? l : _mm512_srli_epi16(l, 4), low4);
  __m512i hi;  // bits 2 Part .. 2 Part + 1 moved to bits 4..5
  if (Part == 0) hi = _mm512_slli_epi16(qh, 4);
  if (Part == 1) hi = _mm512_slli_epi16(qh, 2);
  if (Part == 2) hi = qh;
  if (Part == 3) hi = _mm512_srli_epi16(qh, 2);
  return _mm512_sub_epi8(_mm512_or_si512(lo, _mm512_and_si512(hi, high2)), _mm512_set1_epi8(32));
}

struct Q6_KRows16 {
  template <int T>
  using Rows = TokenRows256<T>;

  // Adds sc * (16-column dot) of sub-block `sub` of block Part to dot[t]; the
  // block's activations start at column col.
  template <int T, int Part>
  static void sub_block(const uint8_t* S, int h, int sub, __m512i sc, const Rows<T>& x, int64_t col, __m512i* dot) {
    __m512i d[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) d[t] = _mm512_setzero_si512();
    for (int c = 4 * sub; c < 4 * sub + 4; ++c) {
      const __m512i w = weights_minus_32<Part>(S, h, c);
      const __m512i aw = _mm512_abs_epi8(w);
      const __mmask64 negative = _mm512_movepi8_mask(w);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512i xb = broadcast_i32(x.q[t] + col + 4 * c);
        d[t] = _mm512_dpbusd_epi32(d[t], aw, _mm512_mask_sub_epi8(xb, negative, _mm512_setzero_si512(), xb));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) dot[t] = _mm512_add_epi32(dot[t], _mm512_mullo_epi32(d[t], sc));
  }

  template <int T, int Part>
  static void block(const uint8_t* S, int h, const Rows<T>& x, int64_t col, __m512i* dot) {
    if constexpr (T > 1)  // one token leaves the in-order group to the hardware (matmul_rows16_avx512.h)
      prefetch_to_l2<7>(S + 420 * (4 * h + Part));  // 8 x 7 lines cover the 3360-byte super-block
    // Row i's two scales as int16 in lane i, then each sign-extended to int32.
    const __m512i pairs = _mm512_cvtepi8_epi16(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(S + kScalesOffset + 32 * (4 * h + Part))));
    const __m512i sc_lo = _mm512_srai_epi32(_mm512_slli_epi32(pairs, 16), 16);
    const __m512i sc_hi = _mm512_srai_epi32(pairs, 16);
    sub_block<T, Part>(S, h, 0, sc_lo, x, col, dot);
    sub_block<T, Part>(S, h, 1, sc_hi, x, col, dot);
  }

  template <int T>
  static void run(const uint8_t* G, int64_t cols, const Rows<T>& x, __m512* acc) {
    for (int64_t s = 0; s < cols / kQK_K; ++s) {
      const uint8_t* S = G + kGroupBytes * s;
      __m512i dot[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) dot[t] = _mm512_setzero_si512();
      for (int h = 0; h < 2; ++h) {
        const int64_t col = kQK_K * s + 128 * h;  // activations of Part 0
        block<T, 0>(S, h, x, col, dot);
        block<T, 1>(S, h, x, col + 32, dot);
        block<T, 2>(S, h, x, col + 64, dot);
        block<T, 3>(S, h, x, col + 96, dot);
      }
      const __m512 d = load_fp16x16(S);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t]), _mm512_mul_ps(d, _mm512_set1_ps(x.d[t][s])), acc[t]);
    }
  }
};

}  // namespace

void matmul_q6_k_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows) {
  rows16_matmul<Q6_KRows16>(DType::Q6_K, ActFormat::Q8x256, W, row_stride, cols, row_begin, row_end, xq, xq_stride,
                            n_tokens, y, rows);
}

}  // namespace tessera::kernels::TESSERA_AVX512_NS
