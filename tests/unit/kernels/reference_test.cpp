// The scalar reference itself: quantizers bit for bit against hand-worked
// blocks (GGUF's rules), round-trip error bounds, fp16/bf16 rows, rope against
// its formula, softmax and swiglu against their definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "kernel_test_util.h"

namespace tessera::kernels {
namespace {

using test::random_floats;

// --- Q8_0 -----------------------------------------------------------------

// max |x| = 127, so d = 1 and the quants are x rounded half away from zero.
TEST(ReferenceQ8_0, QuantizesHandWorkedBlock) {
  float x[32] = {127.0f, -127.0f, 0.5f, -0.5f, 1.5f, 2.49f, -2.5f, 3.7f, -0.4f, 0.0f, 126.5f, -126.5f};
  for (int j = 12; j < 32; ++j) x[j] = static_cast<float>(j) - 20.0f;
  BlockQ8_0 b;
  ref::quantize_row(DType::Q8_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3c00);  // fp16 1.0
  const int8_t want_head[12] = {127, -127, 1, -1, 2, 2, -3, 4, 0, 0, 127, -127};
  for (int j = 0; j < 12; ++j) EXPECT_EQ(b.qs[j], want_head[j]) << j;
  for (int j = 12; j < 32; ++j) EXPECT_EQ(b.qs[j], j - 20) << j;
}

// max |x| = 63.5 → d = 0.5, 1/d = 2.
TEST(ReferenceQ8_0, QuantizesWithScaleOneHalf) {
  float x[32] = {};
  x[0] = -63.5f;
  x[1] = 0.25f;   // 0.5 → 1
  x[2] = -0.75f;  // -1.5 → -2
  x[3] = 10.1f;   // 20.2 → 20
  BlockQ8_0 b;
  ref::quantize_row(DType::Q8_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3800);  // fp16 0.5
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], 1);
  EXPECT_EQ(b.qs[2], -2);
  EXPECT_EQ(b.qs[3], 20);
  for (int j = 4; j < 32; ++j) EXPECT_EQ(b.qs[j], 0);
}

TEST(ReferenceQ8_0, AllZeroBlockHasZeroScale) {
  float x[64] = {};
  x[40] = 1.0f;  // second block non-zero, first all zero
  BlockQ8_0 b[2];
  std::memset(b, 0x55, sizeof b);
  ref::quantize_row(DType::Q8_0, x, b, 64);
  EXPECT_EQ(b[0].d, 0);
  for (int8_t q : b[0].qs) EXPECT_EQ(q, 0);
  EXPECT_EQ(b[1].qs[8], 127);
}

// Each value comes back within half a step (plus the fp16 rounding of d).
TEST(ReferenceQ8_0, RoundTripErrorIsHalfAStep) {
  const int64_t n = 32 * 64;
  const auto x = random_floats(n, 9, -5.0f, 5.0f);
  std::vector<BlockQ8_0> b(n / 32);
  std::vector<float> y(n);
  ref::quantize_row(DType::Q8_0, x.data(), b.data(), n);
  ref::dequantize_row(DType::Q8_0, b.data(), y.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const double d = fp16_to_fp32(b[i / 32].d);
    ASSERT_LE(std::fabs(x[i] - y[i]), d * (0.5 + 127.0 / 2048) + 1e-7) << i;
  }
}

// --- Q4_0 -----------------------------------------------------------------

uint8_t nibble(const BlockQ4_0& b, int j) { return j < 16 ? b.qs[j] & 0x0f : b.qs[j - 16] >> 4; }

