// Where a token's quants, scales and block sums are in a row of quantized
// activations (kernels/quantized_activations.h): Q8x32 has an int32 sum per
// block of 32, Q8x256 an int16 sum per 32 columns of its blocks of 256. Plain
// C++, shared by the int8 kernels of every tier; internal linkage (an anonymous
// namespace), so each tier's translation units keep their own copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/quantized_activations.h"

namespace tessera::kernels {
namespace {

template <int T, ActFormat Act = ActFormat::Q8x32>
struct TokenRows {
  static constexpr int64_t kBlock = Act == ActFormat::Q8x256 ? 256 : 32;
  using Sum = std::conditional_t<Act == ActFormat::Q8x256, int16_t, int32_t>;
  const int8_t* q[T];
  const float* d[T];
  const Sum* s[T];
  TokenRows(const uint8_t* xq, size_t xq_stride, int64_t t0, int64_t cols) {
    const int64_t blocks8 = (cols / kBlock + 7) / 8 * 8;
    for (int t = 0; t < T; ++t) {
      const uint8_t* row = xq + (t0 + t) * xq_stride;
      q[t] = reinterpret_cast<const int8_t*>(row);
      d[t] = reinterpret_cast<const float*>(row + cols);
      s[t] = reinterpret_cast<const Sum*>(row + cols + blocks8 * 4);
    }
  }
};

template <int T>
using TokenRows256 = TokenRows<T, ActFormat::Q8x256>;

}  // namespace
}  // namespace tessera::kernels
