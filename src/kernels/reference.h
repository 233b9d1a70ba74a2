// Plain scalar reference of every op in kernels.h: the definition the SIMD tiers
// are tested against. Written for clarity, single-threaded, no intrinsics.
//
// Accumulation choices (SIMD tiers must stay within test tolerance of these):
// - matmul: each weight row is dequantized to floats, then dotted with x in
//   float, left to right (GGUF "dequantize and dot" semantics).
// - rmsnorm and softmax sum in double, so the reference is the accurate side.
// - rope computes angles and their sine/cosine in double, then rounds to float.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "kernels/kernels.h"

namespace tessera::kernels::ref {

// y[t][r] = sum_c W[r][c] * x[t][c]; same layout as kernels::matmul, no threads.
void matmul(DType type, const void* W, int64_t rows, int64_t cols, const float* x, int64_t n_tokens,
            float* y);

void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps);
void rope(float* x, int64_t n_heads, int64_t pos, const RopeParams& p);
void softmax(float* x, int64_t n);
void swiglu(float* out, const float* gate, const float* up, int64_t n);

// F32, F16, BF16, Q8_0, Q4_0; n a multiple of the block size.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
// Bit for bit as GGUF's reference quantizers (see reference.cpp for the rules).
void quantize_row(DType type, const float* src, void* dst, int64_t n);

bool supports(DType type);

}  // namespace tessera::kernels::ref
