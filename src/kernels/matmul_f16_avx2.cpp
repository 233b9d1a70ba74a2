// AVX2 matmul with F16 weights, widened to floats by F16C.
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_tile_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

struct F16Format {
  static constexpr size_t kStepBytes = kStepCols * sizeof(uint16_t);
  static constexpr bool kScaled = false;

  static void decode(const uint8_t* p, __m256* w) {
    for (int v = 0; v < 4; ++v)
      w[v] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * v)));
  }
  static __m256 load8(const uint8_t* row, int64_t c, int64_t n) {
    uint16_t h[8] = {};
    __builtin_memcpy(h, row + c * sizeof(uint16_t), static_cast<size_t>(n) * sizeof(uint16_t));
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
  }
};

}  // namespace

void matmul_f16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows<F16Format>(W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
