// AVX2 bodies of the roofline microbenchmarks (compiled with AVX2 flags only).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace tessera::kernels::avx2 {

// Sum of n floats (n a multiple of 32), four independent accumulators so the
// loop is bound by loads, not by the add latency.
float roofline_read(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

// `iters` rounds of 10 independent 8-lane FMAs: 160 FLOP per round. Ten chains
// cover FMA latency x throughput on current cores.
float roofline_fma(int64_t iters, float seed) {
  __m256 acc[10];
  for (int k = 0; k < 10; ++k) acc[k] = _mm256_set1_ps(seed + static_cast<float>(k));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 10; ++k) acc[k] = _mm256_fmadd_ps(acc[k], m, c);
  __m256 s = acc[0];
  for (int k = 1; k < 10; ++k) s = _mm256_add_ps(s, acc[k]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0];
}

// `iters` rounds of 10 independent vpmaddubsw (32 u8 x s8 multiply-adds each):
// 640 integer ops per round, the instruction the int8 matmuls are built on.
int32_t roofline_int8(int64_t iters, int32_t seed) {
  __m256i acc[10];
  for (int k = 0; k < 10; ++k) acc[k] = _mm256_set1_epi32(seed + k);
  const __m256i m = _mm256_set1_epi8(3);
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 10; ++k) acc[k] = _mm256_maddubs_epi16(acc[k], m);
  __m256i s = acc[0];
  for (int k = 1; k < 10; ++k) s = _mm256_add_epi32(s, acc[k]);
  return _mm256_extract_epi32(s, 0);
}

}  // namespace tessera::kernels::avx2
