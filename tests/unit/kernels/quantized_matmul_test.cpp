// Int8-activation matmul: the activation quantizer of every tier against the
// reference (bit for bit), the exact integer reference against the float one,
// and every tier's integer-dot kernels against the exact integer reference.
// (matmul_test.cpp checks them against the float reference, with the
// activation-rounding bound.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace tessera::kernels {
namespace {

using test::PerIsa;
using test::random_floats;
using test::abs_dot;
using test::act_block;
using test::act_for;
using test::dequantize_rows;
using test::is_k_quant;
using test::quantize_rows;
using test::random_matrix;

constexpr DType kIntDotTypes[] = {DType::Q8_0, DType::Q4_0};
constexpr int64_t kRows[] = {1, 3, 5, 7, 33, 67};
constexpr int64_t kCols[] = {32, 96, 160, 288, 4096};
constexpr int64_t kTokens[] = {1, 2, 3, 5, 17};
// Formats with an int8-activation kernel in some layout; K-quant rows hold whole
// super-blocks of 256.
constexpr DType kRows8Types[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};
// Formats whose int8 kernels read the plain layout (every block of 32 or 256
// columns decoded to int8 weights with 16-column scales and mins).
constexpr DType kIntFormTypes[] = {DType::Q4_1, DType::Q5_0, DType::Q5_1,  DType::IQ4_NL,
                                   DType::Q2_K, DType::Q3_K, DType::Q5_K, DType::IQ4_XS};
std::vector<int64_t> cols_for(DType type) {
  if (is_k_quant(type)) return {256, 768, 4096};
  return std::vector<int64_t>(std::begin(kCols), std::end(kCols));
}

// Blocks of every kind: random, zero, tiny (subnormal scale), huge, and one
// with max 127 so that scaled values land exactly on .5 (ties to even).
std::vector<float> awkward_row(int64_t cols, uint32_t seed) {
  std::vector<float> x = random_floats(static_cast<size_t>(cols), seed, -2.0f, 2.0f);
  for (int64_t b = 0; b < cols / 32; ++b) {
    float* v = x.data() + b * 32;
    switch (b % 5) {
      case 1:
        std::fill(v, v + 32, 0.0f);
        break;
      case 2:
        for (int j = 0; j < 32; ++j) v[j] *= 1e-39f;
        break;
      case 3:
        for (int j = 0; j < 32; ++j) v[j] *= 1e30f;
        break;
      case 4:
        for (int j = 0; j < 32; ++j) v[j] = static_cast<float>(j - 16) + 0.5f;
        v[31] = -127.0f;
        break;
      default:
        break;
    }
  }
  return x;
}

class QuantizeActivationsTest : public PerIsa {};
TESSERA_INSTANTIATE_PER_ISA(QuantizeActivationsTest);

TEST_P(QuantizeActivationsTest, MatchesReferenceBitForBit) {
  for (ActFormat act : {ActFormat::Q8x32, ActFormat::Q8x256})
    for (int64_t cols : act == ActFormat::Q8x32 ? std::vector<int64_t>(std::begin(kCols), std::end(kCols))
                                                : std::vector<int64_t>{256, 768, 2304, 4096}) {
      SCOPED_TRACE(testing::Message() << "act=" << static_cast<int>(act) << " cols=" << cols);
      const size_t stride = activation_row_bytes(act, cols);
      std::vector<float> x = awkward_row(cols, static_cast<uint32_t>(cols));
      if (act == ActFormat::Q8x256 && cols >= 512) std::fill(x.begin() + 256, x.begin() + 512, 0.0f);  // a zero super-block
      std::vector<uint8_t> want(stride, 0xcd), got(stride, 0xab);
      ref::quantize_activations(act, x.data(), cols, want.data());
      table().quantize_activations(act, x.data(), cols, got.data());
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), stride));
    }
}

