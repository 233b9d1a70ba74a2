// Scalar reference conversion of the formats with blocks of 32 beside Q4_0 and
// Q8_0 (Q4_1, Q5_0, Q5_1, IQ4_NL) and of IQ4_XS; layouts in core/blocks.h.
// reference.cpp's dequantize_row / quantize_row call these; n is a multiple of
// the block size, checked by the caller.
#pragma once

#include <cstdint>

#include "core/blocks.h"

namespace tessera::kernels::ref {

void dequantize_q4_1(const BlockQ4_1* b, float* y, int64_t n);
void dequantize_q5_0(const BlockQ5_0* b, float* y, int64_t n);
void dequantize_q5_1(const BlockQ5_1* b, float* y, int64_t n);
void dequantize_iq4_nl(const BlockIQ4_NL* b, float* y, int64_t n);
void dequantize_iq4_xs(const BlockIQ4_XS* b, float* y, int64_t n);

// Q4_1, Q5_0, Q5_1: bit for bit what GGUF's reference quantizers write.
void quantize_q4_1(const float* x, BlockQ4_1* b, int64_t n);
void quantize_q5_0(const float* x, BlockQ5_0* b, int64_t n);
void quantize_q5_1(const float* x, BlockQ5_1* b, int64_t n);

// IQ4_NL, IQ4_XS: Tessera's own least-squares search (reference_iq4.cpp says
// what it guarantees); files load in any GGUF reader, bytes differ from ggml's.
void quantize_iq4_nl(const float* x, BlockIQ4_NL* b, int64_t n);
void quantize_iq4_xs(const float* x, BlockIQ4_XS* b, int64_t n);

// The 5-bit quant j (< 32) of a Q5_0 / Q5_1 block, 0..31.
int q5_quant(const uint8_t* qs, const uint8_t* qh, int j);
// IQ4_XS sub-block j's signed scale, -32..31.
int iq4_xs_scale(const BlockIQ4_XS& b, int j);

}  // namespace tessera::kernels::ref
