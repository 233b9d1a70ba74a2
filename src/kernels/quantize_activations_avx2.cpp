// AVX2 activation quantizer: floats to Q8x32 / Q8x256 rows (kernels/quantized_activations.h),
// bit for bit as ref::quantize_activations. Same steps in the same order:
// amax, d = amax / 127, id = 1 / d, q = round_half_even(x * id) clamped.
#include <immintrin.h>

#include "kernels/avx2_kernels.h"
#include "kernels/reference.h"

namespace tessera::kernels::avx2 {
namespace {

// Largest lane; lanes are never nan (see the max order below).
float max8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// round(v * id) as int32 lanes in [-127, 127]; nan lanes become 0, as in the reference.
__m256i quantize8(__m256 v, __m256 id) {
  __m256 q = _mm256_round_ps(_mm256_mul_ps(v, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_and_ps(q, _mm256_cmp_ps(q, q, _CMP_ORD_Q));
  q = _mm256_max_ps(_mm256_min_ps(q, _mm256_set1_ps(127.0f)), _mm256_set1_ps(-127.0f));
  return _mm256_cvtps_epi32(q);
}

// Sum of the 8 int32 lanes.
int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

// max |v| over n floats (n a multiple of 8); max_ps returns its second operand
// when either is nan, so nan inputs are skipped.
float abs_max(const float* p, int64_t n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 amax = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) amax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(p + i), abs_mask), amax);
  return max8(amax);
}

// 32 floats at p times id, rounded, to 32 int8 at q; returns their sum.
int32_t quantize32(const float* p, __m256 vid, uint8_t* q) {
  // packs_epi32 then packs_epi16 leave 4-byte groups in the order 0,2,4,6,1,3,5,7.
  const __m256i unshuffle = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256i q32[4];
  for (int i = 0; i < 4; ++i) q32[i] = quantize8(_mm256_loadu_ps(p + 8 * i), vid);
  const __m256i q01 = _mm256_packs_epi32(q32[0], q32[1]);
  const __m256i q23 = _mm256_packs_epi32(q32[2], q32[3]);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q01, q23), unshuffle));
  return hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q32[0], q32[1]), _mm256_add_epi32(q32[2], q32[3])));
}

// Scale of a block whose largest magnitude is amax, and its reciprocal.
__m256 inverse_scale(float amax, float* d) {
  *d = amax / 127.0f;
  return _mm256_set1_ps(*d != 0.0f ? 1.0f / *d : 0.0f);
}

void quantize_q8x32(const float* x, int64_t cols, uint8_t* dst) {
  const int64_t blocks = cols / 32;
  const int64_t blocks8 = (blocks + 7) / 8 * 8;
  uint8_t* scales = dst + cols;
  uint8_t* sums = scales + blocks8 * 4;
  for (int64_t b = 0; b < blocks; ++b) {
    float d;
    const __m256 vid = inverse_scale(abs_max(x + b * 32, 32), &d);
    const int32_t sum = quantize32(x + b * 32, vid, dst + b * 32);
    __builtin_memcpy(scales + b * 4, &d, sizeof d);
    __builtin_memcpy(sums + b * 4, &sum, sizeof sum);
  }
  // Scales and sums past the last block, and the padding, are zero.
  const int64_t used = cols + blocks8 * 8;
  for (int64_t i = cols + blocks * 4; i < cols + blocks8 * 4; ++i) dst[i] = 0;
  for (int64_t i = cols + blocks8 * 4 + blocks * 4; i < used; ++i) dst[i] = 0;
  for (int64_t i = used; i % 64 != 0; ++i) dst[i] = 0;
}

void quantize_q8x256(const float* x, int64_t cols, uint8_t* dst) {
  const int64_t blocks = cols / 256;
  const int64_t blocks8 = (blocks + 7) / 8 * 8;
  uint8_t* scales = dst + cols;
  uint8_t* sums = scales + blocks8 * 4;
  for (int64_t b = 0; b < blocks; ++b) {
    float d;
    const __m256 vid = inverse_scale(abs_max(x + b * 256, 256), &d);
    for (int k = 0; k < 8; ++k) {
      const auto sum = static_cast<int16_t>(quantize32(x + b * 256 + 32 * k, vid, dst + b * 256 + 32 * k));
      __builtin_memcpy(sums + (8 * b + k) * 2, &sum, sizeof sum);
    }
    __builtin_memcpy(scales + b * 4, &d, sizeof d);
  }
  const int64_t used = cols + blocks8 * 4 + cols / 32 * 2;
  for (int64_t i = cols + blocks * 4; i < cols + blocks8 * 4; ++i) dst[i] = 0;
  for (int64_t i = used; i % 64 != 0; ++i) dst[i] = 0;
}

}  // namespace

void quantize_activations(ActFormat format, const float* x, int64_t cols, uint8_t* dst) {
  if (format == ActFormat::Q8x32 && cols % 32 == 0 && cols >= 0)
    quantize_q8x32(x, cols, dst);
  else if (format == ActFormat::Q8x256 && cols % 256 == 0 && cols >= 0)
    quantize_q8x256(x, cols, dst);
  else
    ref::quantize_activations(format, x, cols, dst);  // other formats, or the error for bad sizes
}

}  // namespace tessera::kernels::avx2
