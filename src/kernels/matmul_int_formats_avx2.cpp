// AVX2 matmul of Q4_1, Q5_0, Q5_1, IQ4_NL (Q8x32 activations) and Q2_K, Q3_K,
// Q5_K, IQ4_XS (Q8x256) with int8 activations, reading the file's own layout.
//
// Every format is decoded 32 columns at a time into one vector of int8 weights
// w (column order) with an int16 scale and min per 16 columns (sc, m), as
// ref::matmul_quantized defines them. Per token, vpmaddubsw pairs w with the
// activations (signed formats move w's sign onto x, |w| <= 127 keeps a pair
// within 16 bits) and vpmaddwd applies sc, summing into int32 lanes over the
// unit that shares one activation scale (32 or 256 columns); the mins go the
// same way against the activations' pair sums. A unit then costs one or two
// conversions and FMAs per token:
//   acc += (d * dx) * dot + (min_scale * dx) * mins
// Each (row, token) is summed in the same order whatever the tile, and a row's
// decoded operands are the same values whether decoded per tile or once into
// scratch, so decode and prefill agree bit for bit.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "core/blocks.h"
#include "kernels/avx2_kernels.h"
#include "kernels/matmul_rows8_avx2.h"
#include "kernels/reference_kquants.h"

namespace tessera::kernels::avx2 {
namespace {

inline float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}

inline __m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// 16 bytes of nibble pairs as 32 bytes: the low nibbles (columns 0..15), then the high ones.
inline __m256i nibbles(const uint8_t* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i low4 = _mm_set1_epi8(15);
  return _mm256_setr_m128i(_mm_and_si128(v, low4), _mm_and_si128(_mm_srli_epi16(v, 4), low4));
}

// Bit j of the little-endian 32-bit word at p as 0x10 in byte j (Q5_0 / Q5_1's fifth bits).
inline __m256i fifth_bits(const uint8_t* p) {
  int32_t bits;
  std::memcpy(&bits, p, sizeof bits);
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                                          3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(bits), spread);
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(0x10));
}

// Bits [shift, shift + width) of each byte of v.
inline __m256i bit_field(__m256i v, int shift, int mask) {
  return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(static_cast<char>(mask)));
}

inline __m256i grid_values(__m256i index) {
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4Values)));
  return _mm256_shuffle_epi8(table, index);
}

// int16 lanes: a for columns 0..15 of the block, b for 16..31.
inline __m256i pair16(int a, int b) {
  return _mm256_setr_m128i(_mm_set1_epi16(static_cast<int16_t>(a)), _mm_set1_epi16(static_cast<int16_t>(b)));
}

struct Block32 {
  __m256i w, sc, m;
};

// --- Formats: kAct, kBlocks (of 32 columns per unit), kUnitBytes, kSigned,
// kHasMin, a Unit with d and min_scale, and block(unit, p, b).

struct UnitBase {
  float d = 0.0f, min_scale = 0.0f;
};

struct Q4_1Fmt {
  static constexpr ActFormat kAct = ActFormat::Q8x32;
  static constexpr int kBlocks = 1;
  static constexpr size_t kUnitBytes = sizeof(BlockQ4_1);
  static constexpr bool kSigned = false, kHasMin = true;
  using Unit = UnitBase;
  static Unit unit(const uint8_t* p) { return {half_at(p), half_at(p + 2)}; }
  static Block32 block(const Unit&, const uint8_t* p, int) {
    const __m256i one = _mm256_set1_epi16(1);
    return {nibbles(p + 4), one, one};
  }
};

struct Q5_0Fmt {
  static constexpr ActFormat kAct = ActFormat::Q8x32;
  static constexpr int kBlocks = 1;
  static constexpr size_t kUnitBytes = sizeof(BlockQ5_0);
  static constexpr bool kSigned = true, kHasMin = false;
  using Unit = UnitBase;
  static Unit unit(const uint8_t* p) { return {half_at(p), 0.0f}; }
  static Block32 block(const Unit&, const uint8_t* p, int) {
    const __m256i q = _mm256_or_si256(nibbles(p + 6), fifth_bits(p + 2));
    return {_mm256_sub_epi8(q, _mm256_set1_epi8(16)), _mm256_set1_epi16(1), _mm256_setzero_si256()};
  }
};

