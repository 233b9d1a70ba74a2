// Activations quantized once per matmul, for kernels that multiply quantized
// weights by int8 activations with integer dot products (the int8 path of
// GGUF engines). Plain declarations: usable from any translation unit.
//
// Format Q8x32, one token row of `cols` floats (cols a multiple of 32), with
// nb = cols / 32 blocks and nb8 = nb rounded up to a multiple of 8:
//   bytes [0, cols)     int8 quants, q[c] = round_half_even(x[c] / d[c / 32])
//   then nb8 floats     scales, d[b] = max|x| over block b / 127 (0 past nb)
//   then nb8 int32      sums, s[b] = sum of block b's 32 quants (0 past nb)
//   then zero padding to activation_row_bytes(Q8x32, cols), a multiple of 64.
// Quants, scales and sums are kept apart (not GGUF's interleaved {d, qs[32]}) so
// that, in a 64-byte-aligned buffer, a block's quants are one aligned AVX2 load
// and 8 blocks' scales another. The sums serve weights stored with an offset
// (Q4_0 keeps q + 8): dot(q + 8, x) = dot(q, x) + 8 * s.
// d stays a float (GGUF's Q8_0 rounds it to fp16): the only error added to the
// float product is the rounding of q, |x - d*q| <= d/2 = max|x| / 254 per block.
// Finite inputs give q in [-127, 127], so q * |w| pairs never saturate
// vpmaddubsw; infinities give +-127 and NaN gives 0 (no undefined behaviour).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::kernels {

// Format Q8x256, for K-quant weights (scales per sub-block inside blocks of 256):
// one scale per 256 columns, so a kernel sums a super-block's sub-blocks in
// integers and converts once (cols a multiple of 256), with nb = cols / 256:
//   bytes [0, cols)     int8 quants, q[c] = round_half_even(x[c] / d[c / 256])
//   then nb8 floats     scales, d[b] = max|x| over block b / 127 (nb8 = nb rounded up to 8; 0 past nb)
//   then cols/32 int16  sums of each 32 quants (for Q4_K's mins)
//   then zero padding to a multiple of 64.
// The rounding error bound is max|x| / 254 over 256 columns instead of 32 (as in
// GGUF engines' Q8_K); Q8x32 stays the format of the formats scaled per 32.

// Format BF16: one token row of `cols` floats (any cols) as cols bf16 values,
// round to nearest even as core/half.h's fp32_to_bf16, then zero padding to a
// multiple of 64 bytes. The error added to a product is the rounding of x,
// |x - bf16(x)| <= |x| / 256.

// How a matmul kernel takes its activations.
enum class ActFormat : int {
  F32 = 0,     // the caller's floats (MatmulRowsFn)
  Q8x32 = 1,   // int8 blocks of 32 with float scales (above), for Q8_0 and Q4_0 weights
  Q8x256 = 2,  // int8 blocks of 256 with float scales and 32-column sums, for Q4_K and Q6_K
  BF16 = 3,    // each float rounded to bf16 (nearest even, nan kept), for vdpbf16ps kernels
};

// Bytes of one quantized token row (0 for F32); cols must be a multiple of the
// format's block. A multiple of 64, so rows stay aligned in an aligned buffer.
size_t activation_row_bytes(ActFormat format, int64_t cols);

}  // namespace tessera::kernels