// Largest magnitude is negative (-8), so d = -8 / -8 = 1 and
// q = min(15, trunc(x + 8.5)).
TEST(ReferenceQ4_0, QuantizesBlockWithNegativeMax) {
  float x[32] = {};
  const float head[8] = {-8.0f, 7.0f, 7.4f, -0.5f, -0.6f, 0.49f, 0.5f, -7.5f};
  const uint8_t want_head[8] = {0, 15, 15, 8, 7, 8, 9, 1};
  std::memcpy(x, head, sizeof head);
  x[16] = 3.0f;  // element 16 goes in the high nibble of byte 0
  x[31] = -3.2f;
  BlockQ4_0 b;
  ref::quantize_row(DType::Q4_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3c00);  // fp16 1.0
  for (int j = 0; j < 8; ++j) EXPECT_EQ(nibble(b, j), want_head[j]) << j;
  EXPECT_EQ(nibble(b, 16), 11);
  EXPECT_EQ(nibble(b, 31), 5);  // trunc(-3.2 + 8.5) = 5
  EXPECT_EQ(b.qs[0], 0xb0);
  for (int j = 8; j < 16; ++j) EXPECT_EQ(nibble(b, j), 8) << j;
}

// Largest magnitude positive: d = -1, q = min(15, trunc(8.5 - x)). The first
// of two equal magnitudes sets the sign, and -8 then lands on 16 → 15.
TEST(ReferenceQ4_0, QuantizesBlockWithPositiveMaxAndTie) {
  float x[32] = {};
  x[0] = 8.0f;
  x[1] = -8.0f;
  x[2] = 2.0f;
  x[17] = -1.0f;
  BlockQ4_0 b;
  ref::quantize_row(DType::Q4_0, x, &b, 32);
  EXPECT_EQ(b.d, 0xbc00);  // fp16 -1.0
  EXPECT_EQ(nibble(b, 0), 0);
  EXPECT_EQ(nibble(b, 1), 15);
  EXPECT_EQ(nibble(b, 2), 6);
  EXPECT_EQ(nibble(b, 17), 9);
  EXPECT_EQ(nibble(b, 3), 8);
}

TEST(ReferenceQ4_0, AllZeroBlockHasNegativeZeroScale) {
  float x[32] = {};
  BlockQ4_0 b;
  std::memset(&b, 0x55, sizeof b);
  ref::quantize_row(DType::Q4_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x8000);  // d = 0 / -8 = -0, as the GGUF reference stores it
  for (uint8_t q : b.qs) EXPECT_EQ(q, 0x88);  // zero maps to quant 8 in both nibbles
  float y[32];
  ref::dequantize_row(DType::Q4_0, &b, y, 32);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

// Within half a step, except the clamped top value (a whole step); plus the
// fp16 rounding of d.
TEST(ReferenceQ4_0, RoundTripErrorIsAtMostOneStep) {
  const int64_t n = 32 * 64;
  const auto x = random_floats(n, 10, -2.0f, 2.0f);
  std::vector<BlockQ4_0> b(n / 32);
  std::vector<float> y(n);
  ref::quantize_row(DType::Q4_0, x.data(), b.data(), n);
  ref::dequantize_row(DType::Q4_0, b.data(), y.data(), n);
  double total = 0.0, total_step = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = std::fabs(fp16_to_fp32(b[i / 32].d));
    const double err = std::fabs(x[i] - y[i]);
    ASSERT_LE(err, d * (1.0 + 8.0 / 2048) + 1e-7) << i;
    total += err;
    total_step += d;
  }
  EXPECT_LT(total / total_step, 0.3);  // typical error is a quarter step
}

// --- F16 / BF16 / F32 rows --------------------------------------------------

TEST(ReferenceRows, HalfAndBfloatRowsRoundToNearestEven) {
  const float x[6] = {1.0f, -2.5f, 65504.0f, 1e-8f, std::numbers::pi_v<float>, 1.0f + 1.0f / 2048};
  uint16_t h[6], bf[6];
  ref::quantize_row(DType::F16, x, h, 6);
  ref::quantize_row(DType::BF16, x, bf, 6);
  const uint16_t want_h[6] = {0x3c00, 0xc100, 0x7bff, 0x0000, 0x4248, 0x3c00};  // last: tie to even
  const uint16_t want_bf[6] = {0x3f80, 0xc020, 0x4780, 0x322c, 0x4049, 0x3f80};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(h[i], want_h[i]) << i;
    EXPECT_EQ(bf[i], want_bf[i]) << i;
  }
  float back[6];
  ref::dequantize_row(DType::F16, h, back, 6);
  EXPECT_EQ(back[1], -2.5f);
  EXPECT_EQ(back[2], 65504.0f);
  ref::dequantize_row(DType::BF16, bf, back, 6);
  EXPECT_EQ(back[4], 3.140625f);
}

