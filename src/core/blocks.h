// Quantised block layouts, byte for byte as GGUF stores them.
#pragma once

#include <cstdint>

namespace tessera {

constexpr int kQK4_0 = 32;
constexpr int kQK8_0 = 32;

// 32 weights: w[i] = d * (q[i] - 8); byte j holds q[j] in its low nibble and
// q[j + 16] in its high nibble.
struct BlockQ4_0 {
  uint16_t d;  // fp16 scale
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// 32 weights: w[i] = d * q[i].
struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// K-quants: super-blocks of 256 weights in sub-blocks, each sub-block's scale
// (and min) stored in a few bits relative to the super-block's fp16 scale(s).
constexpr int kQK_K = 256;

// 256 weights in 8 sub-blocks of 32: w = d * sc[j] * q - dmin * m[j], q in 0..15.
// `scales` packs the 6-bit sc[j] and m[j] (j < 8) as GGUF does:
//   j < 4:  sc[j] = scales[j] & 63,  m[j] = scales[j + 4] & 63
//   j >= 4: sc[j] = (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4
//           m[j]  = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4
// qs holds 4 chunks of 64 weights in 32 bytes each: sub-block 2k in the low
// nibbles of chunk k, sub-block 2k + 1 in its high nibbles.
struct BlockQ4_K {
  uint16_t d;     // fp16 scale of the sub-block scales
  uint16_t dmin;  // fp16 scale of the sub-block mins
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// 256 weights in 16 sub-blocks of 16: w = d * scales[k] * (q - 32), q in 0..63.
// Two halves of 128 weights; half h uses ql[64h..64h+63], qh[32h..32h+31] and
// scales[8h..8h+7]. Within a half, weight 32i + l (i < 4, l < 32) has
//   low 4 bits:  ql[l + 32 * (i & 1)], low nibble for i < 2, high for i >= 2
//   high 2 bits: (qh[l] >> 2i) & 3
// and its scale is scales[8h + 2i + l / 16].
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;  // fp16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == 210);

}  // namespace tessera
