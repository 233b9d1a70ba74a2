// The exact integer-dot matmul (ref::matmul_quantized): what the int8-activation
// kernels compute, up to the order of float additions.
#include <cstring>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/quantized_activations.h"
#include "kernels/reference.h"
#include "kernels/reference_formats.h"
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

// Super-block s of a Q4_K or Q6_K row against Q8x256 activations (quants q,
// scale dx, 32-column sums): the integer sums the kernels form, scaled once.
// Q4_K: (d * dx) * sum_j sc_j dot_j - (dmin * dx) * sum_j m_j sum_j(x);
// Q6_K: (d * dx) * sum of sc * (q - 32) * x.
double k_quant_super_block(DType type, const uint8_t* row, int64_t s, const int8_t* q, float dx, const uint8_t* sums) {
  if (type == DType::Q6_K) {
    int32_t dot = 0;
    float d = 0.0f;
    for (int64_t b = 8 * s; b < 8 * s + 8; ++b) {
      int32_t w[kBlock];
      d = q6_k_block(row, b, w);
      for (int l = 0; l < kBlock; ++l) dot += w[l] * q[b * kBlock + l];
    }
    return static_cast<double>((d * dx) * static_cast<float>(dot));
  }
  BlockQ4_K blk;
  std::memcpy(&blk, row + s * sizeof blk, sizeof blk);
  int32_t dot = 0, mins = 0;
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    q4_k_scale_min(blk.scales, j, &sc, &m);
    const int64_t b = 8 * s + j;
    int32_t dot_j = 0;
    for (int l = 0; l < kBlock; ++l) dot_j += ((blk.qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15) * q[b * kBlock + l];
    dot += sc * dot_j;
    int16_t sum_b;
    std::memcpy(&sum_b, sums + b * sizeof sum_b, sizeof sum_b);
    mins += m * sum_b;
  }
  return static_cast<double>((fp16_to_fp32(blk.d) * dx) * static_cast<float>(dot)) -
         static_cast<double>((fp16_to_fp32(blk.dmin) * dx) * static_cast<float>(mins));
}

void matmul_q8x256(DType type, const void* W, int64_t rows, int64_t cols, const uint8_t* xq, size_t xq_stride,
                   int64_t n_tokens, float* y) {
  const size_t stride = row_bytes(type, cols);
  const int64_t super_blocks = cols / kQK_K;
  const size_t sums_offset = static_cast<size_t>(cols) + static_cast<size_t>((super_blocks + 7) / 8 * 8) * sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(W) + r * stride;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const uint8_t* x = xq + t * xq_stride;
      double sum = 0.0;
      for (int64_t s = 0; s < super_blocks; ++s) {
        float dx;
        std::memcpy(&dx, x + cols + s * sizeof(float), sizeof dx);
        sum += k_quant_super_block(type, row, s, reinterpret_cast<const int8_t*>(x), dx, x + sums_offset);
      }
      y[t * rows + r] = static_cast<float>(sum);
    }
  }
}

// The other formats as integers: block b (32 columns) of a row is 32 integer
// weights w with an integer scale and min per 16 columns (sc, m), and the
// `unit` of columns sharing one activation scale (32 columns for Q8x32, a
// super-block of 256 for Q8x256) has float factors d and min_scale:
//   y = sum over units of (d * dx) * sum sc * dot(w, q) + (min_scale * dx) * sum m * sum(q).
// Q4_1 / Q5_1 add their offset (min_scale = m, integer m = 1); the K-quants
// subtract theirs (min_scale = -dmin).
struct IntBlock {
  int32_t w[kBlock];
  int32_t sc[2] = {1, 1};
  int32_t m[2] = {0, 0};
};

struct UnitScales {
  float d = 0.0f;
  float min_scale = 0.0f;
};

template <class Block>
Block load_block(const uint8_t* row, int64_t index) {
  Block b;
  std::memcpy(&b, row + index * sizeof b, sizeof b);
  return b;
}

int64_t unit_columns(DType type) { return dtype_info(type).block_size; }

UnitScales unit_scales(DType type, const uint8_t* row, int64_t u) {
  switch (type) {
    case DType::Q4_1: {
      const auto b = load_block<BlockQ4_1>(row, u);
      return {fp16_to_fp32(b.d), fp16_to_fp32(b.m)};
    }
    case DType::Q5_1: {
      const auto b = load_block<BlockQ5_1>(row, u);
      return {fp16_to_fp32(b.d), fp16_to_fp32(b.m)};
    }
    case DType::Q5_0: return {fp16_to_fp32(load_block<BlockQ5_0>(row, u).d), 0.0f};
    case DType::IQ4_NL: return {fp16_to_fp32(load_block<BlockIQ4_NL>(row, u).d), 0.0f};
    case DType::Q2_K: {
      const auto b = load_block<BlockQ2_K>(row, u);
      return {fp16_to_fp32(b.d), -fp16_to_fp32(b.dmin)};
    }
    case DType::Q5_K: {
      const auto b = load_block<BlockQ5_K>(row, u);
      return {fp16_to_fp32(b.d), -fp16_to_fp32(b.dmin)};
    }
    case DType::Q3_K: return {fp16_to_fp32(load_block<BlockQ3_K>(row, u).d), 0.0f};
    case DType::IQ4_XS: return {fp16_to_fp32(load_block<BlockIQ4_XS>(row, u).d), 0.0f};
    default: fail("matmul_quantized: no integer form of {}", dtype_name(type));
  }
}

