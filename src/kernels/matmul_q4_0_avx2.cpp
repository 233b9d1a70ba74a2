// AVX2 matmul with Q4_0 weights: per block, the 16 bytes split into low
// nibbles (elements 0-15) and high nibbles (elements 16-31), minus 8, widen to
// floats, dot with x, and the block's fp16 scale multiplies the dot once.
#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_tile_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

__m256 int8x8_to_float(__m128i q) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)); }

struct Q4_0Format {
  static constexpr size_t kStepBytes = sizeof(BlockQ4_0);
  static constexpr bool kScaled = true;
  static_assert(kQK4_0 == kStepCols);

  static void decode(const uint8_t* p, __m256* w) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offsetof(BlockQ4_0, qs)));
    const __m128i nibble = _mm_set1_epi8(0x0f);
    const __m128i eight = _mm_set1_epi8(8);
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(bytes, nibble), eight);
    const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), nibble), eight);
    w[0] = int8x8_to_float(lo);
    w[1] = int8x8_to_float(_mm_unpackhi_epi64(lo, lo));
    w[2] = int8x8_to_float(hi);
    w[3] = int8x8_to_float(_mm_unpackhi_epi64(hi, hi));
  }
  static float scale(const uint8_t* p) { return fp16_to_float(p + offsetof(BlockQ4_0, d)); }
};

}  // namespace

void matmul_q4_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows<Q4_0Format>(W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
