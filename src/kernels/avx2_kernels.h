// Entry points of the AVX2+FMA+F16C tier, defined in the *_avx2.cpp files.
// Declarations only (no intrinsics), so plain x86-64 code such as dispatch.cpp
// can take their addresses; they may only be called after CPUID says AVX2.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::kernels::avx2 {

// MatmulRowsFn for each weight format (see dispatch.h): float activations,
// weights decoded to floats in registers, several rows and tokens per pass.
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

// A multiple of every tile height the matmul kernels use (see matmul_tile_avx2.h).
inline constexpr int64_t kMatmulRowGrain = 16;

void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps);
void softmax(float* x, int64_t n);
void swiglu(float* out, const float* gate, const float* up, int64_t n);

}  // namespace tessera::kernels::avx2
