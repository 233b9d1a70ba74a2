// Every tier's rmsnorm, softmax, swiglu, rope and row conversions against the
// reference, on lengths that leave every kind of vector tail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/avx2_kernels.h"

namespace tessera::kernels {
namespace {

using test::PerIsa;
using test::random_floats;

constexpr int64_t kLengths[] = {1, 3, 5, 8, 13, 16, 67, 4096};

class OpsTest : public PerIsa {};
TESSERA_INSTANTIATE_PER_ISA(OpsTest);

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, double abs) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), rel * std::fabs(want[i]) + abs)
        << "at " << i << ": got " << got[i] << " want " << want[i];
}

TEST_P(OpsTest, RmsnormMatchesReference) {
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto x = random_floats(static_cast<size_t>(n), 1, -3.0f, 3.0f);
    const auto w = random_floats(static_cast<size_t>(n), 2, 0.5f, 1.5f);
    std::vector<float> want(x.size()), got(x.size());
    ref::rmsnorm(want.data(), x.data(), w.data(), n, 1e-5f);
    table().rmsnorm(got.data(), x.data(), w.data(), n, 1e-5f);
    expect_close(got, want, 1e-6, 1e-7);
    std::vector<float> in_place = x;  // out may alias x
    table().rmsnorm(in_place.data(), in_place.data(), w.data(), n, 1e-5f);
    EXPECT_EQ(0, std::memcmp(in_place.data(), got.data(), got.size() * sizeof(float)));
  }
}

TEST_P(OpsTest, SoftmaxMatchesReference) {
  for (int64_t n : kLengths) {
    for (float spread : {1.0f, 30.0f, 1e4f}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " spread=" << spread);
      std::vector<float> want = random_floats(static_cast<size_t>(n), 3, -spread, spread);
      std::vector<float> got = want;
      ref::softmax(want.data(), n);
      table().softmax(got.data(), n);
      expect_close(got, want, 4e-6, 1e-30);
    }
  }
}

TEST_P(OpsTest, SoftmaxSumsToOneWithLargeInputs) {
  for (int64_t n : {1, 7, 9, 1000}) {
    SCOPED_TRACE(n);
    std::vector<float> x = random_floats(static_cast<size_t>(n), 4, -1e4f, 1e4f);
    x[0] = 3e38f;  // would overflow exp without subtracting the max
    if (n > 2) x[2] = -std::numeric_limits<float>::infinity();  // a masked-out score
    table().softmax(x.data(), n);
    double sum = 0.0;
    for (float v : x) {
      ASSERT_TRUE(std::isfinite(v));
      ASSERT_GE(v, 0.0f);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
    EXPECT_NEAR(x[0], 1.0f, 1e-6);
    if (n > 2) {
      EXPECT_LE(x[2], 1e-44f);
    }
  }
  std::vector<float> equal(37, 88.0f);  // all at the top of exp's range
  table().softmax(equal.data(), 37);
  for (float v : equal) EXPECT_NEAR(v, 1.0f / 37, 1e-7);
}

TEST_P(OpsTest, SwigluMatchesReference) {
  for (int64_t n : kLengths) {
    for (float range : {1.0f, 20.0f, 200.0f}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " range=" << range);
      const auto g = random_floats(static_cast<size_t>(n), 5, -range, range);
      const auto u = random_floats(static_cast<size_t>(n), 6, -2.0f, 2.0f);
      std::vector<float> want(g.size()), got(g.size());
      ref::swiglu(want.data(), g.data(), u.data(), n);
      table().swiglu(got.data(), g.data(), u.data(), n);
      expect_close(got, want, 4e-6, 1e-35);
      std::vector<float> in_place = g;  // out may alias gate
      table().swiglu(in_place.data(), in_place.data(), u.data(), n);
      EXPECT_EQ(0, std::memcmp(in_place.data(), got.data(), got.size() * sizeof(float)));
    }
  }
}

