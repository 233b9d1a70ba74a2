// Kernels of the generic tier that are not simply the reference: scalar code
// for any x86-64, kept simple. Defined in matmul_generic.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/attention.h"

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

// MatmulRowsFn of any format ref::dequantize_row converts (instantiated in
// matmul_generic.cpp for Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K, IQ4_XS).
template <DType Type>
void matmul_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                 const float* x, int64_t n_tokens, float* y, int64_t rows);

inline constexpr int64_t kMatmulRowGrain = 8;

// AttentionTileFn (kernels/attention.h): the scalar reference of attention. Each
// K/V block is dequantised to floats (any cache type), then per row: scores,
// online softmax with std::exp, and the weighted sum of V, left to right in
// float. Defined in attention_generic.cpp.
void attention_tile(const KvLayerView& kv, int64_t kv_head, int64_t p_begin, int64_t p_end,
                    const AttentionTile& tile);

}  // namespace tessera::kernels::generic
