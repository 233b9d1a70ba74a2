#include "kernels/weight_repack.h"

#include <cstring>
#include <vector>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"

namespace tessera::kernels {

bool can_repack_rows8(DType type) {
  return type == DType::F16 || type == DType::Q4_0 || type == DType::Q8_0 || type == DType::Q4_K ||
         type == DType::Q5_K || type == DType::Q6_K;
}

bool can_repack_rows16(DType type) {
  return type == DType::Q4_0 || type == DType::Q8_0 || type == DType::Q4_K || type == DType::Q5_K ||
         type == DType::Q6_K || type == DType::BF16 || type == DType::F16;
}

namespace {

// N = rows per group (8 or 16); the offsets are weight_repack.h's with 8 -> N,
// except where rows16 orders Q5_K's and Q6_K's chunks in reading order.
// Offset of quant chunk c (c < 32) of a Q4_K / Q5_K super-block.
size_t k_quant_chunk(int N, bool fifth_bit, int c) {
  if (N == 16 && fifth_bit) return c < 8 ? 20 * N + 8 * N * c : 48 * N + 4 * N * c;
  return 16 * N + 4 * N * c;
}

// Offset of Q5_K's fifth-bit chunk e (e < 8).
size_t q5_k_fifth_bits_chunk(int N, int e) { return N == 16 ? 16 * N + 8 * N * e : 144 * N + 4 * N * e; }

// Q5_K (Block = BlockQ5_K) is Q4_K's layout with its fifth bits after it (rows8)
// or each fifth-bit chunk before its sub-block 0/1 quant chunk (rows16).
template <class Block>
void repack_q4_k_q5_k_group(int N, const uint8_t* in, size_t stride, int64_t super_blocks, uint8_t* out) {
  constexpr bool kFifthBit = sizeof(Block) == sizeof(BlockQ5_K);
  for (int64_t s = 0; s < super_blocks; ++s, out += N * sizeof(Block)) {
    for (int i = 0; i < N; ++i) {
      Block b;
      std::memcpy(&b, in + i * stride + s * sizeof(Block), sizeof b);
      std::memcpy(out + 2 * i, &b.d, 2);
      std::memcpy(out + 2 * N + 2 * i, &b.dmin, 2);
      for (int k = 0; k < 12; ++k) out[4 * N + N * k + i] = b.scales[k];
      for (int c = 0; c < 32; ++c) std::memcpy(out + k_quant_chunk(N, kFifthBit, c) + 4 * i, b.qs + 4 * c, 4);
      if constexpr (kFifthBit)
        for (int e = 0; e < 8; ++e) std::memcpy(out + q5_k_fifth_bits_chunk(N, e) + 4 * i, b.qh + 4 * e, 4);
    }
  }
}

// Where a Q6_K super-block of N rows keeps its parts (weight_repack.h).
struct Q6_KPlace {
  int N;
  size_t ql(int c) const {  // chunk c < 32
    if (N == 8) return 4 * N * c;
    const int m = c % 16;
    return half(c / 16) + (m < 8 ? 8 * N * m : 32 * N + 4 * N * m);
  }
  size_t qh(int e) const { return N == 8 ? 128 * N + 4 * N * e : half(e / 8) + 8 * N * (e % 8) + 4 * N; }
  size_t d() const { return N == 8 ? 192 * N : 0; }
  size_t scales(int k) const { return N == 8 ? 194 * N + 2 * N * k : 2 * N + 2 * N * k; }  // k < 8
  size_t half(int h) const { return 18 * N + 96 * N * h; }  // rows16
};

void repack_q6_k_group(int N, const uint8_t* in, size_t stride, int64_t super_blocks, uint8_t* out) {
  const Q6_KPlace at{N};
  for (int64_t s = 0; s < super_blocks; ++s, out += N * sizeof(BlockQ6_K)) {
    for (int i = 0; i < N; ++i) {
      BlockQ6_K b;
      std::memcpy(&b, in + i * stride + s * sizeof(BlockQ6_K), sizeof b);
      for (int c = 0; c < 32; ++c) std::memcpy(out + at.ql(c) + 4 * i, b.ql + 4 * c, 4);
      for (int e = 0; e < 16; ++e) std::memcpy(out + at.qh(e) + 4 * i, b.qh + 4 * e, 4);
      std::memcpy(out + at.d() + 2 * i, &b.d, 2);
      for (int k = 0; k < 8; ++k) std::memcpy(out + at.scales(k) + 2 * i, b.scales + 2 * k, 2);
    }
  }
}

void repack_f16_group(const uint8_t* in, size_t stride, int64_t cols, uint8_t* out) {
  for (int64_t c = 0; c < cols; ++c)
    for (int i = 0; i < 8; ++i) std::memcpy(out + 16 * c + 2 * i, in + i * stride + 2 * c, 2);
}

// BF16 in rows16: column pairs of 16 rows, an odd last column alone.
void repack_bf16_pairs_group(const uint8_t* in, size_t stride, int64_t cols, uint8_t* out) {
  for (int64_t p = 0; p < cols / 2; ++p)
    for (int i = 0; i < 16; ++i) std::memcpy(out + 64 * p + 4 * i, in + i * stride + 4 * p, 4);
  if (cols % 2)
    for (int i = 0; i < 16; ++i) std::memcpy(out + 64 * (cols / 2) + 2 * i, in + i * stride + 2 * (cols - 1), 2);
}

// `rows` F16 rows (stride bytes apart) rounded to bf16 (nearest even), in place of them in out.
void f16_rows_to_bf16(const uint8_t* in, size_t stride, int64_t rows, int64_t cols, uint8_t* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      uint16_t h;
      std::memcpy(&h, in + r * stride + 2 * c, 2);
      const uint16_t b = fp32_to_bf16(fp16_to_fp32(h));
      std::memcpy(out + r * stride + 2 * c, &b, 2);
    }
}

// Where a group's block b of Q4_0 / Q8_0 keeps its N rows' scales and quants
// (weight_repack.h): rows8 has all scales first; rows16 puts each pair of
// blocks' scales right before the pair's quants (an odd last block alone).
struct Block32Place {
  size_t scales, quants;
};

Block32Place block32_place(int N, int64_t b, int64_t blocks, size_t quant_bytes) {
  const size_t group_quants = N * quant_bytes, bi = static_cast<size_t>(b);
  if (N == 8) return {2 * N * bi, 2 * N * static_cast<size_t>(blocks) + group_quants * bi};
  const size_t pair = bi / 2 * 2 * (2 * N + group_quants), second = bi % 2;
  const size_t pair_scales = (bi / 2 * 2 + 1 < static_cast<size_t>(blocks) ? 2 : 1) * 2 * N;
  return {pair + 2 * N * second, pair + pair_scales + group_quants * second};
}

// Q4_0 / Q8_0: blocks of 32 with one fp16 scale first. `flip` xors every quant
// byte with 0x80 (rows16 Q8_0: q + 128, unsigned).
void repack_q32_group(int N, DType type, const uint8_t* in, size_t stride, int64_t blocks, uint8_t flip,
                      uint8_t* out) {
  const size_t block_bytes = dtype_info(type).block_bytes;
  const size_t quant_bytes = block_bytes - 2;  // after the fp16 scale
  for (int64_t b = 0; b < blocks; ++b) {
    const Block32Place at = block32_place(N, b, blocks, quant_bytes);
    for (int i = 0; i < N; ++i) {
      const uint8_t* block = in + i * stride + b * block_bytes;
      std::memcpy(out + at.scales + 2 * i, block, 2);
      for (size_t k = 0; k < quant_bytes / 4; ++k) {
        uint8_t* q = out + at.quants + 4 * (N * k + i);
        for (int j = 0; j < 4; ++j) q[j] = block[2 + 4 * k + j] ^ flip;
      }
    }
  }
}

// Groups of N rows in the layouts of weight_repack.h; rows past the last whole
// group are copied as they are.
void repack_groups(int N, DType type, const void* src, void* dst, int64_t rows, int64_t cols) {
  const size_t stride = row_bytes(type, cols);  // checks cols against the block size
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t full = rows / N * N;
  std::vector<uint8_t> rounded;  // F16 in rows16: a group rounded to bf16, then laid out as BF16
  if (type == DType::F16 && N == 16) rounded.resize(16 * stride);
  for (int64_t g = 0; g < full; g += N) {
    if (type == DType::F16 && N == 16) {
      f16_rows_to_bf16(in + g * stride, stride, 16, cols, rounded.data());
      repack_bf16_pairs_group(rounded.data(), stride, cols, out + g * stride);
    } else if (type == DType::F16)
      repack_f16_group(in + g * stride, stride, cols, out + g * stride);
    else if (type == DType::BF16)
      repack_bf16_pairs_group(in + g * stride, stride, cols, out + g * stride);
    else if (type == DType::Q4_K)
      repack_q4_k_q5_k_group<BlockQ4_K>(N, in + g * stride, stride, cols / kQK_K, out + g * stride);
    else if (type == DType::Q5_K)
      repack_q4_k_q5_k_group<BlockQ5_K>(N, in + g * stride, stride, cols / kQK_K, out + g * stride);
    else if (type == DType::Q6_K)
      repack_q6_k_group(N, in + g * stride, stride, cols / kQK_K, out + g * stride);
    else
      repack_q32_group(N, type, in + g * stride, stride, cols / 32, type == DType::Q8_0 && N == 16 ? 0x80 : 0,
                       out + g * stride);
  }
  if (rows > full && type == DType::F16 && N == 16)
    f16_rows_to_bf16(in + full * stride, stride, rows - full, cols, out + full * stride);
  else if (rows > full)
    std::memcpy(out + full * stride, in + full * stride, static_cast<size_t>(rows - full) * stride);
}

}  // namespace

void repack_rows8(DType type, const void* src, void* dst, int64_t rows, int64_t cols) {
  if (!can_repack_rows8(type)) fail("repack_rows8: no rows8 layout for {}", dtype_name(type));
  repack_groups(8, type, src, dst, rows, cols);
}

void repack_rows16(DType type, const void* src, void* dst, int64_t rows, int64_t cols) {
  if (!can_repack_rows16(type)) fail("repack_rows16: no rows16 layout for {}", dtype_name(type));
  repack_groups(16, type, src, dst, rows, cols);
}

}  // namespace tessera::kernels
