// Entry points of the AVX2+FMA+F16C tier, defined in the *_avx2.cpp files.
// Declarations only (no intrinsics), so plain x86-64 code such as dispatch.cpp
// can take their addresses; they may only be called after CPUID says AVX2.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/attention.h"
#include "kernels/quantized_activations.h"

namespace tessera::kernels::avx2 {

// MatmulRowsFn for each weight format (see dispatch.h): float activations,
// weights decoded to floats in registers, several rows and tokens per pass.
void matmul_f32_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_f16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows);
// F16 weights in the rows8 layout (8 rows interleaved column by column).
void matmul_f16_rows8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                           const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_bf16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_q8_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_q4_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
// K-quants (matmul_kquant_avx2.h): tiles of 4 rows x 1 token or 2 rows x 4 tokens.
void matmul_q4_k_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);
void matmul_q6_k_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows);

// MatmulQuantizedRowsFn (see dispatch.h) for Q8_0 and Q4_0 weights with Q8x32
// activations: integer dot products (matmul_q8_tile_avx2.h). The float-activation
// Q8_0 / Q4_0 kernels above stay for comparison (kernels_bench) and exact use.
void matmul_q8_0_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                         const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows);
void matmul_q4_0_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                         const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows);

// The same for weights repacked 8 rows at a time (layout rows8,
// kernels/weight_repack.h); row_begin a multiple of 8.
void matmul_q4_0_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows);
void matmul_q8_0_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows);
void matmul_q4_k_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows);
void matmul_q5_k_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows);
void matmul_q6_k_rows8_q8_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                               int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y,
                               int64_t rows);

// Q4_1, Q5_0, Q5_1, IQ4_NL (Q8x32 activations) and Q2_K, Q3_K, Q5_K, IQ4_XS
// (Q8x256) in the plain layout, one row x up to 4 tokens a tile
// (matmul_int_formats_avx2.cpp).
template <DType Type>
void matmul_int_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows);

// One token row to `format` (kernels/quantized_activations.h), bit for bit as
// ref::quantize_activations.
void quantize_activations(ActFormat format, const float* x, int64_t cols, uint8_t* dst);

// A multiple of every tile height the matmul kernels use (see matmul_tile_avx2.h
// and matmul_q8_tile_avx2.h).
inline constexpr int64_t kMatmulRowGrain = 16;

void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps);
void softmax(float* x, int64_t n);
void swiglu(float* out, const float* gate, const float* up, int64_t n);

// y[i] = e^x[i] by exp8 (simd_avx2.h), the exp of softmax, swiglu and
// attention; exported so tests can measure it against std::exp.
void exp_row(const float* x, float* y, int64_t n);

// AttentionTileFn (kernels/attention.h), attention_avx2.cpp; head sizes that
// are not a multiple of 8 go to the generic tile.
void attention_tile(const KvLayerView& kv, int64_t kv_head, int64_t p_begin, int64_t p_end,
                    const AttentionTile& tile);

}  // namespace tessera::kernels::avx2