TEST(ReferenceRows, F32RowIsACopyAndRaggedRowsAreRejected) {
  const auto x = random_floats(7, 11);
  float y[7];
  ref::quantize_row(DType::F32, x.data(), y, 7);
  EXPECT_EQ(0, std::memcmp(x.data(), y, sizeof y));
  BlockQ8_0 b[2];
  EXPECT_THROW(ref::quantize_row(DType::Q8_0, x.data(), b, 7), Error);
  EXPECT_THROW(ref::dequantize_row(DType::Q4_0, b, y, 20), Error);
  EXPECT_THROW(ref::quantize_row(DType::Q8_K, x.data(), b, 256), Error);
}

// --- rope, softmax, swiglu, rmsnorm, matmul -------------------------------

// Straight from the definition in kernels.h, in long double.
void rope_by_formula(std::vector<float>& x, int64_t n_heads, int64_t pos, const RopeParams& p) {
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x.data() + h * p.head_dim;
    for (int64_t i = 0; i < p.rot_dim / 2; ++i) {
      long double angle = pos * static_cast<long double>(p.freq_scale) /
                          std::pow(static_cast<long double>(p.freq_base), 2.0L * i / p.rot_dim);
      if (p.freq_factors) angle /= p.freq_factors[i];
      const int64_t a = p.neox ? i : 2 * i, b = p.neox ? i + p.rot_dim / 2 : 2 * i + 1;
      const long double x0 = v[a], x1 = v[b];
      v[a] = static_cast<float>(x0 * std::cos(angle) - x1 * std::sin(angle));
      v[b] = static_cast<float>(x0 * std::sin(angle) + x1 * std::cos(angle));
    }
  }
}

TEST(ReferenceRope, MatchesFormula) {
  const float factors[8] = {1.0f, 2.0f, 4.0f, 8.0f, 16.0f, 1.0f, 0.5f, 3.0f};
  for (bool neox : {false, true})
    for (int64_t rot_dim : {16, 32})
      for (int64_t pos : {0, 1, 17, 4095}) {
        SCOPED_TRACE(testing::Message() << "neox=" << neox << " rot_dim=" << rot_dim << " pos=" << pos);
        RopeParams p;
        p.head_dim = 32;
        p.rot_dim = rot_dim;
        p.freq_base = 10000.0f;
        p.freq_scale = rot_dim == 16 ? 0.5f : 1.0f;
        p.freq_factors = rot_dim == 16 ? factors : nullptr;
        p.neox = neox;
        std::vector<float> got = random_floats(4 * 32, 12), want = got;
        const std::vector<float> before = got;
        ref::rope(got.data(), 4, pos, p);
        rope_by_formula(want, 4, pos, p);
        for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6) << i;
        for (int64_t h = 0; h < 4; ++h)  // dims past rot_dim are left alone
          for (int64_t d = rot_dim; d < 32; ++d) EXPECT_EQ(got[h * 32 + d], before[h * 32 + d]);
        if (pos == 0) {
          EXPECT_EQ(got, before);
        }
      }
}

// Normal mode turns neighbours (0, 1); neox mode turns (0, rot_dim/2).
TEST(ReferenceRope, PairsDimsByMode) {
  RopeParams p;
  p.head_dim = p.rot_dim = 4;
  std::vector<float> x = {1, 0, 0, 0};
  ref::rope(x.data(), 1, 1, p);  // pair 0 turns by 1 radian
  EXPECT_NEAR(x[0], std::cos(1.0), 1e-7);
  EXPECT_NEAR(x[1], std::sin(1.0), 1e-7);
  EXPECT_EQ(x[2], 0.0f);
  p.neox = true;
  x = {1, 0, 0, 0};
  ref::rope(x.data(), 1, 1, p);
  EXPECT_NEAR(x[0], std::cos(1.0), 1e-7);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_NEAR(x[2], std::sin(1.0), 1e-7);
}

