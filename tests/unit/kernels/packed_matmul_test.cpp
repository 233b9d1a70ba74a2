// Every tier's int8 kernels on weights in the layout that tier prefers (rows8
// on AVX2, rows16 on AVX-512, native and on SIMDe): the exact integer reference
// on the original matrix to float rounding, whatever the row count (tails of
// partial groups), thread split or batch; and the extreme quants that would
// overflow a narrower sum.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/quantized_activations.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/weight_repack.h"

namespace tessera::kernels {
namespace {

using test::abs_dot;
using test::act_for;
using test::dequantize_rows;
using test::is_k_quant;
using test::PerIsa;
using test::quantize_rows;
using test::random_floats;
using test::random_matrix;

constexpr DType kInt8Types[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

class PackedMatmulTest : public PerIsa {
 protected:
  // The tier's preferred packed layout for `type`, or Plain when it has none.
  WeightLayout layout(DType type) const { return preferred_layout_of(table(), type); }

  // y = W x through the tier for W in `layout`, repacked from the plain w.
  std::vector<float> run(ThreadPool& pool, DType type, WeightLayout l, const std::vector<uint8_t>& w, int64_t rows,
                         int64_t cols, const float* x, int64_t n_tokens) const {
    std::vector<uint8_t> packed(w.size());
    repack_weights(type, l, w.data(), packed.data(), rows, cols);
    std::vector<float> y(static_cast<size_t>(rows * n_tokens), NAN);
    matmul_with(table(), pool, type, l, packed.data(), rows, cols, x, n_tokens, y.data());
    return y;
  }
};
// The tiers that multiply some int8 format in a packed layout (not generic).
std::vector<test::TestTier> packed_tiers() {
  std::vector<test::TestTier> tiers;
  for (const test::TestTier& tier : test::test_tiers())
    for (DType type : kInt8Types)
      if (preferred_layout_of(*tier.table, type) != WeightLayout::Plain) {
        tiers.push_back(tier);
        break;
      }
  return tiers;
}
INSTANTIATE_TEST_SUITE_P(Isa, PackedMatmulTest, ::testing::ValuesIn(packed_tiers()), test::isa_test_name);

TEST_P(PackedMatmulTest, MatchesExactIntegerReferenceAndIsBatchInvariant) {
  ThreadPool one(1), three(3);
  uint32_t seed = 4100;
  for (DType type : kInt8Types) {
    const WeightLayout l = layout(type);
    const MatmulKernel* k = table().matmul_for(type, l);
    ASSERT_NE(l, WeightLayout::Plain) << dtype_name(type);
    ASSERT_NE(k->rows_q, nullptr) << dtype_name(type);
    ASSERT_EQ(k->act, act_for(type));
    const std::vector<int64_t> cols_list =
        is_k_quant(type) ? std::vector<int64_t>{256, 768, 2048} : std::vector<int64_t>{32, 96, 160, 288, 2048};
    for (int64_t rows : {1, 7, 8, 15, 16, 17, 33, 67})
      for (int64_t cols : cols_list)
        for (int64_t n_tokens : {1, 2, 3, 5, 17}) {
          SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " cols=" << cols
                                          << " n_tokens=" << n_tokens);
          const std::vector<uint8_t> w = random_matrix(type, rows, cols, ++seed);
          const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), ++seed);
          const std::vector<uint8_t> xq = quantize_rows(x, cols, n_tokens, k->act);
          std::vector<float> want(static_cast<size_t>(rows * n_tokens));
          ref::matmul_quantized(type, k->act, w.data(), rows, cols, xq.data(), activation_row_bytes(k->act, cols),
                                n_tokens, want.data());
          const std::vector<float> got = run(one, type, l, w, rows, cols, x.data(), n_tokens);
          const std::vector<double> s = abs_dot(type, w, rows, cols, dequantize_rows(xq, cols, n_tokens, k->act), n_tokens);
          for (size_t i = 0; i < got.size(); ++i)
            ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), 1e-6 * s[i] + 1e-9)
                << "token " << i / rows << " row " << i % rows << ": got " << got[i] << " want " << want[i];
          const std::vector<float> got3 = run(three, type, l, w, rows, cols, x.data(), n_tokens);
          ASSERT_EQ(0, std::memcmp(got.data(), got3.data(), got.size() * sizeof(float)));
          const int64_t t = n_tokens / 2;  // the same token alone: the decode path
          const std::vector<float> single = run(three, type, l, w, rows, cols, x.data() + t * cols, 1);
          ASSERT_EQ(0, std::memcmp(single.data(), got.data() + t * rows, single.size() * sizeof(float))) << t;
        }
  }
}

