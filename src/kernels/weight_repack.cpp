#include "kernels/weight_repack.h"

#include <cstring>

#include "core/error.h"

namespace tessera::kernels {

bool can_repack_rows8(DType type) { return type == DType::Q4_0 || type == DType::Q8_0; }

void repack_rows8(DType type, const void* src, void* dst, int64_t rows, int64_t cols) {
  if (!can_repack_rows8(type)) fail("repack_rows8: no rows8 layout for {}", dtype_name(type));
  const size_t stride = row_bytes(type, cols);  // checks cols against the block size
  const size_t block_bytes = dtype_info(type).block_bytes;
  const size_t quant_bytes = block_bytes - 2;  // after the fp16 scale
  const int64_t blocks = cols / 32;
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t full = rows / 8 * 8;
  for (int64_t g = 0; g < full; g += 8) {
    uint8_t* scales = out + g * stride;
    uint8_t* quants = scales + 16 * blocks;
    for (int64_t b = 0; b < blocks; ++b)
      for (int i = 0; i < 8; ++i) {
        const uint8_t* block = in + (g + i) * stride + b * block_bytes;
        std::memcpy(scales + 16 * b + 2 * i, block, 2);
        for (size_t k = 0; k < quant_bytes / 4; ++k)
          std::memcpy(quants + 8 * quant_bytes * b + 4 * (8 * k + i), block + 2 + 4 * k, 4);
      }
  }
  if (rows > full) std::memcpy(out + full * stride, in + full * stride, static_cast<size_t>(rows - full) * stride);
}

}  // namespace tessera::kernels