struct Q5_1Fmt {
  static constexpr ActFormat kAct = ActFormat::Q8x32;
  static constexpr int kBlocks = 1;
  static constexpr size_t kUnitBytes = sizeof(BlockQ5_1);
  static constexpr bool kSigned = false, kHasMin = true;
  using Unit = UnitBase;
  static Unit unit(const uint8_t* p) { return {half_at(p), half_at(p + 2)}; }
  static Block32 block(const Unit&, const uint8_t* p, int) {
    const __m256i one = _mm256_set1_epi16(1);
    return {_mm256_or_si256(nibbles(p + 8), fifth_bits(p + 4)), one, one};
  }
};

struct IQ4_NLFmt {
  static constexpr ActFormat kAct = ActFormat::Q8x32;
  static constexpr int kBlocks = 1;
  static constexpr size_t kUnitBytes = sizeof(BlockIQ4_NL);
  static constexpr bool kSigned = true, kHasMin = false;
  using Unit = UnitBase;
  static Unit unit(const uint8_t* p) { return {half_at(p), 0.0f}; }
  static Block32 block(const Unit&, const uint8_t* p, int) {
    return {grid_values(nibbles(p + 2)), _mm256_set1_epi16(1), _mm256_setzero_si256()};
  }
};

// Block b of a super-block: half h = b / 4, 2-bit field `part` = b % 4 of the
// half's 32 quant bytes (Q2_K, Q3_K), 16-column scales 8h + 2 part and + 1.
struct Q2_KFmt {
  static constexpr ActFormat kAct = ActFormat::Q8x256;
  static constexpr int kBlocks = 8;
  static constexpr size_t kUnitBytes = sizeof(BlockQ2_K);
  static constexpr bool kSigned = false, kHasMin = true;
  using Unit = UnitBase;
  static Unit unit(const uint8_t* p) { return {half_at(p + 80), -half_at(p + 82)}; }
  static Block32 block(const Unit&, const uint8_t* p, int b) {
    const int h = b / 4, part = b % 4;
    const uint8_t s0 = p[8 * h + 2 * part], s1 = p[8 * h + 2 * part + 1];
    return {bit_field(load32(p + 16 + 32 * h), 2 * part, 3), pair16(s0 & 15, s1 & 15), pair16(s0 >> 4, s1 >> 4)};
  }
};

struct Q3_KFmt {
  static constexpr ActFormat kAct = ActFormat::Q8x256;
  static constexpr int kBlocks = 8;
  static constexpr size_t kUnitBytes = sizeof(BlockQ3_K);
  static constexpr bool kSigned = true, kHasMin = false;
  struct Unit : UnitBase {
    int scales[16];
  };
  static Unit unit(const uint8_t* p) {
    Unit u;
    u.d = half_at(p + 108);
    for (int k = 0; k < 16; ++k) u.scales[k] = ref::q3_k_scale(p + 96, k);
    return u;
  }
  static Block32 block(const Unit& u, const uint8_t* p, int b) {
    const int h = b / 4, part = b % 4;
    const __m256i low = bit_field(load32(p + 32 + 32 * h), 2 * part, 3);
    const __m256i high = _mm256_slli_epi16(bit_field(load32(p), b, 1), 2);
    const __m256i w = _mm256_sub_epi8(_mm256_or_si256(low, high), _mm256_set1_epi8(4));
    return {w, pair16(u.scales[8 * h + 2 * part], u.scales[8 * h + 2 * part + 1]), _mm256_setzero_si256()};
  }
};

struct Q5_KFmt {
  static constexpr ActFormat kAct = ActFormat::Q8x256;
  static constexpr int kBlocks = 8;
  static constexpr size_t kUnitBytes = sizeof(BlockQ5_K);
  static constexpr bool kSigned = false, kHasMin = true;
  struct Unit : UnitBase {
    int sc[8], m[8];
  };
  static Unit unit(const uint8_t* p) {
    Unit u;
    u.d = half_at(p);
    u.min_scale = -half_at(p + 2);
    for (int j = 0; j < 8; ++j) ref::q4_k_scale_min(p + 4, j, &u.sc[j], &u.m[j]);
    return u;
  }
  static Block32 block(const Unit& u, const uint8_t* p, int b) {
    const __m256i low = bit_field(load32(p + 48 + 32 * (b / 2)), 4 * (b % 2), 15);
    const __m256i high = _mm256_slli_epi16(bit_field(load32(p + 16), b, 1), 4);
    return {_mm256_or_si256(low, high), _mm256_set1_epi16(static_cast<int16_t>(u.sc[b])),
            _mm256_set1_epi16(static_cast<int16_t>(u.m[b]))};
  }
};