// Largest sums: every quant at its extreme against activations all +127 or all
// -127 (Q4_0: q + 8 = 15; Q8_0: -127 and 127, stored biased in rows16; Q6_K:
// q - 32 = -32 with scales -128 and 127; Q4_K: q = 15, Q5_K: q = 31, scales
// and mins 63; on AVX2 Q5_K's 16-bit sums are closest to overflowing).
TEST_P(PackedMatmulTest, ExtremeQuantsDoNotOverflow) {
  const int64_t rows = 32, cols = 512;
  for (DType type : kInt8Types) {
    const WeightLayout l = layout(type);
    const MatmulKernel* k = table().matmul_for(type, l);
    SCOPED_TRACE(dtype_name(type));
    const size_t stride = row_bytes(type, cols);
    std::vector<uint8_t> w(stride * rows);
    for (int64_t r = 0; r < rows; ++r) {
      uint8_t* row = w.data() + r * stride;
      const uint16_t d = fp32_to_fp16(0.01f * static_cast<float>(r + 1));
      if (type == DType::Q4_0) {
        for (int64_t b = 0; b < cols / 32; ++b) {
          BlockQ4_0 q{d, {}};
          std::memset(q.qs, 0xff, sizeof q.qs);
          std::memcpy(row + b * sizeof q, &q, sizeof q);
        }
      } else if (type == DType::Q8_0) {
        for (int64_t b = 0; b < cols / 32; ++b) {
          BlockQ8_0 q{d, {}};
          for (int j = 0; j < 32; ++j) q.qs[j] = static_cast<int8_t>(r % 2 ? 127 : -127);
          std::memcpy(row + b * sizeof q, &q, sizeof q);
        }
      } else if (type == DType::Q6_K) {
        for (int64_t b = 0; b < cols / 256; ++b) {
          BlockQ6_K q{};
          q.d = d;
          for (int j = 0; j < 16; ++j) q.scales[j] = static_cast<int8_t>(j % 2 ? 127 : -128);
          std::memcpy(row + b * sizeof q, &q, sizeof q);  // ql = qh = 0: every q - 32 is -32
        }
      } else if (type == DType::Q5_K) {
        for (int64_t b = 0; b < cols / 256; ++b) {
          BlockQ5_K q{};
          q.d = d;
          q.dmin = fp32_to_fp16(0.001f);
          std::memset(q.scales, 0xff, sizeof q.scales);
          std::memset(q.qh, 0xff, sizeof q.qh);
          std::memset(q.qs, 0xff, sizeof q.qs);
          std::memcpy(row + b * sizeof q, &q, sizeof q);
        }
      } else {
        for (int64_t b = 0; b < cols / 256; ++b) {
          BlockQ4_K q{};
          q.d = d;
          q.dmin = fp32_to_fp16(0.001f);
          std::memset(q.scales, 0xff, sizeof q.scales);  // every 6-bit scale and min 63
          std::memset(q.qs, 0xff, sizeof q.qs);
          std::memcpy(row + b * sizeof q, &q, sizeof q);
        }
      }
    }
    for (float sign : {1.0f, -1.0f}) {
      const std::vector<float> x(static_cast<size_t>(cols), sign);
      const std::vector<uint8_t> xq = quantize_rows(x, cols, 1, k->act);
      std::vector<float> want(rows);
      ref::matmul_quantized(type, k->act, w.data(), rows, cols, xq.data(), xq.size(), 1, want.data());
      ThreadPool pool(1);
      const std::vector<float> got = run(pool, type, l, w, rows, cols, x.data(), 1);
      for (int64_t r = 0; r < rows; ++r) {
        EXPECT_NE(want[r], 0.0f);
        EXPECT_NEAR(got[r], want[r], 1e-5 * std::fabs(want[r])) << r;
      }
    }
  }
}