TEST_P(OpsTest, RopeMatchesReference) {
  float factors[16];
  for (int i = 0; i < 16; ++i) factors[i] = 1.0f + 0.5f * static_cast<float>(i % 5);
  for (bool neox : {false, true}) {
    for (int64_t rot_dim : {64, 32}) {
      SCOPED_TRACE(testing::Message() << "neox=" << neox << " rot_dim=" << rot_dim);
      RopeParams p;
      p.head_dim = 64;
      p.rot_dim = rot_dim;
      p.freq_base = 500000.0f;
      p.freq_scale = 0.25f;
      p.freq_factors = rot_dim == 32 ? factors : nullptr;
      p.neox = neox;
      std::vector<float> want = random_floats(3 * 64, 7), got = want;
      ref::rope(want.data(), 3, 1234, p);
      table().rope(got.data(), 3, 1234, p);
      expect_close(got, want, 1e-6, 1e-6);
    }
  }
}

TEST_P(OpsTest, RowConversionsMatchReferenceBitForBit) {
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K}) {
    for (int64_t n : {32, 96, 256, 768, 4096}) {
      if (n % dtype_info(type).block_size != 0) continue;
      SCOPED_TRACE(testing::Message() << dtype_name(type) << " n=" << n);
      const auto x = random_floats(static_cast<size_t>(n), 8, -4.0f, 4.0f);
      std::vector<uint8_t> want(row_bytes(type, n)), got(want.size());
      ref::quantize_row(type, x.data(), want.data(), n);
      table().quantize_row(type, x.data(), got.data(), n);
      EXPECT_EQ(want, got);
      std::vector<float> back_want(x.size()), back_got(x.size());
      ref::dequantize_row(type, want.data(), back_want.data(), n);
      table().dequantize_row(type, want.data(), back_got.data(), n);
      EXPECT_EQ(0, std::memcmp(back_want.data(), back_got.data(), x.size() * sizeof(float)));
    }
  }
}

// exp8, the AVX2 exp of softmax, swiglu and attention, against std::exp in
// double: within 2 ulp of the result over the whole range where it is a normal
// float, within 2 subnormal steps below that, and the special values.
TEST(Exp8, WithinTwoUlpOfStdExp) {
  if (!kernel_table(Isa::Avx2)) GTEST_SKIP() << "no AVX2 on this machine";
  std::vector<float> x;
  for (float v = -104.0f; v <= 89.0f; v += 0.00390625f) x.push_back(v);  // every 1/256
  for (float v : random_floats(100000, 9, -104.0f, 89.0f)) x.push_back(v);
  for (float v : random_floats(100000, 10, -1.0f, 1.0f)) x.push_back(v);
  std::vector<float> y(x.size());
  avx2::exp_row(x.data(), y.data(), static_cast<int64_t>(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(static_cast<double>(x[i]));
    if (want > std::numeric_limits<float>::max()) {
      ASSERT_EQ(y[i], std::numeric_limits<float>::infinity()) << x[i];
      continue;
    }
    const float w = static_cast<float>(want);
    const double ulp = std::max(static_cast<double>(std::nextafter(w, INFINITY) - w),
                                static_cast<double>(std::numeric_limits<float>::denorm_min()));
    const double err = std::fabs(y[i] - want) / ulp;
    worst = std::max(worst, err);
    ASSERT_LE(err, 2.0) << "exp(" << x[i] << ") = " << y[i] << ", want " << want;
  }
  RecordProperty("worst_ulp", std::to_string(worst));
  const float special[] = {0.0f, -INFINITY, INFINITY, std::nanf(""), -200.0f, 200.0f};
  float out[6];
  avx2::exp_row(special, out, 6);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], INFINITY);
  EXPECT_TRUE(std::isnan(out[3]));
  EXPECT_EQ(out[4], 0.0f);
  EXPECT_EQ(out[5], INFINITY);
}

}  // namespace
}  // namespace tessera::kernels