TEST(ReferenceOps, SoftmaxSumsToOneWithLargeInputs) {
  std::vector<float> x = {1e30f, -1e30f, 1e30f, 0.0f, 3.0f};
  ref::softmax(x.data(), 5);
  EXPECT_FLOAT_EQ(x[0], 0.5f);
  EXPECT_FLOAT_EQ(x[2], 0.5f);
  EXPECT_EQ(x[1], 0.0f);
  std::vector<float> y = {1.0f, 2.0f, 3.0f};
  ref::softmax(y.data(), 3);
  const double e = std::exp(1.0), s = 1 + e + e * e;
  EXPECT_NEAR(y[0], 1 / s, 1e-7);
  EXPECT_NEAR(y[2], e * e / s, 1e-7);
}

TEST(ReferenceOps, SwigluAndRmsnormFollowTheirDefinitions) {
  const float g[3] = {0.0f, 2.0f, -3.0f}, u[3] = {5.0f, 0.5f, 2.0f};
  float out[3];
  ref::swiglu(out, g, u, 3);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 2.0 / (1 + std::exp(-2.0)) * 0.5, 1e-7);
  EXPECT_NEAR(out[2], -3.0 / (1 + std::exp(3.0)) * 2.0, 1e-7);
  const float x[4] = {1.0f, -2.0f, 3.0f, -4.0f}, w[4] = {1.0f, 1.0f, 2.0f, 0.5f};
  float y[4];
  ref::rmsnorm(y, x, w, 4, 0.0f);
  const double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0);
  EXPECT_NEAR(y[0], 1 / rms, 1e-7);
  EXPECT_NEAR(y[2], 6 / rms, 1e-6);
  EXPECT_NEAR(y[3], -2 / rms, 1e-7);
}

TEST(ReferenceMatmul, ComputesRowsTimesTokens) {
  // W = [[1, 2], [3, 4], [5, 6]] (3 x 2), two tokens x = [1, 1], [1, -1].
  const float w[6] = {1, 2, 3, 4, 5, 6}, x[4] = {1, 1, 1, -1};
  float y[6];
  ref::matmul(DType::F32, w, 3, 2, x, 2, y);
  const float want[6] = {3, 7, 11, -1, -1, -1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[i], want[i]) << i;
}

// Hand-worked values: x = (1, 2, 3, 4) has mean 2.5 and variance 1.25.
TEST(ReferenceLayernorm, NormalisesScalesAndShifts) {
  const float x[4] = {1, 2, 3, 4}, w[4] = {1, 2, 1, 1}, b[4] = {0, 0, 0, 10};
  float out[4];
  ref::layernorm(out, x, w, b, 4, 0.0f);
  const float s = 1.0f / std::sqrt(1.25f);
  EXPECT_NEAR(out[0], -1.5f * s, 1e-6);
  EXPECT_NEAR(out[1], 2 * -0.5f * s, 1e-6);
  EXPECT_NEAR(out[2], 0.5f * s, 1e-6);
  EXPECT_NEAR(out[3], 1.5f * s + 10, 1e-5);
}

// GPT-2's GELU (tanh form) at points worked out by hand: gelu(0) = 0,
// gelu(1) = 0.5 (1 + tanh(sqrt(2/pi) 1.044715)) = 0.841192, gelu(-1) = -0.158808,
// and x for large x.
TEST(ReferenceGelu, TanhApproximation) {
  const float x[4] = {0, 1, -1, 8};
  float out[4];
  ref::gelu(out, x, 4);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 0.841192f, 1e-6);
  EXPECT_NEAR(out[2], -0.158808f, 1e-6);
  EXPECT_NEAR(out[3], 8.0f, 1e-6);
}

}  // namespace
}  // namespace tessera::kernels