// The tiers with a BF16 kernel on bf16-rounded activations (AVX-512 with
// AVX512_BF16, and the SIMDe build).
std::vector<test::TestTier> bf16_tiers() {
  std::vector<test::TestTier> tiers;
  for (const test::TestTier& tier : test::test_tiers())
    if (tier.table->matmul_bf16_rows16.rows_q) tiers.push_back(tier);
  return tiers;
}

class Bf16MatmulTest : public PerIsa {};
INSTANTIATE_TEST_SUITE_P(Isa, Bf16MatmulTest, ::testing::ValuesIn(bf16_tiers()), test::isa_test_name);

// The weights as BF16 values: BF16 as they are, F16 each rounded to bf16 (ties
// to even; the F16 rows16 layout holds them so).
std::vector<uint8_t> as_bf16_weights(DType type, const std::vector<uint8_t>& w) {
  if (type == DType::BF16) return w;
  std::vector<uint8_t> out(w.size());
  for (size_t i = 0; i + 1 < w.size(); i += 2) {
    uint16_t h;
    std::memcpy(&h, w.data() + i, 2);
    const uint16_t b = fp32_to_bf16(fp16_to_fp32(h));
    std::memcpy(out.data() + i, &b, 2);
  }
  return out;
}

// Against the float reference on the activations as the kernel sees them
// (rounded to bf16 by the reference quantizer) and, for F16, on the weights
// rounded to bf16: only the float summation order differs. Odd column counts
// take the single-column tail; rows past the last group of 16 the scalar path;
// the batch and thread split change nothing.
TEST_P(Bf16MatmulTest, MatchesFloatReferenceOnBf16ActivationsAndIsBatchInvariant) {
  ThreadPool one(1), three(3);
  uint32_t seed = 5100;
  for (DType type : {DType::BF16, DType::F16}) {
    ASSERT_EQ(preferred_layout_of(table(), type), WeightLayout::Rows16) << dtype_name(type);
    for (int64_t rows : {1, 15, 16, 17, 33, 80})
      for (int64_t cols : {1, 2, 7, 64, 99, 512})
        for (int64_t n_tokens : {1, 2, 6, 7, 13}) {
          SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " cols=" << cols
                                          << " n_tokens=" << n_tokens);
          const std::vector<uint8_t> w = random_matrix(type, rows, cols, ++seed);
          const std::vector<uint8_t> wb = as_bf16_weights(type, w);
          std::vector<uint8_t> packed(w.size());
          repack_weights(type, WeightLayout::Rows16, w.data(), packed.data(), rows, cols);
          const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), ++seed);
          std::vector<float> xr(x.size());  // x as the kernel sees it
          for (size_t i = 0; i < x.size(); ++i) xr[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
          std::vector<float> want(static_cast<size_t>(rows * n_tokens)), got(want.size(), NAN), got3(want.size());
          ref::matmul(DType::BF16, wb.data(), rows, cols, xr.data(), n_tokens, want.data());
          matmul_with(table(), one, type, WeightLayout::Rows16, packed.data(), rows, cols, x.data(), n_tokens,
                      got.data());
          matmul_with(table(), three, type, WeightLayout::Rows16, packed.data(), rows, cols, x.data(), n_tokens,
                      got3.data());
          const std::vector<double> s = abs_dot(DType::BF16, wb, rows, cols, xr, n_tokens);
          for (size_t i = 0; i < got.size(); ++i)
            ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), 4e-6 * s[i] + 1e-9)
                << "token " << i / rows << " row " << i % rows << ": got " << got[i] << " want " << want[i];
          ASSERT_EQ(0, std::memcmp(got.data(), got3.data(), got.size() * sizeof(float)));
          const int64_t t = n_tokens - 1;
          std::vector<float> single(static_cast<size_t>(rows));
          matmul_with(table(), three, type, WeightLayout::Rows16, packed.data(), rows, cols, x.data() + t * cols, 1,
                      single.data());
          ASSERT_EQ(0, std::memcmp(single.data(), got.data() + t * rows, single.size() * sizeof(float)));
        }
  }
}

