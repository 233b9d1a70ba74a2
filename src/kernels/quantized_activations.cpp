// The Q8x32 and Q8x256 activation formats (kernels/quantized_activations.h): their
// sizes and the reference quantizer, the definition the SIMD quantizers match bit
// for bit.
#include "kernels/quantized_activations.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "kernels/reference.h"

namespace tessera::kernels {
namespace {

constexpr int64_t kQ8x32Block = 32, kQ8x256Block = 256;

int64_t block_of(ActFormat format) { return format == ActFormat::Q8x256 ? kQ8x256Block : kQ8x32Block; }

void check_cols(ActFormat format, int64_t cols) {
  const int64_t block = block_of(format);
  if (cols < 0 || cols % block != 0)
    fail("activation row of {} elements is not a whole number of {} blocks ({} elements each)", cols,
         format == ActFormat::Q8x256 ? "Q8x256" : "Q8x32", block);
}

// Round half to even whatever the floating-point environment (as the AVX2
// quantizer's vroundps does); |v| here is far below 2^23, so r - v is exact.
float round_half_even(float v) {
  const float r = std::round(v);  // half away from zero
  if (std::fabs(r - v) == 0.5f && std::fmod(r, 2.0f) != 0.0f) return r - std::copysign(1.0f, v);
  return r;
}

// Blocks rounded up to a multiple of 8: the length of the scale (and Q8x32's sum) arrays.
size_t blocks8(ActFormat format, int64_t cols) { return static_cast<size_t>((cols / block_of(format) + 7) / 8 * 8); }

int8_t clamp_quant(float q) {
  if (q >= 127.0f) return 127;
  if (q <= -127.0f) return -127;
  if (q == q) return static_cast<int8_t>(q);
  return 0;  // nan
}

}  // namespace

size_t activation_row_bytes(ActFormat format, int64_t cols) {
  switch (format) {
    case ActFormat::F32:
      return 0;
    case ActFormat::Q8x32: {
      check_cols(format, cols);
      const size_t bytes = static_cast<size_t>(cols) + blocks8(format, cols) * (sizeof(float) + sizeof(int32_t));
      return (bytes + 63) / 64 * 64;
    }
    case ActFormat::BF16:
      if (cols < 0) fail("activation row of {} elements", cols);
      return (static_cast<size_t>(cols) * sizeof(uint16_t) + 63) / 64 * 64;
    case ActFormat::Q8x256: {
      check_cols(format, cols);
      const size_t bytes = static_cast<size_t>(cols) + blocks8(format, cols) * sizeof(float) +
                           static_cast<size_t>(cols / kQ8x32Block) * sizeof(int16_t);
      return (bytes + 63) / 64 * 64;
    }
  }
  fail("activation_row_bytes: unknown activation format {}", static_cast<int>(format));
}

namespace ref {

void quantize_activations(ActFormat format, const float* x, int64_t cols, uint8_t* dst) {
  if (format == ActFormat::BF16) {
    const size_t row_bytes = activation_row_bytes(format, cols);
    for (int64_t c = 0; c < cols; ++c) {
      const uint16_t b = fp32_to_bf16(x[c]);
      std::memcpy(dst + c * sizeof b, &b, sizeof b);
    }
    std::memset(dst + cols * sizeof(uint16_t), 0, row_bytes - static_cast<size_t>(cols) * sizeof(uint16_t));
    return;
  }
  if (format != ActFormat::Q8x32 && format != ActFormat::Q8x256)
    fail("quantize_activations: no quantizer for activation format {}", static_cast<int>(format));
  const size_t row_bytes = activation_row_bytes(format, cols);
  std::memset(dst + cols, 0, row_bytes - static_cast<size_t>(cols));  // unused scales, sums, padding
  auto* q = reinterpret_cast<int8_t*>(dst);
  uint8_t* scales = dst + cols;
  uint8_t* sums = scales + blocks8(format, cols) * sizeof(float);
  const int64_t block = block_of(format);
  for (int64_t b = 0; b < cols / block; ++b) {
    const float* v = x + b * block;
    float amax = 0.0f;
    for (int64_t j = 0; j < block; ++j) amax = std::max(amax, std::fabs(v[j]));  // nan ignored
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int64_t j = 0; j < block; ++j) q[b * block + j] = clamp_quant(round_half_even(v[j] * id));
    std::memcpy(scales + b * sizeof(float), &d, sizeof d);
  }
  for (int64_t b = 0; b < cols / kQ8x32Block; ++b) {  // sums of 32 quants: int32 (Q8x32), int16 (Q8x256)
    int32_t sum = 0;
    for (int64_t j = 0; j < kQ8x32Block; ++j) sum += q[b * kQ8x32Block + j];
    if (format == ActFormat::Q8x32) {
      std::memcpy(sums + b * sizeof(int32_t), &sum, sizeof sum);
    } else {
      const auto sum16 = static_cast<int16_t>(sum);  // |sum| <= 32 * 127
      std::memcpy(sums + b * sizeof(int16_t), &sum16, sizeof sum16);
    }
  }
}

}  // namespace ref
}  // namespace tessera::kernels
