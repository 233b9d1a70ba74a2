// AVX-512 bodies of the roofline microbenchmarks: the peaks of the
// instructions the AVX-512 tier's kernels use (zmm loads, zmm FMA, vpdpbusd).
#include "kernels/simd_avx512.h"

#include <cstddef>
#include <cstdint>

namespace tessera::kernels::TESSERA_AVX512_NS {

// Sum of n floats (n a multiple of 64), four independent accumulators.
float roofline_read(const float* p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  alignas(64) float out[16];
  _mm512_storeu_ps(out, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  float s = 0;
  for (float v : out) s += v;
  return s;
}

// `iters` rounds of 10 independent 16-lane FMAs: 320 FLOP per round.
float roofline_fma(int64_t iters, float seed) {
  __m512 acc[10];
  for (int k = 0; k < 10; ++k) acc[k] = _mm512_set1_ps(seed + static_cast<float>(k));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 10; ++k) acc[k] = _mm512_fmadd_ps(acc[k], m, c);
  __m512 s = acc[0];
  for (int k = 1; k < 10; ++k) s = _mm512_add_ps(s, acc[k]);
  alignas(64) float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

// `iters` rounds of 10 independent vpdpbusd (64 u8 x s8 multiply-adds each):
// 1280 integer ops per round, the instruction the tier's int8 matmuls use.
int32_t roofline_int8(int64_t iters, int32_t seed) {
  __m512i acc[10];
  for (int k = 0; k < 10; ++k) acc[k] = _mm512_set1_epi32(seed + k);
  const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 10; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], u, s);
  __m512i sum = acc[0];
  for (int k = 1; k < 10; ++k) sum = _mm512_add_epi32(sum, acc[k]);
  alignas(64) int32_t out[16];
  _mm512_storeu_si512(out, sum);
  return out[0];
}

}  // namespace tessera::kernels::TESSERA_AVX512_NS