// Q8x256: one scale per 256 columns (max |x| / 127), quants within half a step,
// int16 sums of each 32 quants, zeros past the last scale and in the padding.
TEST(QuantizeActivations, Q8x256ReferenceLayout) {
  const int64_t cols = 768;
  const std::vector<float> x = random_floats(static_cast<size_t>(cols), 19, -3.0f, 3.0f);
  const size_t stride = activation_row_bytes(ActFormat::Q8x256, cols);
  EXPECT_EQ(stride % 64, 0u);
  EXPECT_GE(stride, static_cast<size_t>(cols + 8 * 4 + cols / 32 * 2));
  std::vector<uint8_t> xq(stride, 0xee);
  ref::quantize_activations(ActFormat::Q8x256, x.data(), cols, xq.data());
  const std::vector<float> back = dequantize_rows(xq, cols, 1, ActFormat::Q8x256);
  for (int64_t b = 0; b < cols / 256; ++b) {
    float amax = 0.0f, d;
    for (int64_t c = b * 256; c < b * 256 + 256; ++c) amax = std::max(amax, std::fabs(x[c]));
    std::memcpy(&d, xq.data() + cols + b * sizeof(float), sizeof d);
    EXPECT_EQ(d, amax / 127.0f);
    for (int64_t c = b * 256; c < b * 256 + 256; ++c) EXPECT_LE(std::fabs(x[c] - back[c]), d * 0.5f * (1 + 1e-6f)) << c;
  }
  for (int64_t k = 0; k < cols / 32; ++k) {
    int32_t sum = 0;
    for (int64_t c = 32 * k; c < 32 * k + 32; ++c) sum += static_cast<int8_t>(xq[c]);
    int16_t stored;
    std::memcpy(&stored, xq.data() + cols + 8 * 4 + k * 2, sizeof stored);
    EXPECT_EQ(stored, sum) << k;
  }
  for (int64_t i = cols + (cols / 256) * 4; i < cols + 8 * 4; ++i) EXPECT_EQ(xq[i], 0) << "scale byte " << i;
  for (size_t i = static_cast<size_t>(cols + 8 * 4 + cols / 32 * 2); i < stride; ++i) EXPECT_EQ(xq[i], 0) << i;
  std::vector<float> y(100);
  EXPECT_THROW(activation_row_bytes(ActFormat::Q8x256, 96), Error);
  EXPECT_THROW(ref::quantize_activations(ActFormat::Q8x256, y.data(), 96, xq.data()), Error);
}

TEST_P(QuantizeActivationsTest, NonFiniteInputsStayInRange) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = random_floats(96, 3);
  x[1] = nan;   // block 0: nan skipped by the scale, quantized to 0
  x[40] = inf;  // block 1: scale inf, every quant 0 (x * 0 or inf * 0 = nan)
  x[70] = 1e-40f;  // block 2: subnormal max: 1/d overflows to inf
  for (int j = 64; j < 96; ++j)
    if (j != 70) x[j] = 0.0f;
  const size_t stride = activation_row_bytes(ActFormat::Q8x32, 96);
  std::vector<uint8_t> want(stride), got(stride);
  ref::quantize_activations(ActFormat::Q8x32, x.data(), 96, want.data());
  table().quantize_activations(ActFormat::Q8x32, x.data(), 96, got.data());
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), stride));
  const auto* q = reinterpret_cast<const int8_t*>(got.data());
  EXPECT_EQ(q[1], 0);
  EXPECT_EQ(q[70], 127);
  for (int j = 0; j < 96; ++j) EXPECT_NE(q[j], -128) << j;
}

// The same cases as whole Q8x256 blocks: nan skipped, an inf scale zeroing its
// block, a subnormal max quantizing to 127; both tiers alike.
TEST_P(QuantizeActivationsTest, Q8x256NonFiniteInputsStayInRange) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t cols = 768;
  std::vector<float> x = random_floats(static_cast<size_t>(cols), 5);
  x[1] = nan;
  x[300] = inf;
  for (int64_t j = 512; j < cols; ++j) x[j] = 0.0f;
  x[600] = 1e-40f;
  const size_t stride = activation_row_bytes(ActFormat::Q8x256, cols);
  std::vector<uint8_t> want(stride), got(stride);
  ref::quantize_activations(ActFormat::Q8x256, x.data(), cols, want.data());
  table().quantize_activations(ActFormat::Q8x256, x.data(), cols, got.data());
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), stride));
  const auto* q = reinterpret_cast<const int8_t*>(got.data());
  EXPECT_EQ(q[1], 0);
  for (int64_t j = 256; j < 512; ++j) EXPECT_EQ(q[j], 0) << j;
  EXPECT_EQ(q[600], 127);
  for (int64_t j = 0; j < cols; ++j) EXPECT_NE(q[j], -128) << j;
}

