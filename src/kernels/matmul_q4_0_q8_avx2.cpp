// AVX2 matmul of Q4_0 weights and Q8x32 activations with integer dot products:
// the block's 16 bytes unpack to 32 unsigned quants (low nibbles are columns
// 0-15, high nibbles 16-31); the tile takes their offset of 8 off afterwards.
#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_q8_tile_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

struct Q4_0Blocks {
  static constexpr size_t kBlockBytes = sizeof(BlockQ4_0);
  static constexpr int kOffset = 8;
  static_assert(kQK4_0 == kQ8Block);

  static __m256i quants(const uint8_t* p) {
    // The 16 bytes in both halves (a load-port broadcast), the upper half shifted
    // down a nibble: one shift and one mask for all 32 quants.
    const __m256i both =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offsetof(BlockQ4_0, qs))));
    const __m256i shifted = _mm256_srlv_epi64(both, _mm256_setr_epi64x(0, 0, 4, 4));
    return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f));
  }
  static uint64_t scale_bits(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p + offsetof(BlockQ4_0, d), sizeof h);
    return h;
  }
};

}  // namespace

void matmul_q4_0_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                         const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  matmul_q8_rows<Q4_0Blocks, MaddubsDot>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
}

}  // namespace tessera::kernels::avx2
