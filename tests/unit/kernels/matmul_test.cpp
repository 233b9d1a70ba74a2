// Every tier's matmul against the reference, for every weight format, on odd
// sizes and tails, with and without threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace tessera::kernels {
namespace {

using test::PerIsa;
using test::random_floats;
using test::random_matrix;

constexpr auto& kTypes = test::kMatmulTypes;

std::vector<int64_t> cols_for(DType type) {
  if (dtype_info(type).block_size == 256) return {256, 512, 768};  // K-quants: whole super-blocks
  std::vector<int64_t> c = {32, 96, 160, 288};
  if (dtype_info(type).block_size == 1) c.insert(c.end(), {1, 5, 8, 13, 67, 100});
  return c;
}

// Bound for |y - y_ref|: relative to sum |w * x| over the row, from the
// dequantized weights in double. Kernels taking int8 activations may also be
// off by the activation rounding, |x - d*q| <= d/2 = max|x| / 254 per block
// (32 columns for Q8x32, 256 for Q8x256), times sum |w| over the block (a worst
// case; typical errors are far smaller).
std::vector<double> error_bounds(const KernelTable& table, DType type, const std::vector<uint8_t>& w, int64_t rows,
                                 int64_t cols, const std::vector<float>& x, int64_t n_tokens) {
  const ActFormat act_format = table.matmul_for(type)->act;
  const bool int8_activations = act_format != ActFormat::F32;
  const int64_t act_block = act_format == ActFormat::Q8x256 ? 256 : 32;
  std::vector<double> bound(static_cast<size_t>(rows * n_tokens));
  std::vector<float> row(static_cast<size_t>(cols));
  const size_t stride = row_bytes(type, cols);
  for (int64_t r = 0; r < rows; ++r) {
    ref::dequantize_row(type, w.data() + r * stride, row.data(), cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* xt = x.data() + t * cols;
      double s = 0.0, act = 0.0;
      for (int64_t c = 0; c < cols; ++c) s += std::fabs(static_cast<double>(row[c]) * xt[c]);
      for (int64_t b = 0; int8_activations && b < cols / act_block; ++b) {
        double amax = 0.0, wsum = 0.0;
        for (int64_t c = b * act_block; c < (b + 1) * act_block; ++c) {
          amax = std::max(amax, std::fabs(static_cast<double>(xt[c])));
          wsum += std::fabs(static_cast<double>(row[c]));
        }
        act += amax / 254.0 * (1.0 + 1e-6) * wsum;
      }
      bound[t * rows + r] = 1e-5 * s + 1e-6 + act;
    }
  }
  return bound;
}

void check_against_reference(const KernelTable& table, ThreadPool& pool, DType type, int64_t rows, int64_t cols,
                             int64_t n_tokens, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " cols=" << cols
                                  << " n_tokens=" << n_tokens);
  const std::vector<uint8_t> w = random_matrix(type, rows, cols, seed);
  const std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * cols), seed + 1);
  std::vector<float> expect(static_cast<size_t>(rows * n_tokens)), got(expect.size(), NAN);
  ref::matmul(type, w.data(), rows, cols, x.data(), n_tokens, expect.data());
  matmul_with(table, pool, type, w.data(), rows, cols, x.data(), n_tokens, got.data());
  const std::vector<double> bound = error_bounds(table, type, w, rows, cols, x, n_tokens);
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - expect[i]), bound[i])
        << "token " << i / rows << " row " << i % rows << ": got " << got[i] << " want " << expect[i];
}

class MatmulTest : public PerIsa {};
TESSERA_INSTANTIATE_PER_ISA(MatmulTest);

TEST_P(MatmulTest, MatchesReferenceOnOddSizes) {
  ThreadPool pool(3);
  uint32_t seed = 100;
  for (DType type : kTypes)
    for (int64_t rows : {1, 3, 7, 33, 67})
      for (int64_t cols : cols_for(type))
        for (int64_t n_tokens : {1, 2, 3, 4, 5})
          check_against_reference(table(), pool, type, rows, cols, n_tokens, ++seed);
}

// Long rows: the prefill path splits tokens into blocks (about 128 KiB of
// activations each), so 11 tokens of 4096 columns take a block of 8 and one of 3.
TEST_P(MatmulTest, MatchesReferenceOnLongRowsAndManyTokens) {
  ThreadPool pool(2);
  for (DType type : kTypes) {
    check_against_reference(table(), pool, type, 21, 4096, 11, 7);
    check_against_reference(table(), pool, type, 18, 4096, 1, 8);
  }
}

