// Load-time rearrangement of F16 / Q4_0 / Q8_0 / Q4_K / Q5_K / Q6_K weight matrices for kernels whose
// SIMD lanes are rows rather than columns. A repacked matrix has the same size
// and row stride as the original; only the order of bytes within each group of
// 8 (or 16) rows changes, so it can replace the original in place of its mapping.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace tessera::kernels {

// Layout "rows8", for Q4_0 and Q8_0 (nb = cols / 32 blocks of Q quant bytes,
// Q = 16 for Q4_0 and 32 for Q8_0, stride = row_bytes(type, cols)):
// rows [8g, 8g + 8) fill the 8 * stride bytes at g * 8 * stride with
//   bytes [16b + 2i, +2)                    row i's fp16 scale of block b
//   bytes [16nb + 8Qb + 4(8k + i), +4)      row i's quant bytes 4k .. 4k+3 of block b
// (for Q4_0: its columns 4k .. 4k+3 in the low nibbles, 4k+16 .. 4k+19 in the
// high ones). With nb a multiple of 4 and a 64-byte-aligned matrix, every
// 32-byte load of quants is aligned. Rows from 8 * (rows / 8) on stay as they were.
//
// For Q4_K (nb = cols / 256 super-blocks of 144 bytes, core/blocks.h) the group's
// super-block s fills the 1152 bytes at g * 8 * stride + 1152 s with
//   bytes [2i, +2) / [16 + 2i, +2)   row i's fp16 d / dmin
//   byte  32 + 8k + i                row i's packed scales byte k (k < 12)
//   bytes [128 + 32c + 4i, +4)       row i's quant bytes 4c .. 4c+3 (c < 32)
// so one 8-byte load gives a scales byte of all 8 rows, and one 32-byte load
// 4 columns of sub-blocks 2p (low nibbles) and 2p + 1 (high) for 8 rows, p = c / 8.
// Q5_K (176-byte super-blocks) is laid out as Q4_K in its first 1152 bytes, then
//   bytes [1152 + 32e + 4i, +4)      row i's qh bytes 4e .. 4e+3 (e < 8)
// so the 32-byte load of qh chunk e holds the fifth bits of the columns 4e..4e+3
// of every sub-block (bit j for sub-block j) that quant chunks 8p + e hold.
//
// For Q6_K (nb = cols / 256 super-blocks of 210 bytes) the group's super-block s
// fills the 1680 bytes at g * 8 * stride + 1680 s with
//   bytes [32c + 4i, +4)          row i's ql bytes 4c .. 4c+3 (c < 32)
//   bytes [1024 + 32e + 4i, +4)   row i's qh bytes 4e .. 4e+3 (e < 16)
//   bytes [1536 + 2i, +2)         row i's fp16 d
//   bytes [1552 + 16k + 2i, +2)   row i's scales 2k and 2k+1 (k < 8)
// so 32-byte loads of ql and qh give 4 columns of 8 rows, and one 16-byte load
// the two 16-column scales of 32 columns for all 8 rows.
//
// For F16, column c of the group's 8 rows is the 16 bytes at g * 8 * stride + 16c
// (row i's value at + 2i): one 16-byte load widens to 8 rows' floats.
bool can_repack_rows8(DType type);
void repack_rows8(DType type, const void* src, void* dst, int64_t rows, int64_t cols);

// Layout "rows16", for Q4_0, Q8_0, Q4_K, Q5_K and Q6_K on 512-bit registers: rows8 with
// groups of 16 rows (every offset above with 8 -> 16: a 64-byte load gives 16
// rows x 4 quant bytes), except that Q8_0 quants are stored as q + 128 (the
// byte xor 0x80, unsigned), so vpdpbusd takes them as its unsigned operand and
// 128 times the activation block sum comes off afterwards, and that Q4_0 / Q8_0
// scales sit beside their quants, a pair of blocks at a time: blocks 2p and
// 2p + 1 fill the 2 * (32 + 16Q) bytes at g * 16 * stride + 2p * (32 + 16Q) with
//   bytes [32e + 2i, +2)                  row i's fp16 scale of block 2p + e
//   bytes [64 + 16Qe + 4(16k + i), +4)    row i's quant bytes 4k .. 4k+3 of block 2p + e
// (an odd last block alone: its 32 bytes of scales, then its quants), so a
// group is one address stream, read in order; a 512-bit load of quants is
// 64-byte aligned when the matrix is, except after an odd last block's scales.
// Q5_K and Q6_K chunks likewise sit in the order a one-token kernel reads them:
// Q5_K keeps Q4_K's first 256 bytes, then for e < 8
//   bytes [256 + 128e, +64)        qh chunk e (16 rows x 4 bytes, as above)
//   bytes [320 + 128e, +64)        quant chunk e (sub-blocks 0 and 1)
// then quant chunks 8 .. 31 at 768 + 64c; Q6_K (3360 bytes) has
//   bytes [2i, +2)                 row i's fp16 d
//   bytes [32 + 32k + 2i, +2)      row i's scales 2k and 2k+1 (k < 8)
// then two halves of 1536 bytes at 288 + 1536h, each: ql chunk 16h + e and
// qh chunk 8h + e at + 128e and + 128e + 64 (e < 8), then ql chunk 16h + 8 + e
// at + 1024 + 64e. For BF16 (any cols),
// column pair p of the group's 16 rows is the 64 bytes at g * 16 * stride + 64p
// (row i's columns 2p and 2p + 1 at + 4i: one load feeds vdpbf16ps 16 rows),
// and an odd last column the 32 bytes after the pairs (row i's at + 2i). Rows
// from 16 * (rows / 16) on stay as they were. F16 in rows16 is the BF16 layout
// of the matrix rounded to bf16 (nearest even), its tail rows included: kernels
// that multiply bf16 (vdpbf16ps) read it as BF16.
bool can_repack_rows16(DType type);
void repack_rows16(DType type, const void* src, void* dst, int64_t rows, int64_t cols);

}  // namespace tessera::kernels
