// Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q5_K, IQ4_NL, IQ4_XS: quantize_row and
// dequantize_row against ggml's own bytes and floats (tests/data/
// quant_formats_vectors.json), the layouts against hand-packed blocks, and
// round-trip error bounds (IQ4's quantizers are Tessera's own: bounded, and
// compared with ggml's error on the same rows).
//
// The fixture was made by a throwaway Python script (not kept in the
// repository) calling, through ctypes, libggml-base.so of llama.cpp c392e5094
// (built with its defaults: -O3, no -march, so no FMA contraction): after
// ggml_init, ggml_quantize_chunk(type, ..., imatrix = NULL) and
// dequantize_row_<type> on the inputs of kquant_vectors.json, and an FNV-1a
// hash of ggml's bytes for 1,200 bulk rows (fixture_util.h). The script
// reproduced kquant_vectors.json's Q4_K bulk hash first, as a check of itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "fixture_util.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/reference_formats.h"
#include "kernels/reference_kquants.h"

namespace tessera::kernels {
namespace {

using test::floats_from_hex;
using test::from_hex;
using test::random_floats;

struct FixtureFormat {
  DType type;
  const char* key;
  bool ggml_quantizer;  // Tessera writes ggml's bytes
};
constexpr FixtureFormat kFormats[] = {
    {DType::Q4_1, "q4_1", true},     {DType::Q5_0, "q5_0", true}, {DType::Q5_1, "q5_1", true},
    {DType::Q2_K, "q2_k", true},     {DType::Q3_K, "q3_k", true}, {DType::Q5_K, "q5_k", true},
    {DType::IQ4_NL, "iq4_nl", false}, {DType::IQ4_XS, "iq4_xs", false},
};

nlohmann::json fixture() { return test::load_fixture("quant_formats_vectors.json"); }

TEST(FormatsFixture, QuantizeRowWritesGgmlsBytes) {
  const nlohmann::json f = fixture();
  ASSERT_GE(f["rows"].size(), 8u);
  for (const auto& row : f["rows"]) {
    const std::vector<float> x = floats_from_hex(row["input"]);
    const auto n = static_cast<int64_t>(x.size());
    for (const FixtureFormat& fmt : kFormats) {
      if (!fmt.ggml_quantizer) continue;
      SCOPED_TRACE(testing::Message() << fmt.key << ": " << row["what"].get<std::string>());
      const std::vector<uint8_t> want = from_hex(row[fmt.key]);
      std::vector<uint8_t> got(row_bytes(fmt.type, n), 0xAA);
      ASSERT_EQ(got.size(), want.size());
      ref::quantize_row(fmt.type, x.data(), got.data(), n);
      EXPECT_EQ(got, want);
      std::fill(got.begin(), got.end(), 0x55);
      quantize_row(fmt.type, x.data(), got.data(), n);  // the active tier's entry point
      EXPECT_EQ(got, want);
    }
  }
}

TEST(FormatsFixture, DequantizeRowGivesGgmlsFloats) {
  const nlohmann::json f = fixture();
  for (const auto& row : f["rows"]) {
    const auto n = row["n"].get<int64_t>();
    for (const FixtureFormat& fmt : kFormats) {
      SCOPED_TRACE(testing::Message() << fmt.key << ": " << row["what"].get<std::string>());
      const std::vector<uint8_t> q = from_hex(row[fmt.key]);
      const std::vector<float> want = floats_from_hex(row[std::string(fmt.key) + "_dequantized"]);
      ASSERT_EQ(static_cast<int64_t>(want.size()), n);
      std::vector<float> got(want.size());
      ref::dequantize_row(fmt.type, q.data(), got.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)));
      dequantize_row(fmt.type, q.data(), got.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)));
    }
  }
}

TEST(FormatsFixture, BulkRowsHashAsGgmlsBytes) {
  const nlohmann::json bulk = fixture()["bulk"];
  const auto rows = bulk["rows"].get<uint32_t>();
  for (const FixtureFormat& fmt : kFormats) {
    if (!fmt.ggml_quantizer) continue;
    SCOPED_TRACE(fmt.key);
    uint64_t h = 0xcbf29ce484222325ull;
    std::vector<float> x(256);
    std::vector<uint8_t> q(row_bytes(fmt.type, 256));
    for (uint32_t r = 0; r < rows; ++r) {
      test::bulk_row(r, x.data());
      ref::quantize_row(fmt.type, x.data(), q.data(), 256);
      h = test::fnv1a(h, q);
    }
    EXPECT_EQ(h, std::stoull(bulk[std::string(fmt.key) + "_fnv1a64"].get<std::string>(), nullptr, 16));
  }
}

