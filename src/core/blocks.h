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

// 32 weights: w[i] = d * q[i] + m, q in 0..15 packed as in BlockQ4_0.
struct BlockQ4_1 {
  uint16_t d;  // fp16 scale
  uint16_t m;  // fp16 offset (the block's minimum)
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// 32 weights: w[i] = d * (q[i] - 16), q in 0..31. The low 4 bits are packed as
// in BlockQ4_0; bit i of the little-endian qh is weight i's fifth bit.
struct BlockQ5_0 {
  uint16_t d;  // fp16 scale
  uint8_t qh[4];
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// 32 weights: w[i] = d * q[i] + m, q in 0..31 packed as in BlockQ5_0.
struct BlockQ5_1 {
  uint16_t d;  // fp16 scale
  uint16_t m;  // fp16 offset
  uint8_t qh[4];
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// 32 weights: w[i] = d * kIq4Values[q[i]], q in 0..15 packed as in BlockQ4_0:
// a fixed non-linear grid, denser near zero.
struct BlockIQ4_NL {
  uint16_t d;  // fp16 scale
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18);
inline constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

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

// 256 weights in 16 sub-blocks of 16: w = d * (scales[k] & 15) * q - dmin * (scales[k] >> 4),
// q in 0..3. As in Q6_K, two halves of 128 weights; in half h weight 32i + l
// (i < 4, l < 32) is (qs[32h + l] >> 2i) & 3 with scale byte scales[8h + 2i + l / 16].
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;     // fp16 scale of the sub-block scales
  uint16_t dmin;  // fp16 scale of the sub-block mins
};
static_assert(sizeof(BlockQ2_K) == 84);

// 256 weights in 16 sub-blocks of 16: w = d * (sc[k] - 32) * (q - 4), q in 0..7.
// Low 2 bits of q as in Q2_K; the third bit of weight 128h + 32i + l is bit
// 4h + i of hmask[l]. The 6-bit sc[k]: low 4 bits in scales[k] (k < 8, low
// nibble) or scales[k - 8] (high nibble), high 2 bits (scales[8 + k % 4] >> 2(k / 4)) & 3.
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;  // fp16 super-block scale
};
static_assert(sizeof(BlockQ3_K) == 110);

// 256 weights as Q4_K with a fifth bit: q in 0..31, scales and mins packed as
// Q4_K's, low 4 bits as Q4_K's qs; weight 32j + l's fifth bit is bit j of qh[l].
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 256 weights in 8 sub-blocks of 32: w = d * (ls[j] - 32) * kIq4Values[q], q
// in 0..15; sub-block j's 16 bytes qs[16j..] hold its weights as BlockIQ4_NL
// does. ls[j] (6 bits): low 4 bits (scales_l[j / 2] >> 4(j % 2)) & 15, high 2
// bits (scales_h >> 2j) & 3.
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

}  // namespace tessera
