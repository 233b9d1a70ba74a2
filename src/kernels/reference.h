// Plain scalar reference of every op in kernels.h: the definition the SIMD tiers
// are tested against. Written for clarity, single-threaded, no intrinsics.
//
// Accumulation choices (SIMD tiers must stay within test tolerance of these):
// - matmul: each weight row is dequantized to floats, then dotted with x in
//   float, left to right (GGUF "dequantize and dot" semantics).
// - rmsnorm and softmax sum in double, so the reference is the accurate side.
// - rope computes angles and their sine/cosine in double, then rounds to float.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/kernels.h"
#include "kernels/quantized_activations.h"

namespace tessera::kernels::ref {

// y[t][r] = sum_c W[r][c] * x[t][c]; same layout as kernels::matmul, no threads.
void matmul(DType type, const void* W, int64_t rows, int64_t cols, const float* x, int64_t n_tokens,
            float* y);

void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps);
void rope(float* x, int64_t n_heads, int64_t pos, const RopeParams& p);
void softmax(float* x, int64_t n);
void swiglu(float* out, const float* gate, const float* up, int64_t n);
void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t n, float eps);
void gelu(float* out, const float* x, int64_t n);

// Every format of kernels.h's dequantize_row; n a multiple of the block size.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
// Bit for bit as GGUF's reference quantizers but IQ4 (see reference*.cpp for the rules).
void quantize_row(DType type, const float* src, void* dst, int64_t n);

bool supports(DType type);

// One token row of floats in `format` (kernels/quantized_activations.h), the
// definition SIMD activation quantizers match bit for bit.
void quantize_activations(ActFormat format, const float* x, int64_t cols, uint8_t* dst);

// The integer-dot matmul exactly: per block, the int32 dot of weight and
// activation quants times (d_w * d_x) in float, summed over blocks in double.
// xq holds n_tokens rows of format `act`, xq_stride bytes apart: Q8_0 and Q4_0
// weights with Q8x32 activations (per block of 32, d_w * d_x times the integer
// dot), Q4_K and Q6_K with Q8x256 (per super-block, the integer sums of the
// sub-blocks' scale * dot times d * d_x; Q4_K's mins against 32-column sums).
// Q4_1, Q5_0, Q5_1, IQ4_NL (Q8x32) and Q2_K, Q3_K, Q5_K, IQ4_XS (Q8x256) as
// integer weights with a scale and min per 16 columns, summed per unit of one
// activation scale (reference_quantized_matmul.cpp gives the formula).
void matmul_quantized(DType type, ActFormat act, const void* W, int64_t rows, int64_t cols, const uint8_t* xq,
                      size_t xq_stride, int64_t n_tokens, float* y);

}  // namespace tessera::kernels::ref