// The fixture reaches the quantizers' special cases: K-quant sub-blocks with a
// zero scale, Q3_K quants using the high bit (hmask) both ways, Q5 fifth bits.
TEST(FormatsFixture, CoversTheQuantizersSpecialCases) {
  int q2_zero = 0, q3_zero = 0, q3_high = 0, q3_low = 0, q5k_fifth = 0, q5_0_fifth = 0;
  const nlohmann::json f = fixture();
  for (const auto& row : f["rows"]) {
    const std::vector<uint8_t> q2 = from_hex(row["q2_k"]), q3 = from_hex(row["q3_k"]), q5k = from_hex(row["q5_k"]),
                               q50 = from_hex(row["q5_0"]);
    for (size_t b = 0; b < q2.size() / sizeof(BlockQ2_K); ++b) {
      const auto* b2 = reinterpret_cast<const BlockQ2_K*>(q2.data()) + b;
      const auto* b3 = reinterpret_cast<const BlockQ3_K*>(q3.data()) + b;
      const auto* b5 = reinterpret_cast<const BlockQ5_K*>(q5k.data()) + b;
      for (int j = 0; j < 16; ++j) q2_zero += (b2->scales[j] & 15) == 0, q3_zero += ref::q3_k_scale(b3->scales, j) == 0;
      for (uint8_t h : b3->hmask) q3_high += h != 0, q3_low += h != 0xff;
      for (uint8_t h : b5->qh) q5k_fifth += h != 0;
    }
    for (size_t b = 0; b < q50.size() / sizeof(BlockQ5_0); ++b) {
      const auto* blk = reinterpret_cast<const BlockQ5_0*>(q50.data()) + b;
      q5_0_fifth += (blk->qh[0] | blk->qh[1] | blk->qh[2] | blk->qh[3]) != 0;
    }
  }
  EXPECT_GT(q2_zero, 0);
  EXPECT_GT(q3_zero, 0);
  EXPECT_GT(q3_high, 0);
  EXPECT_GT(q3_low, 0);
  EXPECT_GT(q5k_fifth, 0);
  EXPECT_GT(q5_0_fifth, 0);
}

// --- Layouts, against blocks packed by hand from core/blocks.h's description ---

TEST(FormatsLayout, Q5_0AndQ5_1FifthBits) {
  BlockQ5_1 b{};
  b.d = fp32_to_fp16(0.5f);
  b.m = fp32_to_fp16(-2.0f);
  int q[32];
  for (int i = 0; i < 32; ++i) q[i] = (i * 13 + 5) % 32;
  for (int i = 0; i < 16; ++i) b.qs[i] = static_cast<uint8_t>((q[i] & 15) | (q[i + 16] & 15) << 4);
  uint32_t qh = 0;
  for (int i = 0; i < 32; ++i) qh |= static_cast<uint32_t>(q[i] >> 4) << i;
  std::memcpy(b.qh, &qh, 4);
  float y[32];
  ref::dequantize_row(DType::Q5_1, &b, y, 32);
  for (int i = 0; i < 32; ++i) ASSERT_EQ(y[i], 0.5f * q[i] - 2.0f) << i;
  BlockQ5_0 b0{};
  b0.d = b.d;
  std::memcpy(b0.qh, b.qh, 4);
  std::memcpy(b0.qs, b.qs, 16);
  ref::dequantize_row(DType::Q5_0, &b0, y, 32);
  for (int i = 0; i < 32; ++i) ASSERT_EQ(y[i], 0.5f * (q[i] - 16)) << i;
}

TEST(FormatsLayout, Q3_KDequantizesHandPackedBlock) {
  BlockQ3_K b{};
  b.d = fp32_to_fp16(0.25f);
  int sc[16], q[256];  // sc: 6-bit stored scale (weight scale sc - 32); q: 0..7 (weight q - 4)
  for (int k = 0; k < 16; ++k) sc[k] = (k * 23 + 3) % 64;
  for (int k = 0; k < 16; ++k) {
    if (k < 8) b.scales[k] |= static_cast<uint8_t>(sc[k] & 15);
    else b.scales[k - 8] |= static_cast<uint8_t>((sc[k] & 15) << 4);
    b.scales[8 + k % 4] |= static_cast<uint8_t>((sc[k] >> 4) << (2 * (k / 4)));
  }
  for (int i = 0; i < 256; ++i) {
    q[i] = (i * 5 + i / 16) % 8;
    const int h = i / 128, part = i % 128 / 32, l = i % 32;
    b.qs[32 * h + l] |= static_cast<uint8_t>((q[i] & 3) << (2 * part));
    b.hmask[l] |= static_cast<uint8_t>((q[i] >> 2) << (4 * h + part));
  }
  float y[256];
  ref::dequantize_row(DType::Q3_K, &b, y, 256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.25f * (sc[i / 16] - 32) * (q[i] - 4)) << i;
}

