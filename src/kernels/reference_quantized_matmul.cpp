// The exact integer-dot matmul (ref::matmul_quantized): what the int8-activation
// kernels compute, up to the order of float additions.
#include <cstring>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/quantized_activations.h"
#include "kernels/reference.h"
#include "kernels/reference_kquants.h"

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

// Sub-block b % 8 of a Q4_K super-block as integers 0..15, with its scale
// d * sc and min dmin * m: weight = scale * q - min.
float q4_k_sub_block(const uint8_t* p, int64_t b, int32_t* w, float* min) {
  BlockQ4_K s;
  std::memcpy(&s, p + (b / 8) * sizeof s, sizeof s);
  const int j = static_cast<int>(b % 8);
  int sc, m;
  q4_k_scale_min(s.scales, j, &sc, &m);
  const uint8_t* q = s.qs + 32 * (j / 2);
  for (int l = 0; l < kBlock; ++l) w[l] = (q[l] >> (4 * (j % 2))) & 15;
  *min = fp16_to_fp32(s.dmin) * static_cast<float>(m);
  return fp16_to_fp32(s.d) * static_cast<float>(sc);
}

// Block b % 8 (32 columns) of a Q6_K super-block as integers sc * (q - 32),
// sc the scale of each 16-column half; returns the super-block's d.
float q6_k_block(const uint8_t* p, int64_t b, int32_t* w) {
  BlockQ6_K s;
  std::memcpy(&s, p + (b / 8) * sizeof s, sizeof s);
  const int h = static_cast<int>(b % 8) / 4, part = static_cast<int>(b % 4);
  const uint8_t* lo = s.ql + 64 * h + 32 * (part & 1);
  const uint8_t* hi = s.qh + 32 * h;
  for (int l = 0; l < kBlock; ++l) {
    const int q = ((lo[l] >> (part < 2 ? 0 : 4)) & 15) | ((hi[l] >> (2 * part)) & 3) << 4;
    w[l] = s.scales[8 * h + 2 * part + l / 16] * (q - 32);
  }
  return fp16_to_fp32(s.d);
}

}  // namespace

void matmul_quantized(DType type, ActFormat act, const void* W, int64_t rows, int64_t cols, const uint8_t* xq,
                      size_t xq_stride, int64_t n_tokens, float* y) {
  if (act != ActFormat::Q8x32 || (type != DType::Q8_0 && type != DType::Q4_0 && type != DType::Q4_K &&
                                  type != DType::Q6_K))
    fail("matmul_quantized: no reference for {} weights with activation format {}", dtype_name(type),
         static_cast<int>(act));
  const size_t stride = row_bytes(type, cols);
  const size_t block_bytes = dtype_info(type).block_bytes;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(W) + r * stride;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const auto* q = reinterpret_cast<const int8_t*>(xq + t * xq_stride);
      const uint8_t* scales = xq + t * xq_stride + cols;
      const uint8_t* sums = scales + (cols / kBlock + 7) / 8 * 8 * sizeof(float);
      double sum = 0.0;
      for (int64_t b = 0; b < cols / kBlock; ++b) {
        int32_t w[kBlock];
        float min = 0.0f;
        const float dw = type == DType::Q4_K   ? q4_k_sub_block(row, b, w, &min)
                         : type == DType::Q6_K ? q6_k_block(row, b, w)
                                               : weight_block(type, row + b * block_bytes, w);
        float dx;
        int32_t sx;
        std::memcpy(&dx, scales + b * sizeof(float), sizeof dx);
        std::memcpy(&sx, sums + b * sizeof(int32_t), sizeof sx);
        int32_t dot = 0;
        for (int j = 0; j < kBlock; ++j) dot += w[j] * q[b * kBlock + j];
        // Kernels round d_w * d_x (and Q4_K's min * (d_x * s_x)) the same way;
        // they differ only in how they sum.
        sum += static_cast<double>((dw * dx) * static_cast<float>(dot));
        if (type == DType::Q4_K) sum -= static_cast<double>(min * (dx * static_cast<float>(sx)));
      }
      y[t * rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace tessera::kernels::ref