TEST(QuantizeActivations, ReferenceRoundsToNearestWithinHalfAStep) {
  const int64_t cols = 160;
  const std::vector<float> x = random_floats(static_cast<size_t>(cols), 9, -3.0f, 3.0f);
  const size_t stride = activation_row_bytes(ActFormat::Q8x32, cols);
  EXPECT_EQ(stride % 64, 0u);
  const int64_t blocks8 = (cols / 32 + 7) / 8 * 8;  // scale and sum arrays are padded to 8 entries
  EXPECT_GE(stride, static_cast<size_t>(cols + blocks8 * 8));
  std::vector<uint8_t> xq(stride, 0xee);
  ref::quantize_activations(ActFormat::Q8x32, x.data(), cols, xq.data());
  const std::vector<float> back = dequantize_rows(xq, cols, 1);
  for (int64_t b = 0; b < cols / 32; ++b) {
    float amax = 0.0f, d;
    for (int64_t c = b * 32; c < b * 32 + 32; ++c) amax = std::max(amax, std::fabs(x[c]));
    std::memcpy(&d, xq.data() + cols + b * sizeof(float), sizeof d);
    EXPECT_EQ(d, amax / 127.0f);
    int32_t sum = 0, stored_sum;
    for (int64_t c = b * 32; c < b * 32 + 32; ++c) {
      EXPECT_LE(std::fabs(x[c] - back[c]), d * 0.5f * (1 + 1e-6f)) << c;
      sum += static_cast<int8_t>(xq[c]);
    }
    std::memcpy(&stored_sum, xq.data() + cols + blocks8 * 4 + b * 4, sizeof stored_sum);
    EXPECT_EQ(stored_sum, sum);
  }
  // Scales and sums past the last block, and the padding, are zero.
  for (int64_t b = cols / 32; b < blocks8; ++b)
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(xq[cols + b * 4 + k], 0) << "scale " << b;
      EXPECT_EQ(xq[cols + blocks8 * 4 + b * 4 + k], 0) << "sum " << b;
    }
  for (size_t i = static_cast<size_t>(cols + blocks8 * 8); i < stride; ++i) EXPECT_EQ(xq[i], 0) << "padding " << i;
  // Ties go to even: in a block whose max is 127, d = 1 and 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
  std::vector<float> ties(32, 0.0f);
  ties[0] = 127.0f, ties[1] = 2.5f, ties[2] = 3.5f, ties[3] = -2.5f;
  ref::quantize_activations(ActFormat::Q8x32, ties.data(), 32, xq.data());
  EXPECT_EQ(static_cast<int8_t>(xq[1]), 2);
  EXPECT_EQ(static_cast<int8_t>(xq[2]), 4);
  EXPECT_EQ(static_cast<int8_t>(xq[3]), -2);
}

TEST(QuantizeActivations, RejectsRaggedRows) {
  std::vector<uint8_t> xq(256);
  std::vector<float> x(48);
  EXPECT_THROW(activation_row_bytes(ActFormat::Q8x32, 48), Error);
  EXPECT_THROW(ref::quantize_activations(ActFormat::Q8x32, x.data(), 48, xq.data()), Error);
  EXPECT_EQ(activation_row_bytes(ActFormat::F32, 48), 0u);
}

// The exact integer reference is the float reference on the activations the
// quants stand for (d * q): this checks its block and nibble order.
TEST(MatmulQuantizedReference, EqualsFloatReferenceOnDequantizedActivations) {
  std::vector<DType> types(std::begin(kRows8Types), std::end(kRows8Types));
  types.insert(types.end(), std::begin(kIntFormTypes), std::end(kIntFormTypes));
  for (DType type : types)
    for (int64_t cols : is_k_quant(type) ? std::vector<int64_t>{256, 512} : std::vector<int64_t>{32, 288}) {
      const ActFormat act = act_for(type);
      SCOPED_TRACE(testing::Message() << dtype_name(type) << " cols=" << cols);
      const int64_t rows = 7, n_tokens = 3;
      const std::vector<uint8_t> w = random_matrix(type, rows, cols, 31);
      const std::vector<uint8_t> xq =
          quantize_rows(random_floats(static_cast<size_t>(cols * n_tokens), 32), cols, n_tokens, act);
      const std::vector<float> xd = dequantize_rows(xq, cols, n_tokens, act);
      std::vector<float> exact(static_cast<size_t>(rows * n_tokens)), flt(exact.size());
      ref::matmul_quantized(type, act, w.data(), rows, cols, xq.data(), activation_row_bytes(act, cols), n_tokens,
                            exact.data());
      ref::matmul(type, w.data(), rows, cols, xd.data(), n_tokens, flt.data());
      const std::vector<double> s = abs_dot(type, w, rows, cols, xd, n_tokens);
      for (size_t i = 0; i < exact.size(); ++i) ASSERT_NEAR(exact[i], flt[i], 1e-5 * s[i] + 1e-7) << i;
    }
  // Each reference takes the activation format its kernels use.
  std::vector<uint8_t> xq(activation_row_bytes(ActFormat::Q8x32, 256));
  std::vector<float> y(1);
  const std::vector<uint8_t> w = random_matrix(DType::Q4_K, 1, 256, 3);
  EXPECT_THROW(ref::matmul_quantized(DType::Q4_K, ActFormat::Q8x32, w.data(), 1, 256, xq.data(), xq.size(), 1, y.data()),
               Error);
}