// The BF16 activation format: each float rounded as fp32_to_bf16 (ties to
// even, nan kept), zero padding to 64 bytes; every tier's quantizer alike.
TEST(QuantizeActivationsBf16, RoundsEachFloatAndPads) {
  const int64_t cols = 37;
  std::vector<float> x = random_floats(static_cast<size_t>(cols), 3, -5.0f, 5.0f);
  x[0] = 1.0f + 1.0f / 256.0f;  // exactly halfway between two bf16: ties to even (1.0)
  x[1] = NAN;
  const size_t stride = activation_row_bytes(ActFormat::BF16, cols);
  EXPECT_EQ(stride, 128u);
  std::vector<uint8_t> want(stride, 0xee);
  ref::quantize_activations(ActFormat::BF16, x.data(), cols, want.data());
  for (int64_t c = 0; c < cols; ++c) {
    uint16_t b;
    std::memcpy(&b, want.data() + 2 * c, sizeof b);
    EXPECT_EQ(b, fp32_to_bf16(x[c])) << c;
  }
  EXPECT_EQ(bf16_to_fp32(fp32_to_bf16(x[0])), 1.0f);
  for (size_t i = 2 * cols; i < stride; ++i) EXPECT_EQ(want[i], 0) << i;
  for (const test::TestTier& tier : test::test_tiers()) {
    std::vector<uint8_t> got(stride, 0xab);
    tier.table->quantize_activations(ActFormat::BF16, x.data(), cols, got.data());
    EXPECT_EQ(got, want) << tier.name;
  }
}

