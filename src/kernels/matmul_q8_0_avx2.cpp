// AVX2 matmul with Q8_0 weights: per block, the 32 int8 quants widen to
// floats, dot with x, and the block's fp16 scale multiplies the dot once.
#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_tile_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

struct Q8_0Format {
  static constexpr size_t kStepBytes = sizeof(BlockQ8_0);
  static constexpr bool kScaled = true;
  static_assert(kQK8_0 == kStepCols);

  static void decode(const uint8_t* p, __m256* w) {
    const uint8_t* qs = p + offsetof(BlockQ8_0, qs);
    for (int v = 0; v < 4; ++v)
      w[v] =
          _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8 * v))));
  }
  static float scale(const uint8_t* p) { return fp16_to_float(p + offsetof(BlockQ8_0, d)); }
};

}  // namespace

void matmul_q8_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows<Q8_0Format>(W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