struct IQ4_XSFmt {
  static constexpr ActFormat kAct = ActFormat::Q8x256;
  static constexpr int kBlocks = 8;
  static constexpr size_t kUnitBytes = sizeof(BlockIQ4_XS);
  static constexpr bool kSigned = true, kHasMin = false;
  struct Unit : UnitBase {
    int scales[8];
  };
  static Unit unit(const uint8_t* p) {
    Unit u;
    u.d = half_at(p);
    uint16_t high;
    std::memcpy(&high, p + 2, sizeof high);
    for (int j = 0; j < 8; ++j)
      u.scales[j] = (((p[4 + j / 2] >> (4 * (j % 2))) & 15) | ((high >> (2 * j)) & 3) << 4) - 32;
    return u;
  }
  static Block32 block(const Unit& u, const uint8_t* p, int b) {
    return {grid_values(nibbles(p + 8 + 16 * b)), _mm256_set1_epi16(static_cast<int16_t>(u.scales[b])),
            _mm256_setzero_si256()};
  }
};

inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// A row's weights as the kernel consumes them, block by block: decoded on the
// fly (Direct, for a few tokens) or once per row into scratch and reloaded for
// every tile of tokens (Decoded, for prompts). Both give the same values, so a
// token's sum is the same bits either way.
struct UnitFactors {
  float d, min_scale;
};

struct BlockOperands {
  __m256i magnitude, w, sc, m;  // magnitude: |w| for signed formats, else w
};

template <class F>
BlockOperands operands_of(const Block32& blk) {
  return {F::kSigned ? _mm256_abs_epi8(blk.w) : blk.w, blk.w, blk.sc, blk.m};
}

template <class F>
class Direct {
 public:
  explicit Direct(const uint8_t* row) : row_(row) {}
  UnitFactors unit(int64_t u) {
    p_ = row_ + u * F::kUnitBytes;
    unit_ = F::unit(p_);
    return {unit_.d, unit_.min_scale};
  }
  BlockOperands block(int64_t, int b) const { return operands_of<F>(F::block(unit_, p_, b)); }

 private:
  const uint8_t* row_;
  const uint8_t* p_ = nullptr;
  typename F::Unit unit_;
};

// Per-thread scratch of one decoded row, grown to the longest row seen.
struct DecodedRow {
  std::vector<BlockOperands> blocks;
  std::vector<UnitFactors> units;
};

template <class F>
class Decoded {
 public:
  Decoded(const uint8_t* row, int64_t units, DecodedRow& scratch) : rows_(scratch) {
    if (rows_.units.size() < static_cast<size_t>(units)) rows_.units.resize(static_cast<size_t>(units));
    if (rows_.blocks.size() < static_cast<size_t>(units * F::kBlocks))
      rows_.blocks.resize(static_cast<size_t>(units * F::kBlocks));
    Direct<F> direct(row);
    for (int64_t u = 0; u < units; ++u) {
      rows_.units[static_cast<size_t>(u)] = direct.unit(u);
      for (int b = 0; b < F::kBlocks; ++b) rows_.blocks[static_cast<size_t>(u * F::kBlocks + b)] = direct.block(u, b);
    }
  }
  UnitFactors unit(int64_t u) const { return rows_.units[static_cast<size_t>(u)]; }
  // A reference: copying the struct goes through 16-byte moves, and reloading
  // those as 32-byte vectors stalls on store forwarding (measured 4x slower).
  const BlockOperands& block(int64_t u, int b) const { return rows_.blocks[static_cast<size_t>(u * F::kBlocks + b)]; }

 private:
  DecodedRow& rows_;
};

