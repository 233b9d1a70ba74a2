// Kernels of the generic tier that are not simply the reference: scalar code
// for any x86-64, kept simple. Defined in matmul_generic.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::kernels::generic {

// MatmulRowsFn for each weight format (see dispatch.h).
void matmul_f32_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_f16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_bf16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_q8_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_q4_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_q4_k_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_q6_k_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);

inline constexpr int64_t kMatmulRowGrain = 8;

}  // namespace tessera::kernels::generic