// Tiers whose Q8_0 / Q4_0 kernels take int8 activations (not the generic
// tier, which multiplies them by floats; the SIMDe AVX-512 tier on every CPU).
class IntDotMatmulTest : public PerIsa {};
std::vector<test::TestTier> int_dot_tiers() {
  std::vector<test::TestTier> tiers;
  for (const test::TestTier& t : test::test_tiers()) {
    bool int8 = true;
    for (DType type : kIntDotTypes) int8 = int8 && t.table->matmul_for(type)->act == ActFormat::Q8x32;
    if (int8) tiers.push_back(t);
  }
  return tiers;
}
INSTANTIATE_TEST_SUITE_P(Isa, IntDotMatmulTest, ::testing::ValuesIn(int_dot_tiers()), test::isa_test_name);

// Against the exact integer reference: only float summation order differs, so
// the error is a few float roundings of sum |w * x| (x as the quants stand for).
TEST_P(IntDotMatmulTest, MatchesExactIntegerReference) {
  ThreadPool pool(3);
  uint32_t seed = 500;
  for (DType type : kIntDotTypes)
    for (int64_t rows : kRows)
      for (int64_t cols : kCols)
        for (int64_t n_tokens : kTokens) {
          SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " cols=" << cols
                                          << " n_tokens=" << n_tokens);
          const std::vector<uint8_t> w = random_matrix(type, rows, cols, ++seed);
          const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), ++seed);
          const std::vector<uint8_t> xq = quantize_rows(x, cols, n_tokens);
          std::vector<float> want(static_cast<size_t>(rows * n_tokens)), got(want.size(), NAN);
          ref::matmul_quantized(type, ActFormat::Q8x32, w.data(), rows, cols, xq.data(),
                                activation_row_bytes(ActFormat::Q8x32, cols), n_tokens, want.data());
          matmul_with(table(), pool, type, w.data(), rows, cols, x.data(), n_tokens, got.data());
          const std::vector<double> s = abs_dot(type, w, rows, cols, dequantize_rows(xq, cols, n_tokens), n_tokens);
          for (size_t i = 0; i < got.size(); ++i)
            ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), 1e-6 * s[i] + 1e-9)
                << "token " << i / rows << " row " << i % rows << ": got " << got[i] << " want " << want[i];
        }
}

// Results do not depend on how rows are split between threads, nor on how
// many tokens share the call (decode and prefill tiles sum the same way).
TEST_P(IntDotMatmulTest, ThreadsAndBatchingDoNotChangeResults) {
  ThreadPool one(1), three(3);
  for (DType type : kIntDotTypes)
    for (int64_t rows : kRows)
      for (int64_t cols : {96, 4096})
        for (int64_t n_tokens : kTokens) {
          SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " cols=" << cols
                                          << " n_tokens=" << n_tokens);
          const std::vector<uint8_t> w = random_matrix(type, rows, cols, 41);
          const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), 42);
          std::vector<float> a(static_cast<size_t>(rows * n_tokens)), b(a.size()), single(static_cast<size_t>(rows));
          matmul_with(table(), one, type, w.data(), rows, cols, x.data(), n_tokens, a.data());
          matmul_with(table(), three, type, w.data(), rows, cols, x.data(), n_tokens, b.data());
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
          const int64_t t = n_tokens - 1;
          matmul_with(table(), three, type, w.data(), rows, cols, x.data() + t * cols, 1, single.data());
          ASSERT_EQ(0, std::memcmp(single.data(), a.data() + t * rows, single.size() * sizeof(float)));
        }
}