// Block b of the row (32 columns; for K-quants block b % 8 of super-block b / 8).
IntBlock int_block(DType type, const uint8_t* row, int64_t b) {
  IntBlock o;
  const int64_t s = b / 8;
  const int j = static_cast<int>(b % 8);
  switch (type) {
    case DType::Q4_1: {
      const auto q = load_block<BlockQ4_1>(row, b);
      for (int l = 0; l < 16; ++l) o.w[l] = q.qs[l] & 15, o.w[l + 16] = q.qs[l] >> 4;
      o.m[0] = o.m[1] = 1;
      break;
    }
    case DType::Q5_1: {
      const auto q = load_block<BlockQ5_1>(row, b);
      for (int l = 0; l < kBlock; ++l) o.w[l] = q5_quant(q.qs, q.qh, l);
      o.m[0] = o.m[1] = 1;
      break;
    }
    case DType::Q5_0: {
      const auto q = load_block<BlockQ5_0>(row, b);
      for (int l = 0; l < kBlock; ++l) o.w[l] = q5_quant(q.qs, q.qh, l) - 16;
      break;
    }
    case DType::IQ4_NL: {
      const auto q = load_block<BlockIQ4_NL>(row, b);
      for (int l = 0; l < 16; ++l) o.w[l] = kIq4Values[q.qs[l] & 15], o.w[l + 16] = kIq4Values[q.qs[l] >> 4];
      break;
    }
    case DType::Q2_K: {
      const auto q = load_block<BlockQ2_K>(row, s);
      const int h = j / 4, part = j % 4;
      for (int l = 0; l < kBlock; ++l) o.w[l] = (q.qs[32 * h + l] >> (2 * part)) & 3;
      for (int g = 0; g < 2; ++g) {
        o.sc[g] = q.scales[8 * h + 2 * part + g] & 15;
        o.m[g] = q.scales[8 * h + 2 * part + g] >> 4;
      }
      break;
    }
    case DType::Q3_K: {
      const auto q = load_block<BlockQ3_K>(row, s);
      const int h = j / 4, part = j % 4;
      for (int l = 0; l < kBlock; ++l)
        o.w[l] = ((q.qs[32 * h + l] >> (2 * part)) & 3) - ((q.hmask[l] >> j) & 1 ? 0 : 4);
      for (int g = 0; g < 2; ++g) o.sc[g] = q3_k_scale(q.scales, 8 * h + 2 * part + g);
      break;
    }
    case DType::Q5_K: {
      const auto q = load_block<BlockQ5_K>(row, s);
      for (int l = 0; l < kBlock; ++l)
        o.w[l] = ((q.qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15) | ((q.qh[l] >> j) & 1) << 4;
      int sc, m;
      q4_k_scale_min(q.scales, j, &sc, &m);
      o.sc[0] = o.sc[1] = sc;
      o.m[0] = o.m[1] = m;
      break;
    }
    case DType::IQ4_XS: {
      const auto q = load_block<BlockIQ4_XS>(row, s);
      for (int l = 0; l < 16; ++l)
        o.w[l] = kIq4Values[q.qs[16 * j + l] & 15], o.w[l + 16] = kIq4Values[q.qs[16 * j + l] >> 4];
      o.sc[0] = o.sc[1] = iq4_xs_scale(q, j);
      break;
    }
    default: fail("matmul_quantized: no integer form of {}", dtype_name(type));
  }
  return o;
}

bool has_int_form(DType type, ActFormat act) {
  switch (type) {
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::IQ4_NL: return act == ActFormat::Q8x32;
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q5_K:
    case DType::IQ4_XS: return act == ActFormat::Q8x256;
    default: return false;
  }
}

void matmul_int_form(DType type, const void* W, int64_t rows, int64_t cols, const uint8_t* xq, size_t xq_stride,
                     int64_t n_tokens, float* y) {
  const size_t stride = row_bytes(type, cols);
  const int64_t unit = unit_columns(type);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(W) + r * stride;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const auto* q = reinterpret_cast<const int8_t*>(xq + t * xq_stride);
      double sum = 0.0;
      for (int64_t u = 0; u < cols / unit; ++u) {
        int32_t dot = 0, mins = 0;
        for (int64_t b = u * unit / kBlock; b < (u + 1) * unit / kBlock; ++b) {
          const IntBlock blk = int_block(type, row, b);
          for (int g = 0; g < 2; ++g) {
            int32_t dot_g = 0, sum_g = 0;
            for (int l = 16 * g; l < 16 * g + 16; ++l) {
              dot_g += blk.w[l] * q[b * kBlock + l];
              sum_g += q[b * kBlock + l];
            }
            dot += blk.sc[g] * dot_g;
            mins += blk.m[g] * sum_g;
          }
        }
        const UnitScales f = unit_scales(type, row, u);
        float dx;
        std::memcpy(&dx, xq + t * xq_stride + cols + u * sizeof(float), sizeof dx);
        sum += static_cast<double>((f.d * dx) * static_cast<float>(dot));
        if (mins != 0) sum += static_cast<double>((f.min_scale * dx) * static_cast<float>(mins));
      }
      y[t * rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace

void matmul_quantized(DType type, ActFormat act, const void* W, int64_t rows, int64_t cols, const uint8_t* xq,
                      size_t xq_stride, int64_t n_tokens, float* y) {
  if (has_int_form(type, act)) return matmul_int_form(type, W, rows, cols, xq, xq_stride, n_tokens, y);
  if (act == ActFormat::Q8x256 && (type == DType::Q4_K || type == DType::Q6_K))
    return matmul_q8x256(type, W, rows, cols, xq, xq_stride, n_tokens, y);
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