TEST_P(MatmulTest, ThreadCountDoesNotChangeResults) {
  ThreadPool one(1), three(3);
  for (DType type : kTypes)
    for (int64_t rows : {7, 33, 67, 130})
      for (int64_t n_tokens : {1, 3}) {
        SCOPED_TRACE(testing::Message() << dtype_name(type) << " rows=" << rows << " n_tokens=" << n_tokens);
        const int64_t cols = dtype_info(type).block_size == 256 ? 512 : 160;
        const std::vector<uint8_t> w = random_matrix(type, rows, cols, 5);
        const std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * cols), 6);
        std::vector<float> a(static_cast<size_t>(rows * n_tokens)), b(a.size());
        matmul_with(table(), one, type, w.data(), rows, cols, x.data(), n_tokens, a.data());
        matmul_with(table(), three, type, w.data(), rows, cols, x.data(), n_tokens, b.data());
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
      }
}

// Block formats only guarantee 2-byte alignment of each row (Q8_0 blocks are
// 34 bytes, Q6_K 210), so kernels must not assume more: run on weights 2 bytes off.
TEST_P(MatmulTest, HandlesWeightsAtTwoByteAlignment) {
  ThreadPool pool(1);
  for (DType type : kTypes) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t rows = 5, cols = dtype_info(type).block_size == 256 ? 256 : 96, n_tokens = 2;
    const std::vector<uint8_t> w = random_matrix(type, rows, cols, 11);
    const std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * cols), 12);
    std::vector<uint8_t> shifted(w.size() + 2);
    std::memcpy(shifted.data() + 2, w.data(), w.size());
    std::vector<float> expect(static_cast<size_t>(rows * n_tokens)), got(expect.size());
    ref::matmul(type, w.data(), rows, cols, x.data(), n_tokens, expect.data());
    matmul_with(table(), pool, type, shifted.data() + 2, rows, cols, x.data(), n_tokens, got.data());
    const std::vector<double> bound = error_bounds(table(), type, w, rows, cols, x, n_tokens);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expect[i], bound[i]) << i;
  }
}

TEST_P(MatmulTest, ZeroSizesWriteNothing) {
  ThreadPool pool(2);
  std::vector<float> y(4, 7.0f);
  const std::vector<uint8_t> w = random_matrix(DType::Q8_0, 2, 32, 1);
  const std::vector<float> x = random_floats(64, 2);
  matmul_with(table(), pool, DType::Q8_0, w.data(), 0, 32, x.data(), 2, y.data());
  matmul_with(table(), pool, DType::Q8_0, w.data(), 2, 32, x.data(), 0, y.data());
  for (float v : y) EXPECT_EQ(v, 7.0f);
}

TEST_P(MatmulTest, RejectsUnsupportedTypesAndRaggedRows) {
  ThreadPool pool(1);
  std::vector<uint8_t> w(1024);
  std::vector<float> x(64), y(4);
  EXPECT_THROW(matmul_with(table(), pool, DType::Q8_1, w.data(), 1, 32, x.data(), 1, y.data()), Error);
  EXPECT_THROW(matmul_with(table(), pool, DType::Q8_0, w.data(), 1, 33, x.data(), 1, y.data()), Error);
  EXPECT_THROW(matmul_with(table(), pool, DType::Q4_0, w.data(), 1, 48, x.data(), 1, y.data()), Error);
  EXPECT_THROW(matmul_with(table(), pool, DType::Q4_K, w.data(), 1, 32, x.data(), 1, y.data()), Error);
  EXPECT_THROW(matmul_with(table(), pool, DType::Q6_K, w.data(), 1, 32, x.data(), 1, y.data()), Error);
  EXPECT_EQ(table().matmul_for(DType::Q8_K), nullptr);
}

// kernels::matmul goes through the active tier and agrees with the reference.
TEST(Matmul, PublicEntryPointUsesActiveTier) {
  ThreadPool pool(2);
  for (DType type : kTypes) {
    ASSERT_TRUE(supports(type));
    const int64_t rows = 9, cols = dtype_info(type).block_size == 256 ? 256 : 64, n_tokens = 2;
    const std::vector<uint8_t> w = random_matrix(type, rows, cols, 21);
    const std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * cols), 22);
    std::vector<float> expect(static_cast<size_t>(rows * n_tokens)), got(expect.size());
    ref::matmul(type, w.data(), rows, cols, x.data(), n_tokens, expect.data());
    matmul(pool, type, w.data(), rows, cols, x.data(), n_tokens, got.data());
    const std::vector<double> bound = error_bounds(active_table(), type, w, rows, cols, x, n_tokens);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expect[i], bound[i]);
  }
  EXPECT_FALSE(supports(DType::Q8_1));
  EXPECT_FALSE(supports(DType::Q8_K));
}

}  // namespace
}  // namespace tessera::kernels
