// Entry points of the AVX-512 tier, defined in the *_avx512*.cpp files and put
// into the table by fill_table (avx512_table.h). Included only by those files:
// the namespace is avx512, or avx512_simde in the SIMDe build (simd_avx512.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/avx512_table.h"
#include "kernels/quantized_activations.h"
#include "kernels/simd_avx512.h"

namespace tessera::kernels::TESSERA_AVX512_NS {

// MatmulQuantizedRowsFn (dispatch.h) for weights in the rows16 layout
// (kernels/weight_repack.h), row_begin a multiple of 16: vpdpbusd integer dots.
void matmul_q4_0_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows);
void matmul_q8_0_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows);
void matmul_q4_k_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows);
void matmul_q5_k_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows);
void matmul_q6_k_rows16_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                                int64_t rows);

// BF16 weights in rows16 with BF16 activations: vdpbf16ps (matmul_bf16_rows16_avx512bf16.cpp,
// needs AVX512_BF16).
void matmul_bf16_rows16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                             const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows);

// A multiple of every tile height (16-row groups).
inline constexpr int64_t kMatmulRowGrain = 16;

}  // namespace tessera::kernels::TESSERA_AVX512_NS
