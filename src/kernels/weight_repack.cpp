#include "kernels/weight_repack.h"

#include <cstring>

#include "core/blocks.h"
#include "core/error.h"

namespace tessera::kernels {

bool can_repack_rows8(DType type) {
  return type == DType::F16 || type == DType::Q4_0 || type == DType::Q8_0 || type == DType::Q4_K ||
         type == DType::Q6_K;
}

namespace {

void repack_q4_k_group(const uint8_t* in, size_t stride, int64_t super_blocks, uint8_t* out) {
  for (int64_t s = 0; s < super_blocks; ++s, out += 8 * sizeof(BlockQ4_K)) {
    for (int i = 0; i < 8; ++i) {
      BlockQ4_K b;
      std::memcpy(&b, in + i * stride + s * sizeof(BlockQ4_K), sizeof b);
      std::memcpy(out + 2 * i, &b.d, 2);
      std::memcpy(out + 16 + 2 * i, &b.dmin, 2);
      for (int k = 0; k < 12; ++k) out[32 + 8 * k + i] = b.scales[k];
      for (int c = 0; c < 32; ++c) std::memcpy(out + 128 + 32 * c + 4 * i, b.qs + 4 * c, 4);
    }
  }
}

void repack_q6_k_group(const uint8_t* in, size_t stride, int64_t super_blocks, uint8_t* out) {
  for (int64_t s = 0; s < super_blocks; ++s, out += 8 * sizeof(BlockQ6_K)) {
    for (int i = 0; i < 8; ++i) {
      BlockQ6_K b;
      std::memcpy(&b, in + i * stride + s * sizeof(BlockQ6_K), sizeof b);
      for (int c = 0; c < 32; ++c) std::memcpy(out + 32 * c + 4 * i, b.ql + 4 * c, 4);
      for (int e = 0; e < 16; ++e) std::memcpy(out + 1024 + 32 * e + 4 * i, b.qh + 4 * e, 4);
      std::memcpy(out + 1536 + 2 * i, &b.d, 2);
      for (int k = 0; k < 8; ++k) std::memcpy(out + 1552 + 16 * k + 2 * i, b.scales + 2 * k, 2);
    }
  }
}

void repack_f16_group(const uint8_t* in, size_t stride, int64_t cols, uint8_t* out) {
  for (int64_t c = 0; c < cols; ++c)
    for (int i = 0; i < 8; ++i) std::memcpy(out + 16 * c + 2 * i, in + i * stride + 2 * c, 2);
}

// Q4_0 / Q8_0: blocks of 32 with one fp16 scale first.
void repack_q32_group(DType type, const uint8_t* in, size_t stride, int64_t blocks, uint8_t* out) {
  const size_t block_bytes = dtype_info(type).block_bytes;
  const size_t quant_bytes = block_bytes - 2;  // after the fp16 scale
  uint8_t* scales = out;
  uint8_t* quants = out + 16 * blocks;
  for (int64_t b = 0; b < blocks; ++b)
    for (int i = 0; i < 8; ++i) {
      const uint8_t* block = in + i * stride + b * block_bytes;
      std::memcpy(scales + 16 * b + 2 * i, block, 2);
      for (size_t k = 0; k < quant_bytes / 4; ++k)
        std::memcpy(quants + 8 * quant_bytes * b + 4 * (8 * k + i), block + 2 + 4 * k, 4);
    }
}

}  // namespace

void repack_rows8(DType type, const void* src, void* dst, int64_t rows, int64_t cols) {
  if (!can_repack_rows8(type)) fail("repack_rows8: no rows8 layout for {}", dtype_name(type));
  const size_t stride = row_bytes(type, cols);  // checks cols against the block size
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t full = rows / 8 * 8;
  for (int64_t g = 0; g < full; g += 8) {
    if (type == DType::F16)
      repack_f16_group(in + g * stride, stride, cols, out + g * stride);
    else if (type == DType::Q4_K)
      repack_q4_k_group(in + g * stride, stride, cols / kQK_K, out + g * stride);
    else if (type == DType::Q6_K)
      repack_q6_k_group(in + g * stride, stride, cols / kQK_K, out + g * stride);
    else
      repack_q32_group(type, in + g * stride, stride, cols / 32, out + g * stride);
  }
  if (rows > full) std::memcpy(out + full * stride, in + full * stride, static_cast<size_t>(rows - full) * stride);
}

}  // namespace tessera::kernels
