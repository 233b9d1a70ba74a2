// Q4_1, Q5_0 and Q5_1 reference conversion: GGUF's reference quantizers, with
// every float operation in their order so that the bytes match (see
// reference_kquants.cpp for why expressions are kept as they are).
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "kernels/reference_formats.h"

#ifdef __clang__
#pragma clang fp contract(off)
#endif

namespace tessera::kernels::ref {
namespace {

constexpr int kBlock = 32;

// GGUF's (int8_t)(v) then MIN(limit, .) for the v >= 0 its quantizers produce;
// nan and out-of-range values become defined results instead of undefined behaviour.
uint8_t truncate_quant(float v, int limit) {
  if (v >= static_cast<float>(limit)) return static_cast<uint8_t>(limit);
  if (v > 0.0f) return static_cast<uint8_t>(static_cast<int>(v));
  return 0;
}

// The smallest and largest value of a block.
void block_range(const float* x, float* lo, float* hi) {
  *lo = FLT_MAX;
  *hi = -FLT_MAX;
  for (int j = 0; j < kBlock; ++j) {
    if (x[j] < *lo) *lo = x[j];
    if (x[j] > *hi) *hi = x[j];
  }
}

// The value of largest magnitude, sign kept (the first of equal magnitudes).
float signed_max(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kBlock; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

// Low nibbles of qs: weights 0..15; high nibbles 16..31; bit j of qh: weight j's fifth bit.
void pack5(const uint8_t* q, uint8_t* qs, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < kBlock / 2; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 15) | (q[j + 16] & 15) << 4);
    bits |= static_cast<uint32_t>(q[j] >> 4) << j | static_cast<uint32_t>(q[j + 16] >> 4) << (j + 16);
  }
  for (int k = 0; k < 4; ++k) qh[k] = static_cast<uint8_t>(bits >> (8 * k));
}

// GGUF Q4_1 / Q5_1 (levels 15 / 31): d = (max - min) / levels, m = min,
// q = trunc((x - min) / d + 0.5), at most `levels`. Writes d and m as fp16.
void quantize_with_min(const float* x, int levels, uint16_t* d_out, uint16_t* m_out, uint8_t* q) {
  float lo, hi;
  block_range(x, &lo, &hi);
  const float d = (hi - lo) / static_cast<float>(levels);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  *d_out = fp32_to_fp16(d);
  *m_out = fp32_to_fp16(lo);
  for (int j = 0; j < kBlock; ++j) q[j] = truncate_quant((x[j] - lo) * id + 0.5f, levels);
}

}  // namespace

int q5_quant(const uint8_t* qs, const uint8_t* qh, int j) {
  const int low = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
  return low | ((qh[j / 8] >> (j % 8)) & 1) << 4;
}

void dequantize_q4_1(const BlockQ4_1* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kBlock; ++i, y += kBlock) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    for (int j = 0; j < kBlock / 2; ++j) {
      y[j] = static_cast<float>(b[i].qs[j] & 15) * d + m;
      y[j + 16] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q5_0(const BlockQ5_0* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kBlock; ++i, y += kBlock) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < kBlock; ++j) y[j] = static_cast<float>(q5_quant(b[i].qs, b[i].qh, j) - 16) * d;
  }
}

void dequantize_q5_1(const BlockQ5_1* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kBlock; ++i, y += kBlock) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    for (int j = 0; j < kBlock; ++j) y[j] = static_cast<float>(q5_quant(b[i].qs, b[i].qh, j)) * d + m;
  }
}

void quantize_q4_1(const float* x, BlockQ4_1* b, int64_t n) {
  for (int64_t i = 0; i < n / kBlock; ++i, x += kBlock) {
    uint8_t q[kBlock];
    quantize_with_min(x, 15, &b[i].d, &b[i].m, q);
    for (int j = 0; j < kBlock / 2; ++j) b[i].qs[j] = static_cast<uint8_t>(q[j] | q[j + 16] << 4);
  }
}

// GGUF Q5_0: the value of largest magnitude maps to -16, d = max / -16,
// q = min(31, trunc(x / d + 16.5)).
void quantize_q5_0(const float* x, BlockQ5_0* b, int64_t n) {
  for (int64_t i = 0; i < n / kBlock; ++i, x += kBlock) {
    const float d = signed_max(x) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    uint8_t q[kBlock];
    for (int j = 0; j < kBlock; ++j) q[j] = truncate_quant(x[j] * id + 16.5f, 31);
    pack5(q, b[i].qs, b[i].qh);
  }
}

void quantize_q5_1(const float* x, BlockQ5_1* b, int64_t n) {
  for (int64_t i = 0; i < n / kBlock; ++i, x += kBlock) {
    uint8_t q[kBlock];
    quantize_with_min(x, 31, &b[i].d, &b[i].m, q);
    pack5(q, b[i].qs, b[i].qh);
  }
}

}  // namespace tessera::kernels::ref