// The rows16 layout keeps the matrix's size and moves bytes only within groups
// of 16 rows; Q8_0's quants are stored biased (xor 0x80), rows past the last
// group are copied as they are; Q4_0 / Q8_0 / Q5_K / Q6_K bytes land where weight_repack.h says.
TEST(Rows16Layout, RepacksWithinGroupsAndCopiesTails) {
  for (DType type : kInt8Types) {
    SCOPED_TRACE(dtype_name(type));
    EXPECT_TRUE(can_repack_rows16(type));
    const int64_t rows = 37, cols = 512;
    const std::vector<uint8_t> w = random_matrix(type, rows, cols, 7);
    std::vector<uint8_t> packed(w.size());
    repack_rows16(type, w.data(), packed.data(), rows, cols);
    const size_t stride = row_bytes(type, cols);
    EXPECT_EQ(0, std::memcmp(w.data() + 32 * stride, packed.data() + 32 * stride, 5 * stride));
    for (int64_t g = 0; g < 32; g += 16) {  // the same bytes in each group (Q8_0: quants flipped)
      std::vector<int> count_w(256), count_p(256);
      for (size_t i = g * stride; i < (g + 16) * stride; ++i) ++count_w[w[i]];
      for (size_t i = g * stride; i < (g + 16) * stride; ++i) ++count_p[packed[i]];
      if (type != DType::Q8_0) {
        EXPECT_EQ(count_w, count_p) << g;
      }
    }
  }
  // Q4_0 / Q8_0: each pair of blocks' 16 scales, then their quants; an odd
  // last block (cols 160: 5 blocks) alone, its quants 32 bytes after its scales.
  for (DType type : {DType::Q4_0, DType::Q8_0}) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t rows = 32, cols = 160, blocks = cols / 32;
    const size_t stride = row_bytes(type, cols), q = type == DType::Q4_0 ? 16 : 32, block = 2 + q;
    const uint8_t flip = type == DType::Q8_0 ? 0x80 : 0;
    const std::vector<uint8_t> w = random_matrix(type, rows, cols, 11);
    std::vector<uint8_t> packed(w.size());
    repack_rows16(type, w.data(), packed.data(), rows, cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t b = 0; b < blocks; ++b) {
        const size_t e = b % 2, pair = (r / 16) * 16 * stride + (b / 2) * 2 * (32 + 16 * q);
        const size_t quants = pair + (b + 1 < blocks || e ? 64 : 32) + 16 * q * e;
        const uint8_t* src = w.data() + r * stride + b * block;
        EXPECT_EQ(0, std::memcmp(packed.data() + pair + 32 * e + 2 * (r % 16), src, 2)) << r << "," << b;
        for (size_t k = 0; k < q; ++k)
          ASSERT_EQ(packed[quants + 4 * (16 * (k / 4) + r % 16) + k % 4], src[2 + k] ^ flip) << r << "," << b << "," << k;
      }
  }
  // Q5_K / Q6_K: every byte of every super-block of two groups where weight_repack.h places it.
  for (DType type : {DType::Q5_K, DType::Q6_K}) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t rows = 32, cols = 512;
    const size_t stride = row_bytes(type, cols), block = dtype_info(type).block_bytes;
    const std::vector<uint8_t> w = random_matrix(type, rows, cols, 13);
    std::vector<uint8_t> packed(w.size());
    repack_rows16(type, w.data(), packed.data(), rows, cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t s = 0; s < cols / 256; ++s) {
        const uint8_t* got = packed.data() + (r / 16) * 16 * stride + s * 16 * block;
        const uint8_t* src = w.data() + r * stride + s * block;
        const size_t i = r % 16;
        // (offset in the packed super-block, bytes, offset in the plain block)
        std::vector<std::array<size_t, 3>> parts;
        if (type == DType::Q5_K) {
          parts = {{2 * i, 2, offsetof(BlockQ5_K, d)}, {32 + 2 * i, 2, offsetof(BlockQ5_K, dmin)}};
          for (size_t k = 0; k < 12; ++k) parts.push_back({64 + 16 * k + i, 1, offsetof(BlockQ5_K, scales) + k});
          for (size_t e = 0; e < 8; ++e) {
            parts.push_back({256 + 128 * e + 4 * i, 4, offsetof(BlockQ5_K, qh) + 4 * e});
            parts.push_back({320 + 128 * e + 4 * i, 4, offsetof(BlockQ5_K, qs) + 4 * e});
          }
          for (size_t c = 8; c < 32; ++c) parts.push_back({768 + 64 * c + 4 * i, 4, offsetof(BlockQ5_K, qs) + 4 * c});
        } else {
          parts = {{2 * i, 2, offsetof(BlockQ6_K, d)}};
          for (size_t k = 0; k < 8; ++k) parts.push_back({32 + 32 * k + 2 * i, 2, offsetof(BlockQ6_K, scales) + 2 * k});
          for (size_t h = 0; h < 2; ++h) {
            const size_t half = 288 + 1536 * h;
            for (size_t e = 0; e < 8; ++e) {
              parts.push_back({half + 128 * e + 4 * i, 4, offsetof(BlockQ6_K, ql) + 4 * (16 * h + e)});
              parts.push_back({half + 128 * e + 64 + 4 * i, 4, offsetof(BlockQ6_K, qh) + 4 * (8 * h + e)});
              parts.push_back({half + 1024 + 64 * e + 4 * i, 4, offsetof(BlockQ6_K, ql) + 4 * (16 * h + 8 + e)});
            }
          }
        }
        size_t covered = 0;
        for (const auto& [at, n, from] : parts) {
          EXPECT_EQ(0, std::memcmp(got + at, src + from, n)) << "row " << r << ", super-block " << s << ", at " << at;
          covered += n;
        }
        EXPECT_EQ(covered, block);
      }
  }
  std::vector<uint8_t> w(64), out(64);
  EXPECT_THROW(repack_rows16(DType::F32, w.data(), out.data(), 1, 16), Error);
  // BF16: column pairs of 16 rows, an odd last column alone after them.
  const int64_t rows = 16, cols = 5;
  const std::vector<uint8_t> b = random_matrix(DType::BF16, rows, cols, 9);
  std::vector<uint8_t> packed(b.size());
  repack_rows16(DType::BF16, b.data(), packed.data(), rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const size_t at = c < 4 ? 64 * (c / 2) + 4 * r + 2 * (c % 2) : 128 + 2 * r;
      EXPECT_EQ(0, std::memcmp(packed.data() + at, b.data() + r * 2 * cols + 2 * c, 2)) << r << "," << c;
    }
}

}  // namespace
}  // namespace tessera::kernels
