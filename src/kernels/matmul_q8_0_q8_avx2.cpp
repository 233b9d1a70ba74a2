// AVX2 matmul of Q8_0 weights and Q8x32 activations with integer dot products:
// the block's 32 int8 quants are used as stored.
#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_q8_tile_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

struct Q8_0Blocks {
  static constexpr size_t kBlockBytes = sizeof(BlockQ8_0);
  static constexpr int kOffset = 0;
  static_assert(kQK8_0 == kQ8Block);

  static __m256i quants(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + offsetof(BlockQ8_0, qs)));
  }
  static uint64_t scale_bits(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p + offsetof(BlockQ8_0, d), sizeof h);
    return h;
  }
};

}  // namespace

void matmul_q8_0_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                         const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  matmul_q8_rows<Q8_0Blocks, MaddubsDot>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
