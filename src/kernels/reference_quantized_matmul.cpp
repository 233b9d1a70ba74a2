// The exact integer-dot matmul (ref::matmul_quantized): what the int8-activation
// kernels compute, up to the order of float additions.
#include <cstring>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/quantized_activations.h"
#include "kernels/reference.h"

namespace tessera::kernels::ref {
namespace {

constexpr int kBlock = 32;

// One block of 32 weights as integers in column order; returns its scale.
float weight_block(DType type, const uint8_t* p, int32_t* w) {
  if (type == DType::Q8_0) {
    BlockQ8_0 b;
    std::memcpy(&b, p, sizeof b);
    for (int j = 0; j < kBlock; ++j) w[j] = b.qs[j];
    return fp16_to_fp32(b.d);
  }
  BlockQ4_0 b;
  std::memcpy(&b, p, sizeof b);
  for (int j = 0; j < kBlock / 2; ++j) {
    w[j] = (b.qs[j] & 0x0f) - 8;
    w[j + kBlock / 2] = (b.qs[j] >> 4) - 8;
  }
  return fp16_to_fp32(b.d);
}

}  // namespace

void matmul_quantized(DType type, ActFormat act, const void* W, int64_t rows, int64_t cols, const uint8_t* xq,
                      size_t xq_stride, int64_t n_tokens, float* y) {
  if (act != ActFormat::Q8x32 || (type != DType::Q8_0 && type != DType::Q4_0))
    fail("matmul_quantized: no reference for {} weights with activation format {}", dtype_name(type),
         static_cast<int>(act));
  const size_t stride = row_bytes(type, cols);
  const size_t block_bytes = dtype_info(type).block_bytes;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(W) + r * stride;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const auto* q = reinterpret_cast<const int8_t*>(xq + t * xq_stride);
      const uint8_t* scales = xq + t * xq_stride + cols;
      double sum = 0.0;
      for (int64_t b = 0; b < cols / kBlock; ++b) {
        int32_t w[kBlock];
        const float dw = weight_block(type, row + b * block_bytes, w);
        float dx;
        std::memcpy(&dx, scales + b * sizeof(float), sizeof dx);
        int32_t dot = 0;
        for (int j = 0; j < kBlock; ++j) dot += w[j] * q[b * kBlock + j];
        // Kernels round d_w * d_x the same way; they differ only in how they sum.
        sum += static_cast<double>((dw * dx) * static_cast<float>(dot));
      }
      y[t * rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace tessera::kernels::ref
