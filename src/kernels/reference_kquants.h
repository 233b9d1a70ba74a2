// Scalar reference conversion of the K-quant formats Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (layouts in
// core/blocks.h). reference.cpp's dequantize_row / quantize_row call these;
// n is a multiple of kQK_K, checked by the caller.
#pragma once

#include <cstdint>

#include "core/blocks.h"

namespace tessera::kernels::ref {

void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t n);
void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t n);
void dequantize_q2_k(const BlockQ2_K* b, float* y, int64_t n);
void dequantize_q3_k(const BlockQ3_K* b, float* y, int64_t n);
void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t n);

// Bit for bit what GGUF's reference quantizers (no importance matrix) write;
// see reference_kquants.cpp for the search each one runs.
void quantize_q4_k(const float* x, BlockQ4_K* b, int64_t n);
void quantize_q6_k(const float* x, BlockQ6_K* b, int64_t n);
void quantize_q2_k(const float* x, BlockQ2_K* b, int64_t n);
void quantize_q3_k(const float* x, BlockQ3_K* b, int64_t n);
void quantize_q5_k(const float* x, BlockQ5_K* b, int64_t n);

// Sub-block j's 6-bit scale and min from a Q4_K block's packed `scales`.
// (inline: the AVX2 kernels decode them per super-block)
inline void q4_k_scale_min(const uint8_t* scales, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4;
    *m = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4;
  }
}
// Sub-block k's signed scale (-32..31) from a Q3_K block's packed `scales`.
inline int q3_k_scale(const uint8_t* scales, int k) {
  const int low = k < 8 ? scales[k] & 15 : scales[k - 8] >> 4;
  return (low | ((scales[8 + k % 4] >> (2 * (k / 4))) & 3) << 4) - 32;
}

}  // namespace tessera::kernels::ref