// Repacked 8 rows at a time and read by the rows8 kernels: same results as the
// exact reference on the original matrix, whatever the thread split.
TEST(Rows8Matmul, MatchesExactIntegerReferenceOnRepackedWeights) {
  const KernelTable* avx2 = kernel_table(Isa::Avx2);
  if (!avx2) GTEST_SKIP() << "no avx2 kernels on this machine";
  ThreadPool one(1), three(3);
  uint32_t seed = 900;
  for (DType type : kRows8Types)
    for (int64_t rows : {1, 3, 5, 7, 8, 33, 67})
      for (int64_t cols : cols_for(type))
        for (int64_t n_tokens : kTokens) {
        SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " cols=" << cols
                                        << " n_tokens=" << n_tokens);
        const std::vector<uint8_t> w = random_matrix(type, rows, cols, ++seed);
        std::vector<uint8_t> packed(w.size());
        repack_weights(type, WeightLayout::Rows8, w.data(), packed.data(), rows, cols);
        const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), ++seed);
        const ActFormat act = avx2->matmul_for(type, WeightLayout::Rows8)->act;
        ASSERT_EQ(act, act_for(type));
        const std::vector<uint8_t> xq = quantize_rows(x, cols, n_tokens, act);
        std::vector<float> want(static_cast<size_t>(rows * n_tokens)), got(want.size(), NAN), got3(want.size());
        ref::matmul_quantized(type, act, w.data(), rows, cols, xq.data(), activation_row_bytes(act, cols), n_tokens,
                              want.data());
        matmul_with(*avx2, one, type, WeightLayout::Rows8, packed.data(), rows, cols, x.data(), n_tokens, got.data());
        matmul_with(*avx2, three, type, WeightLayout::Rows8, packed.data(), rows, cols, x.data(), n_tokens,
                    got3.data());
        const std::vector<double> s = abs_dot(type, w, rows, cols, dequantize_rows(xq, cols, n_tokens, act), n_tokens);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), 1e-6 * s[i] + 1e-9)
              << "token " << i / rows << " row " << i % rows << ": got " << got[i] << " want " << want[i];
        ASSERT_EQ(0, std::memcmp(got.data(), got3.data(), got.size() * sizeof(float)));
      }
}

// Largest 16-bit partial sums: quants 15 (all but the first of each block, which
// maps to 0) against activations all +127 or all -127.
TEST(Rows8Matmul, SixteenBitSumsDoNotOverflow) {
  const KernelTable* avx2 = kernel_table(Isa::Avx2);
  if (!avx2) GTEST_SKIP() << "no avx2 kernels on this machine";
  const int64_t rows = 16, cols = 64;
  std::vector<float> wf(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) wf[r * cols + c] = c % 32 == 0 ? -8.0f : 7.0f * (1.0f + 0.01f * r);
  std::vector<uint8_t> w(row_bytes(DType::Q4_0, cols) * rows), packed(w.size());
  for (int64_t r = 0; r < rows; ++r)
    ref::quantize_row(DType::Q4_0, wf.data() + r * cols, w.data() + r * row_bytes(DType::Q4_0, cols), cols);
  repack_weights(DType::Q4_0, WeightLayout::Rows8, w.data(), packed.data(), rows, cols);
  for (float sign : {1.0f, -1.0f}) {
    const std::vector<float> x(static_cast<size_t>(cols), sign);
    const std::vector<uint8_t> xq = quantize_rows(x, cols, 1);
    std::vector<float> want(rows), got(rows);
    ref::matmul_quantized(DType::Q4_0, ActFormat::Q8x32, w.data(), rows, cols, xq.data(), xq.size(), 1, want.data());
    ThreadPool pool(1);
    matmul_with(*avx2, pool, DType::Q4_0, WeightLayout::Rows8, packed.data(), rows, cols, x.data(), 1, got.data());
    for (int64_t r = 0; r < rows; ++r) EXPECT_NEAR(got[r], want[r], 1e-5 * std::fabs(want[r])) << r;
    const auto* q = reinterpret_cast<const uint8_t*>(w.data()) + 2;  // first block's quant bytes
    EXPECT_EQ(q[1], 0xff) << "the test needs quants of 15";
  }
}