TEST(FormatsLayout, Q2_KAndQ5_KDequantizeHandPackedBlocks) {
  BlockQ2_K b{};
  b.d = fp32_to_fp16(0.5f);
  b.dmin = fp32_to_fp16(0.125f);
  int q[256];
  for (int k = 0; k < 16; ++k) b.scales[k] = static_cast<uint8_t>((k * 7) % 16 | ((k * 3 + 1) % 16) << 4);
  for (int i = 0; i < 256; ++i) {
    q[i] = (i * 3 + i / 64) % 4;
    b.qs[32 * (i / 128) + i % 32] |= static_cast<uint8_t>(q[i] << (2 * (i % 128 / 32)));
  }
  float y[256];
  ref::dequantize_row(DType::Q2_K, &b, y, 256);
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(y[i], 0.5f * (b.scales[i / 16] & 15) * q[i] - 0.125f * (b.scales[i / 16] >> 4)) << i;

  BlockQ5_K k{};
  k.d = fp32_to_fp16(0.5f);
  k.dmin = fp32_to_fp16(0.25f);
  const int sc[8] = {1, 2, 63, 4, 17, 40, 63, 0}, m[8] = {0, 5, 6, 63, 33, 16, 1, 62};
  for (int j = 0; j < 4; ++j) {
    k.scales[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    k.scales[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
    k.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
  for (int i = 0; i < 256; ++i) {
    q[i] = (i * 11 + i / 32) % 32;
    const int j = i / 32, l = i % 32;
    k.qs[32 * (j / 2) + l] |= static_cast<uint8_t>((q[i] & 15) << (4 * (j % 2)));
    k.qh[l] |= static_cast<uint8_t>((q[i] >> 4) << j);
  }
  ref::dequantize_row(DType::Q5_K, &k, y, 256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.5f * sc[i / 32] * q[i] - 0.25f * m[i / 32]) << i;
}

TEST(FormatsLayout, IQ4DequantizesHandPackedBlocks) {
  BlockIQ4_XS b{};
  b.d = fp32_to_fp16(0.5f);
  int ls[8], q[256];
  for (int j = 0; j < 8; ++j) {
    ls[j] = (j * 19 + 7) % 64;
    b.scales_l[j / 2] |= static_cast<uint8_t>((ls[j] & 15) << (4 * (j % 2)));
    b.scales_h = static_cast<uint16_t>(b.scales_h | (ls[j] >> 4) << (2 * j));
  }
  for (int i = 0; i < 256; ++i) {
    q[i] = (i * 7 + i / 32) % 16;
    const int j = i / 32, l = i % 32;
    b.qs[16 * j + l % 16] |= static_cast<uint8_t>(q[i] << (l < 16 ? 0 : 4));
  }
  float y[256];
  ref::dequantize_row(DType::IQ4_XS, &b, y, 256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.5f * (ls[i / 32] - 32) * kIq4Values[q[i]]) << i;
  BlockIQ4_NL nl{};
  nl.d = fp32_to_fp16(-0.25f);
  std::memcpy(nl.qs, b.qs, 16);
  ref::dequantize_row(DType::IQ4_NL, &nl, y, 32);
  for (int i = 0; i < 32; ++i) ASSERT_EQ(y[i], -0.25f * kIq4Values[q[i]]) << i;
}

TEST(FormatsLayout, AllZeroInputGivesZeroWeightsAndRaggedRowsAreRejected) {
  const std::vector<float> x(512, 0.0f);
  for (const FixtureFormat& fmt : kFormats) {
    SCOPED_TRACE(fmt.key);
    std::vector<uint8_t> q(row_bytes(fmt.type, 512), 0x55);
    ref::quantize_row(fmt.type, x.data(), q.data(), 512);
    std::vector<float> y(512, 1.0f);
    ref::dequantize_row(fmt.type, q.data(), y.data(), 512);
    for (float v : y) ASSERT_EQ(v, 0.0f);
    const int64_t ragged = dtype_info(fmt.type).block_size == 256 ? 384 : 48;
    EXPECT_THROW(ref::quantize_row(fmt.type, x.data(), q.data(), ragged), Error);
    EXPECT_THROW(ref::dequantize_row(fmt.type, q.data(), y.data(), ragged), Error);
  }
}

// --- Round trip ---------------------------------------------------------------

struct RoundTrip {
  double worst = 0.0, rms = 0.0;  // relative to each group's largest magnitude
};

// Errors of quantize + dequantize over 64 super-blocks of uniform data,
// relative to the largest magnitude of each group of `group` values.
RoundTrip round_trip(DType type, const std::vector<float>& x, int64_t group) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(row_bytes(type, n));
  std::vector<float> y(static_cast<size_t>(n));
  ref::quantize_row(type, x.data(), q.data(), n);
  ref::dequantize_row(type, q.data(), y.data(), n);
  RoundTrip r;
  double sq_err = 0.0, sq_amax = 0.0;
  for (int64_t g = 0; g < n / group; ++g) {
    double amax = 0.0;
    for (int64_t i = g * group; i < (g + 1) * group; ++i) amax = std::max(amax, std::fabs(double{x[i]}));
    for (int64_t i = g * group; i < (g + 1) * group; ++i) {
      const double err = std::fabs(double{x[i]} - y[i]);
      r.worst = std::max(r.worst, err / amax);
      sq_err += err * err;
    }
    sq_amax += amax * amax * static_cast<double>(group);
  }
  r.rms = std::sqrt(sq_err / sq_amax);
  return r;
}

// Bounds from each format's step (2 * max|x| / levels for data around zero),
// loosely for the worst value (a clipped end, a rounded sub-block scale) and
// tightly for the RMS; measured values in the comments.
TEST(FormatsRoundTrip, ErrorIsAboutHalfAStep) {
  const std::vector<float> x = random_floats(256 * 64, 31, -1.0f, 1.0f);
  struct Bound {
    DType type;
    double worst, rms;
  };
  // Q5_0 maps the largest magnitude to -16, so a value of the other sign near
  // it clips at 15 steps: 1/16. IQ4's grid ends at -127 and 113 likewise (14/127).
  for (const Bound& b : {Bound{DType::Q4_1, 0.07, 0.04}, Bound{DType::Q5_0, 0.065, 0.02},
                         Bound{DType::Q5_1, 0.035, 0.02}, Bound{DType::Q5_K, 0.08, 0.02},
                         Bound{DType::Q3_K, 0.35, 0.12}, Bound{DType::Q2_K, 0.7, 0.25},
                         Bound{DType::IQ4_NL, 0.14, 0.04}, Bound{DType::IQ4_XS, 0.2, 0.05}}) {
    const RoundTrip r = round_trip(b.type, x, 32);
    SCOPED_TRACE(testing::Message() << dtype_name(b.type) << ": worst " << r.worst << ", rms " << r.rms);
    EXPECT_LE(r.worst, b.worst);
    EXPECT_LE(r.rms, b.rms);
  }
}

// Tessera's IQ4 quantizers against ggml's (no importance matrix) on the
// fixture's rows: squared error at most 2% above ggml's in total.
TEST(FormatsRoundTrip, IQ4ErrorIsNoWorseThanGgmls) {
  const nlohmann::json f = fixture();
  for (const FixtureFormat& fmt : kFormats) {
    if (fmt.ggml_quantizer) continue;
    double ours = 0.0, ggml = 0.0;
    for (const auto& row : f["rows"]) {
      const std::vector<float> x = floats_from_hex(row["input"]);
      const std::vector<float> theirs = floats_from_hex(row[std::string(fmt.key) + "_dequantized"]);
      const auto n = static_cast<int64_t>(x.size());
      std::vector<uint8_t> q(row_bytes(fmt.type, n));
      std::vector<float> y(x.size());
      ref::quantize_row(fmt.type, x.data(), q.data(), n);
      ref::dequantize_row(fmt.type, q.data(), y.data(), n);
      for (size_t i = 0; i < x.size(); ++i) {
        ours += (double{x[i]} - y[i]) * (double{x[i]} - y[i]);
        ggml += (double{x[i]} - theirs[i]) * (double{x[i]} - theirs[i]);
      }
    }
    SCOPED_TRACE(testing::Message() << fmt.key << ": ours " << ours << ", ggml " << ggml);
    EXPECT_LE(ours, 1.02 * ggml);
  }
}

}  // namespace
}  // namespace tessera::kernels
