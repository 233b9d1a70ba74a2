#include "kernels/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/reference_formats.h"
#include "kernels/reference_kquants.h"

namespace tessera::kernels::ref {
namespace {

void check_blocks(DType type, int64_t n, int block) {
  if (n < 0 || n % block != 0)
    fail("row of {} elements is not a whole number of {} blocks ({} elements each)", n, dtype_name(type), block);
}

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < kQK8_0; ++j) y[i * kQK8_0 + j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[i * kQK4_0 + j] = d * static_cast<float>((b[i].qs[j] & 0x0f) - 8);
      y[i * kQK4_0 + j + kQK4_0 / 2] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

// round-half-away-from-zero (roundf). Finite inputs give |q| <= 127; the
// clamps only keep inf/nan inputs defined.
int8_t q8_0_quant(float scaled) {
  const float q = std::round(scaled);
  if (q >= 127.0f) return 127;
  if (q <= -127.0f) return -127;
  if (q == q) return static_cast<int8_t>(q);
  return 0;
}

// GGUF Q8_0: d = max|x| / 127, q = round-half-away(x / d), d stored as fp16.
// The quants use the unrounded 1/d, as the GGUF reference does.
void quantize_q8_0(const float* x, BlockQ8_0* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float* v = x + i * kQK8_0;
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK8_0; ++j) b[i].qs[j] = q8_0_quant(v[j] * id);
  }
}

// GGUF Q4_0: the value of largest magnitude (sign kept) maps to -8, so
// d = max / -8; q = min(15, trunc(x / d + 8.5)); element j goes in the low
// nibble of byte j, element j + 16 in its high nibble.
uint8_t q4_0_quant(float scaled) {
  const float v = scaled + 8.5f;
  // Same as min(15, (int8_t)v) for every finite v the quantizer produces
  // (v > 0); also defined for nan.
  if (v >= 15.0f) return 15;
  if (v > 0.0f) return static_cast<uint8_t>(static_cast<int>(v));
  return 0;
}

void quantize_q4_0(const float* x, BlockQ4_0* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const float* v = x + i * kQK4_0;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(v[j])) {  // first of equal magnitudes wins
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const uint8_t lo = q4_0_quant(v[j] * id);
      const uint8_t hi = q4_0_quant(v[j + kQK4_0 / 2] * id);
      b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

}  // namespace