// Q6_K's largest 16-bit partial sums: every |q - 32| = 32 (q = 0, the scale
// negative so the block's largest magnitude maps there) against activations
// all +127 or all -127: 16 products of 32 * 127 per sub-block and lane half.
TEST(Rows8Matmul, Q6_KSixteenBitSumsDoNotOverflow) {
  const KernelTable* avx2 = kernel_table(Isa::Avx2);
  if (!avx2) GTEST_SKIP() << "no avx2 kernels on this machine";
  const int64_t rows = 8, cols = 256;
  const size_t stride = row_bytes(DType::Q6_K, cols);
  std::vector<uint8_t> w(stride * rows), packed(w.size());
  for (int64_t r = 0; r < rows; ++r) {
    BlockQ6_K b{};
    b.d = fp32_to_fp16(0.01f * static_cast<float>(r + 1));
    for (int k = 0; k < 16; ++k) b.scales[k] = static_cast<int8_t>(k % 2 ? 127 : -128);
    std::memcpy(w.data() + r * stride, &b, sizeof b);  // ql = qh = 0: every q is 0
  }
  repack_weights(DType::Q6_K, WeightLayout::Rows8, w.data(), packed.data(), rows, cols);
  for (float sign : {1.0f, -1.0f}) {
    const std::vector<float> x(static_cast<size_t>(cols), sign);
    const std::vector<uint8_t> xq = quantize_rows(x, cols, 1, ActFormat::Q8x256);
    std::vector<float> want(rows), got(rows);
    ref::matmul_quantized(DType::Q6_K, ActFormat::Q8x256, w.data(), rows, cols, xq.data(), xq.size(), 1, want.data());
    ThreadPool pool(1);
    matmul_with(*avx2, pool, DType::Q6_K, WeightLayout::Rows8, packed.data(), rows, cols, x.data(), 1, got.data());
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_NE(want[r], 0.0f);
      EXPECT_NEAR(got[r], want[r], 1e-5 * std::fabs(want[r])) << r;
    }
  }
}

// The public path: the model asks for the preferred layout, repacks once and
// passes the layout to matmul; results match the plain layout's to rounding.
// F16 with AVX512_BF16 is rounded to bf16 in its preferred layout (weights and
// activations each within relative 2^-9), so it matches to 2^-8 of sum |w x|;
// Packed/Bf16MatmulTest checks that path exactly against a bf16 reference.
TEST(Rows8Matmul, PublicEntryPointsRepackAndMultiply) {
  ThreadPool pool(2);
  for (DType type : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    SCOPED_TRACE(dtype_name(type));
    const WeightLayout layout = preferred_layout(type);
    if (type == DType::F32) {
      EXPECT_EQ(layout, WeightLayout::Plain);
    }
    const int64_t rows = 40, cols = 256, n_tokens = 3;
    const std::vector<uint8_t> w = random_matrix(type, rows, cols, 61);
    std::vector<uint8_t> packed(w.size());
    repack_weights(type, layout, w.data(), packed.data(), rows, cols);
    if (layout == WeightLayout::Plain) {
      EXPECT_EQ(packed, w);
    }
    const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), 62);
    std::vector<float> plain(static_cast<size_t>(rows * n_tokens)), got(plain.size());
    matmul(pool, type, w.data(), rows, cols, x.data(), n_tokens, plain.data());
    matmul(pool, type, layout, packed.data(), rows, cols, x.data(), n_tokens, got.data());
    const std::vector<double> s = abs_dot(type, w, rows, cols, x, n_tokens);
    const bool bf16 = active_table().matmul_for(type, layout)->act == ActFormat::BF16;
    const double bound = bf16 ? 1.0 / 256 + 2e-6 : 2e-6;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], plain[i], bound * s[i]) << i;
  }
}

// F16 in rows8 (float activations): the float reference to rounding on any
// column count, and bit-identical whatever the thread split or batch (decode
// and prefill tiles sum each (row, token) over the columns in the same order).
TEST(Rows8Matmul, F16MatchesFloatReferenceAndIsReproducible) {
  const KernelTable* avx2 = kernel_table(Isa::Avx2);
  if (!avx2) GTEST_SKIP() << "no avx2 kernels on this machine";
  ThreadPool one(1), three(3);
  uint32_t seed = 1300;
  for (int64_t rows : {1, 7, 8, 9, 33, 67})
    for (int64_t cols : {1, 7, 33, 100, 256})
      for (int64_t n_tokens : {1, 2, 5, 6, 7, 13}) {
        SCOPED_TRACE(testing::Message() << "rows=" << rows << " cols=" << cols << " n_tokens=" << n_tokens);
        const std::vector<uint8_t> w = random_matrix(DType::F16, rows, cols, ++seed);
        std::vector<uint8_t> packed(w.size());
        repack_weights(DType::F16, WeightLayout::Rows8, w.data(), packed.data(), rows, cols);
        const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), ++seed);
        std::vector<float> want(static_cast<size_t>(rows * n_tokens)), got(want.size(), NAN), got3(want.size());
        ref::matmul(DType::F16, w.data(), rows, cols, x.data(), n_tokens, want.data());
        matmul_with(*avx2, one, DType::F16, WeightLayout::Rows8, packed.data(), rows, cols, x.data(), n_tokens,
                    got.data());
        matmul_with(*avx2, three, DType::F16, WeightLayout::Rows8, packed.data(), rows, cols, x.data(), n_tokens,
                    got3.data());
        const std::vector<double> s = abs_dot(DType::F16, w, rows, cols, x, n_tokens);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), 1e-6 * s[i] + 1e-9)
              << "token " << i / rows << " row " << i % rows << ": got " << got[i] << " want " << want[i];
        ASSERT_EQ(0, std::memcmp(got.data(), got3.data(), got.size() * sizeof(float)));
        for (int64_t t = 0; t < n_tokens; ++t) {
          std::vector<float> single(static_cast<size_t>(rows));
          matmul_with(*avx2, three, DType::F16, WeightLayout::Rows8, packed.data(), rows, cols, x.data() + t * cols, 1,
                      single.data());
          ASSERT_EQ(0, std::memcmp(single.data(), got.data() + t * rows, single.size() * sizeof(float))) << t;
        }
      }
}