// One row (from `src`) against T tokens: out[t] = the row's dot product with token t.
template <class F, int T, class Source>
void row_tile(Source& src, int64_t units, const TokenRows<T, F::kAct>& x, float* out) {
  const __m256i ones8 = _mm256_set1_epi8(1);
  __m256 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t u = 0; u < units; ++u) {
    const UnitFactors unit = src.unit(u);
    __m256i dot[T], mins[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) dot[t] = mins[t] = _mm256_setzero_si256();
    for (int b = 0; b < F::kBlocks; ++b) {
      const auto& op = src.block(u, b);
      const int64_t col = (u * F::kBlocks + b) * 32;
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i xv = load32(reinterpret_cast<const uint8_t*>(x.q[t] + col));
        const __m256i pairs = _mm256_maddubs_epi16(op.magnitude, F::kSigned ? _mm256_sign_epi8(xv, op.w) : xv);
        dot[t] = in_order(_mm256_add_epi32(dot[t], _mm256_madd_epi16(pairs, op.sc)));
        if (F::kHasMin)
          mins[t] = _mm256_add_epi32(mins[t], _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xv), op.m));
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const float dx = x.d[t][u];
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[t]), _mm256_set1_ps(unit.d * dx), acc[t]);
      if (F::kHasMin)
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins[t]), _mm256_set1_ps(unit.min_scale * dx), acc[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) out[t] = horizontal_sum(acc[t]);
}

template <class F, int T, class Source>
void tile_at(Source& src, int64_t cols, const uint8_t* xq, size_t xq_stride, int64_t t0, int64_t r, float* y,
             int64_t rows) {
  const TokenRows<T, F::kAct> x(xq, xq_stride, t0, cols);
  float out[T];
  row_tile<F, T>(src, cols / (32 * F::kBlocks), x, out);
  for (int t = 0; t < T; ++t) y[(t0 + t) * rows + r] = out[t];
}

// Tokens in blocks whose activations stay in L2, rows inside, 4 tokens a tile.
// With at least a tile of tokens a row is decoded once into scratch per block of
// tokens, instead of once per tile.
template <class F>
void rows_q(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
            const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  thread_local DecodedRow scratch;
  const int64_t units = cols / (32 * F::kBlocks);
  int64_t block = kRows8TokenBlockBytes / static_cast<int64_t>(xq_stride);
  block = block < kRows8Tokens ? kRows8Tokens : block - block % kRows8Tokens;
  for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
    const int64_t t_end = n_tokens - t0 < block ? n_tokens : t0 + block;
    for (int64_t r = row_begin; r < row_end; ++r) {
      const uint8_t* row = W + r * row_stride;
      int64_t t = t0;
      if (t_end - t0 >= kRows8Tokens) {
        Decoded<F> src(row, units, scratch);
        for (; t + kRows8Tokens <= t_end; t += kRows8Tokens)
          tile_at<F, kRows8Tokens>(src, cols, xq, xq_stride, t, r, y, rows);
        for (; t < t_end; ++t) tile_at<F, 1>(src, cols, xq, xq_stride, t, r, y, rows);
      } else {
        Direct<F> src(row);
        for (; t < t_end; ++t) tile_at<F, 1>(src, cols, xq, xq_stride, t, r, y, rows);
      }
    }
  }
}

template <DType Type>
struct FormatOf;
template <> struct FormatOf<DType::Q4_1> { using type = Q4_1Fmt; };
template <> struct FormatOf<DType::Q5_0> { using type = Q5_0Fmt; };
template <> struct FormatOf<DType::Q5_1> { using type = Q5_1Fmt; };
template <> struct FormatOf<DType::IQ4_NL> { using type = IQ4_NLFmt; };
template <> struct FormatOf<DType::Q2_K> { using type = Q2_KFmt; };
template <> struct FormatOf<DType::Q3_K> { using type = Q3_KFmt; };
template <> struct FormatOf<DType::Q5_K> { using type = Q5_KFmt; };
template <> struct FormatOf<DType::IQ4_XS> { using type = IQ4_XSFmt; };

}  // namespace

template <DType Type>
void matmul_int_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const uint8_t* xq, size_t xq_stride, int64_t n_tokens, float* y, int64_t rows) {
  rows_q<typename FormatOf<Type>::type>(W, row_stride, cols, row_begin, row_end, xq, xq_stride, n_tokens, y, rows);
}

#define TESSERA_INT_ROWS(T)                                                                                      \
  template void matmul_int_rows<DType::T>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const uint8_t*, size_t, \
                                          int64_t, float*, int64_t);
TESSERA_INT_ROWS(Q4_1)
TESSERA_INT_ROWS(Q5_0)
TESSERA_INT_ROWS(Q5_1)
TESSERA_INT_ROWS(IQ4_NL)
TESSERA_INT_ROWS(Q2_K)
TESSERA_INT_ROWS(Q3_K)
TESSERA_INT_ROWS(Q5_K)
TESSERA_INT_ROWS(IQ4_XS)
#undef TESSERA_INT_ROWS

}  // namespace tessera::kernels::avx2