bool supports(DType type) {
  switch (type) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_K:
    case DType::Q6_K:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q5_K:
    case DType::IQ4_NL:
    case DType::IQ4_XS:
      return true;
    default:
      return false;
  }
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case DType::F32:
      check_blocks(type, n, 1);
      if (n > 0) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      check_blocks(type, n, 1);
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
      return;
    }
    case DType::BF16: {
      check_blocks(type, n, 1);
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
      return;
    }
    case DType::Q8_0:
      check_blocks(type, n, kQK8_0);
      dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, n);
      return;
    case DType::Q4_0:
      check_blocks(type, n, kQK4_0);
      dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, n);
      return;
    case DType::Q4_K:
      check_blocks(type, n, kQK_K);
      dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, n);
      return;
    case DType::Q6_K:
      check_blocks(type, n, kQK_K);
      dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, n);
      return;
    case DType::Q4_1:
      check_blocks(type, n, kQK4_0);
      dequantize_q4_1(static_cast<const BlockQ4_1*>(src), dst, n);
      return;
    case DType::Q5_0:
      check_blocks(type, n, kQK4_0);
      dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, n);
      return;
    case DType::Q5_1:
      check_blocks(type, n, kQK4_0);
      dequantize_q5_1(static_cast<const BlockQ5_1*>(src), dst, n);
      return;
    case DType::IQ4_NL:
      check_blocks(type, n, kQK4_0);
      dequantize_iq4_nl(static_cast<const BlockIQ4_NL*>(src), dst, n);
      return;
    case DType::Q2_K:
      check_blocks(type, n, kQK_K);
      dequantize_q2_k(static_cast<const BlockQ2_K*>(src), dst, n);
      return;
    case DType::Q3_K:
      check_blocks(type, n, kQK_K);
      dequantize_q3_k(static_cast<const BlockQ3_K*>(src), dst, n);
      return;
    case DType::Q5_K:
      check_blocks(type, n, kQK_K);
      dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, n);
      return;
    case DType::IQ4_XS:
      check_blocks(type, n, kQK_K);
      dequantize_iq4_xs(static_cast<const BlockIQ4_XS*>(src), dst, n);
      return;
    default:
      fail("dequantize_row: no kernel for tensor type {}", dtype_name(type));
  }
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
  switch (type) {
    case DType::F32:
      check_blocks(type, n, 1);
      if (n > 0) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      check_blocks(type, n, 1);
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
      return;
    }
    case DType::BF16: {
      check_blocks(type, n, 1);
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
      return;
    }
    case DType::Q8_0:
      check_blocks(type, n, kQK8_0);
      quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), n);
      return;
    case DType::Q4_0:
      check_blocks(type, n, kQK4_0);
      quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), n);
      return;
    case DType::Q4_K:
      check_blocks(type, n, kQK_K);
      quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), n);
      return;
    case DType::Q6_K:
      check_blocks(type, n, kQK_K);
      quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), n);
      return;
    case DType::Q4_1:
      check_blocks(type, n, kQK4_0);
      quantize_q4_1(src, static_cast<BlockQ4_1*>(dst), n);
      return;
    case DType::Q5_0:
      check_blocks(type, n, kQK4_0);
      quantize_q5_0(src, static_cast<BlockQ5_0*>(dst), n);
      return;
    case DType::Q5_1:
      check_blocks(type, n, kQK4_0);
      quantize_q5_1(src, static_cast<BlockQ5_1*>(dst), n);
      return;
    case DType::IQ4_NL:
      check_blocks(type, n, kQK4_0);
      quantize_iq4_nl(src, static_cast<BlockIQ4_NL*>(dst), n);
      return;
    case DType::Q2_K:
      check_blocks(type, n, kQK_K);
      quantize_q2_k(src, static_cast<BlockQ2_K*>(dst), n);
      return;
    case DType::Q3_K:
      check_blocks(type, n, kQK_K);
      quantize_q3_k(src, static_cast<BlockQ3_K*>(dst), n);
      return;
    case DType::Q5_K:
      check_blocks(type, n, kQK_K);
      quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), n);
      return;
    case DType::IQ4_XS:
      check_blocks(type, n, kQK_K);
      quantize_iq4_xs(src, static_cast<BlockIQ4_XS*>(dst), n);
      return;
    default:
      fail("quantize_row: no kernel for tensor type {}", dtype_name(type));
  }
}

void matmul(DType type, const void* W, int64_t rows, int64_t cols, const float* x, int64_t n_tokens,
            float* y) {
  const size_t stride = row_bytes(type, cols);
  std::vector<float> w(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(type, static_cast<const uint8_t*>(W) + r * stride, w.data(), cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* xt = x + t * cols;
      float sum = 0.0f;
      for (int64_t c = 0; c < cols; ++c) sum += w[c] * xt[c];
      y[t * rows + r] = sum;
    }
  }
}

void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void rope(float* x, int64_t n_heads, int64_t pos, const RopeParams& p) {
  const int64_t half = p.rot_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    double theta = static_cast<double>(pos) * p.freq_scale *
                   std::pow(static_cast<double>(p.freq_base), -2.0 * static_cast<double>(i) / p.rot_dim);
    if (p.freq_factors) theta /= p.freq_factors[i];
    const double c = std::cos(theta) * p.attn_factor, s = std::sin(theta) * p.attn_factor;
    // Normal (GGUF `llama`) mode rotates dims (2i, 2i+1); neox mode (i, i + half).
    const int64_t a = p.neox ? i : 2 * i;
    const int64_t b = p.neox ? i + half : 2 * i + 1;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + h * p.head_dim;
      const double x0 = v[a], x1 = v[b];
      v[a] = static_cast<float>(x0 * c - x1 * s);
      v[b] = static_cast<float>(x0 * s + x1 * c);
    }
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

// (x - mean) / sqrt(var + eps) * weight + bias, mean and variance in double.
void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const double scale = 1.0 / std::sqrt(var / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>((x[i] - mean) * scale) * weight[i] + (bias ? bias[i] : 0.0f);
}

// GELU, tanh approximation (GPT-2's "gelu_new").
void gelu(float* out, const float* x, int64_t n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
  }
}

}  // namespace tessera::kernels::ref