// Several matrices in one pass give each exactly what its own matmul gives,
// whatever the parts' row counts (not multiples of the row grain here) and
// whether they share a type (int8 and float-activation kernels side by side).
TEST(MatmulMany, EqualsOneMatmulPerPart) {
  ThreadPool pool(3);
  const std::vector<std::vector<DType>> part_types = {
      {DType::F32, DType::F32, DType::F32},    {DType::F16, DType::F16, DType::F16},
      {DType::Q8_0, DType::Q8_0, DType::Q8_0}, {DType::Q4_0, DType::Q4_0, DType::Q4_0},
      {DType::Q4_K, DType::Q4_K, DType::Q4_K}, {DType::Q6_K, DType::Q6_K, DType::Q6_K},
      {DType::Q4_K, DType::Q4_K, DType::Q6_K}, {DType::Q8_0, DType::F16, DType::BF16},
      {DType::Q4_K, DType::Q8_0, DType::Q6_K}};  // two quantized activation formats in one call
  for (const std::vector<DType>& types : part_types) {
    const int64_t cols = 256;
    for (int64_t n_tokens : {1, 7, 20}) {
      SCOPED_TRACE(testing::Message() << dtype_name(types[0]) << "," << dtype_name(types[1]) << ","
                                      << dtype_name(types[2]) << " n_tokens=" << n_tokens);
      const int64_t part_rows[] = {40, 5, 33};
      std::vector<std::vector<uint8_t>> w;
      std::vector<std::vector<float>> separate, together;
      MatmulPart parts[3];
      const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), 77);
      for (int p = 0; p < 3; ++p) {
        const DType type = types[static_cast<size_t>(p)];
        const WeightLayout layout = preferred_layout(type);
        const std::vector<uint8_t> plain = random_matrix(type, part_rows[p], cols, 70 + p);
        w.emplace_back(plain.size());
        repack_weights(type, layout, plain.data(), w.back().data(), part_rows[p], cols);
        separate.emplace_back(static_cast<size_t>(part_rows[p] * n_tokens));
        together.emplace_back(separate.back().size(), NAN);
        matmul(pool, type, layout, w.back().data(), part_rows[p], cols, x.data(), n_tokens, separate.back().data());
        parts[p] = {w.back().data(), part_rows[p], together.back().data(), type, layout};
      }
      matmul_many(pool, cols, x.data(), n_tokens, parts, 3);
      for (int p = 0; p < 3; ++p)
        ASSERT_EQ(0, std::memcmp(separate[p].data(), together[p].data(), separate[p].size() * sizeof(float))) << p;
    }
  }
  std::vector<float> x(32), y(1);
  const std::vector<uint8_t> w = random_matrix(DType::F32, 1, 32, 1);
  std::vector<MatmulPart> nine(9, MatmulPart{w.data(), 1, y.data(), DType::F32, WeightLayout::Plain});
  EXPECT_THROW(matmul_many(pool, 32, x.data(), 1, nine.data(), 0), Error);
  EXPECT_THROW(matmul_many(pool, 32, x.data(), 1, nine.data(), 9), Error);
}

