// AVX2 matmul with F32 weights.
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_tile_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

struct F32Format {
  static constexpr size_t kStepBytes = kStepCols * sizeof(float);
  static constexpr bool kScaled = false;

  static void decode(const uint8_t* p, __m256* w) {
    const auto* f = reinterpret_cast<const float*>(p);
    for (int v = 0; v < 4; ++v) w[v] = _mm256_loadu_ps(f + 8 * v);
  }
  static __m256 load8(const uint8_t* row, int64_t c, int64_t n) {
    return _mm256_maskload_ps(reinterpret_cast<const float*>(row) + c, tail_mask(n));
  }
};

}  // namespace

void matmul_f32_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows<F32Format>(W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
