// AVX2 rmsnorm, softmax, swiglu and exp. Row tails use masked loads and stores, so
// every element goes through the same vector code.
#include "kernels/avx2_kernels.h"
#include "kernels/simd_avx2.h"

namespace tessera::kernels::avx2 {
namespace {

// The 8 floats at p, or the `left` < 8 that remain, zero-padded. Plain loads
// and stores where possible: masked stores are slow on some CPUs.
__m256 load(const float* p, int64_t left) {
  return left >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(left));
}

void store(float* p, int64_t left, __m256 v) {
  if (left >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, tail_mask(left), v);
}

// Lanes at or past `left` replaced by `fill`.
__m256 pad(__m256 v, int64_t left, __m256 fill) {
  return left >= 8 ? v : _mm256_blendv_ps(fill, v, _mm256_castsi256_ps(tail_mask(left)));
}

__m256d add_to_double(__m256d acc, __m256 v) {
  acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

}  // namespace

// Sum of squares in double, as the reference does: rows of a few thousand
// floats lose no precision and this is not a hot loop.
void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 v = load(x + i, n - i);
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    a0 = _mm256_fmadd_pd(lo, lo, a0);
    a1 = _mm256_fmadd_pd(hi, hi, a1);
  }
  const double ms = hsum(_mm256_add_pd(a0, a1)) / static_cast<double>(n) + eps;
  const __m256 scale = _mm256_set1_ps(static_cast<float>(1.0 / __builtin_sqrt(ms)));
  for (int64_t i = 0; i < n; i += 8)
    store(out + i, n - i, _mm256_mul_ps(_mm256_mul_ps(load(x + i, n - i), scale), load(weight + i, n - i)));
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  __m256 vmax = _mm256_set1_ps(x[0]);
  for (int64_t i = 0; i < n; i += 8) vmax = _mm256_max_ps(vmax, pad(load(x + i, n - i), n - i, vmax));
  const __m256 max = _mm256_set1_ps(hmax(vmax));

  __m256d sum = _mm256_setzero_pd();
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 e = pad(exp8(_mm256_sub_ps(load(x + i, n - i), max)), n - i, _mm256_setzero_ps());
    store(x + i, n - i, e);
    sum = add_to_double(sum, e);
  }
  const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / hsum(sum)));
  for (int64_t i = 0; i < n; i += 8) store(x + i, n - i, _mm256_mul_ps(load(x + i, n - i), inv));
}

void swiglu(float* out, const float* gate, const float* up, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 g = load(gate + i, n - i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp8(_mm256_xor_ps(g, sign))));
    store(out + i, n - i, _mm256_mul_ps(silu, load(up + i, n - i)));
  }
}

void exp_row(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) store(y + i, n - i, exp8(load(x + i, n - i)));
}

}  // namespace tessera::kernels::avx2