TEST(Rows8Matmul, TiersWithoutRows8KernelsRejectIt) {
  ThreadPool pool(1);
  const KernelTable& generic = *kernel_table(Isa::Generic);
  EXPECT_EQ(generic.matmul_for(DType::Q4_0, WeightLayout::Rows8), nullptr);
  const std::vector<uint8_t> w = random_matrix(DType::Q4_0, 8, 32, 1);
  std::vector<float> x(32), y(8);
  EXPECT_THROW(matmul_with(generic, pool, DType::Q4_0, WeightLayout::Rows8, w.data(), 8, 32, x.data(), 1, y.data()),
               Error);
  std::vector<uint8_t> out(w.size());
  EXPECT_THROW(repack_weights(DType::BF16, WeightLayout::Rows8, w.data(), out.data(), 1, 32), Error);
}

// Tiers multiplying the plain-layout formats by int8 activations (the generic
// tier uses floats: matmul_test.cpp checks it against the float reference).
class IntFormMatmulTest : public PerIsa {
 protected:
  bool uses_int8(DType type) { return table().matmul_for(type)->rows_q != nullptr; }
};
TESSERA_INSTANTIATE_PER_ISA(IntFormMatmulTest);

void expect_matches_exact_reference(const KernelTable& table, ThreadPool& pool, DType type,
                                    const std::vector<uint8_t>& w, int64_t rows, int64_t cols,
                                    const std::vector<float>& x, int64_t n_tokens) {
  const ActFormat act = table.matmul_for(type)->act;
  ASSERT_EQ(act, act_for(type));
  const std::vector<uint8_t> xq = quantize_rows(x, cols, n_tokens, act);
  std::vector<float> want(static_cast<size_t>(rows * n_tokens)), got(want.size(), NAN);
  ref::matmul_quantized(type, act, w.data(), rows, cols, xq.data(), activation_row_bytes(act, cols), n_tokens,
                        want.data());
  matmul_with(table, pool, type, w.data(), rows, cols, x.data(), n_tokens, got.data());
  const std::vector<double> s = abs_dot(type, w, rows, cols, dequantize_rows(xq, cols, n_tokens, act), n_tokens);
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), 1e-6 * s[i] + 1e-9)
        << "token " << i / rows << " row " << i % rows << ": got " << got[i] << " want " << want[i];
}

TEST_P(IntFormMatmulTest, MatchesExactIntegerReferenceOnOddSizes) {
  ThreadPool pool(3);
  uint32_t seed = 700;
  for (DType type : kIntFormTypes) {
    if (!uses_int8(type)) continue;
    for (int64_t rows : kRows)
      for (int64_t cols : cols_for(type))
        for (int64_t n_tokens : kTokens) {
          SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " cols=" << cols
                                          << " n_tokens=" << n_tokens);
          const std::vector<uint8_t> w = random_matrix(type, rows, cols, ++seed);
          const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), ++seed);
          expect_matches_exact_reference(table(), pool, type, w, rows, cols, x, n_tokens);
        }
  }
}

// Offsets of each format's fp16 factors within its block (core/blocks.h).
std::vector<size_t> half_offsets(DType type) {
  switch (type) {
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    default: return {0};
  }
}

// Blocks of all-ones or all-zero bits give every format its largest quants and
// scales of both signs (Q5_K: q = 31, scale 63; IQ4: grid values 113 and -127
// with sub-block scales 31 and -32; Q3_K: +3 and -4 at scales 31 and -32) against
// activations at +-127: the 16-bit pair sums and int32 lanes must not overflow.
TEST_P(IntFormMatmulTest, ExtremeQuantsDoNotOverflow) {
  ThreadPool pool(1);
  const int64_t rows = 3;
  for (DType type : kIntFormTypes) {
    if (!uses_int8(type)) continue;
    const int64_t cols = is_k_quant(type) ? 512 : 64;
    const size_t block_bytes = dtype_info(type).block_bytes;
    for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xff}}) {
      std::vector<uint8_t> w(row_bytes(type, cols) * rows, fill);
      for (size_t b = 0; b < w.size() / block_bytes; ++b)
        for (size_t off : half_offsets(type)) {
          const uint16_t one = 0x3c00;  // 1.0
          std::memcpy(w.data() + b * block_bytes + off, &one, sizeof one);
        }
      for (float sign : {1.0f, -1.0f}) {
        SCOPED_TRACE(testing::Message() << dtype_name(type) << " fill=" << int{fill} << " sign=" << sign);
        std::vector<float> x(static_cast<size_t>(cols * 2));
        for (int64_t c = 0; c < cols; ++c) x[c] = sign, x[cols + c] = c % 2 ? sign : -sign;
        expect_matches_exact_reference(table(), pool, type, w, rows, cols, x, 2);
      }
    }
  }
}

}  // namespace
}  // namespace tessera::kernels
