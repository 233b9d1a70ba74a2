// Q4_K and Q6_K: quantize_row and dequantize_row against bytes and floats from
// ggml itself (tests/data/kquant_vectors.json), the block layouts against
// hand-packed blocks, and round-trip error bounds.
//
// The fixture was made by a throwaway C program (not kept in the repository)
// linked to ggml-base of llama.cpp c392e5094 (built with its defaults: -O3, no
// -march, so no FMA contraction): after ggml_init (which fills ggml's fp16
// table), it called ggml_quantize_chunk(GGML_TYPE_Q4_K / GGML_TYPE_Q6_K, ...,
// imatrix = NULL) - what llama-quantize does without an importance matrix - and
// dequantize_row_q4_K / dequantize_row_q6_K on eight rows of deterministic
// inputs chosen to reach the quantizers' special cases (listed in each row's
// "what"), and a hash of its bytes for 1,200 rows from an exact formula
// (bulk_row below). The same program compared Tessera's quantizers with ggml's on
// 131,000 further rows (random shapes and the stories260K weights): all equal.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/blocks.h"
#include "core/error.h"
#include "core/half.h"
#include "fixture_util.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/reference_kquants.h"

namespace tessera::kernels {
namespace {

using test::random_floats;

using test::floats_from_hex;
using test::from_hex;

nlohmann::json load_fixture() { return test::load_fixture("kquant_vectors.json"); }

struct FixtureFormat {
  DType type;
  const char* key;
};
constexpr FixtureFormat kFixtureFormats[] = {{DType::Q4_K, "q4_k"}, {DType::Q6_K, "q6_k"}};

TEST(KQuantFixture, QuantizeRowWritesGgmlsBytes) {
  const nlohmann::json fixture = load_fixture();
  ASSERT_GE(fixture["rows"].size(), 8u);
  for (const auto& row : fixture["rows"]) {
    const std::vector<float> x = floats_from_hex(row["input"]);
    const auto n = static_cast<int64_t>(x.size());
    ASSERT_EQ(n, row["n"].get<int64_t>());
    for (const FixtureFormat& f : kFixtureFormats) {
      SCOPED_TRACE(testing::Message() << f.key << ": " << row["what"].get<std::string>());
      const std::vector<uint8_t> want = from_hex(row[f.key]);
      std::vector<uint8_t> got(row_bytes(f.type, n));
      ASSERT_EQ(got.size(), want.size());
      ref::quantize_row(f.type, x.data(), got.data(), n);
      EXPECT_EQ(got, want);
      std::fill(got.begin(), got.end(), 0xAA);
      quantize_row(f.type, x.data(), got.data(), n);  // the active tier's entry point
      EXPECT_EQ(got, want);
    }
  }
}

TEST(KQuantFixture, DequantizeRowGivesGgmlsFloats) {
  const nlohmann::json fixture = load_fixture();
  for (const auto& row : fixture["rows"]) {
    const auto n = row["n"].get<int64_t>();
    for (const FixtureFormat& f : kFixtureFormats) {
      SCOPED_TRACE(testing::Message() << f.key << ": " << row["what"].get<std::string>());
      const std::vector<uint8_t> q = from_hex(row[f.key]);
      const std::vector<float> want = floats_from_hex(row[std::string(f.key) + "_dequantized"]);
      ASSERT_EQ(static_cast<int64_t>(want.size()), n);
      std::vector<float> got(want.size());
      ref::dequantize_row(f.type, q.data(), got.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)));
      dequantize_row(f.type, q.data(), got.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)));
    }
  }
}

using test::bulk_row;
using test::fnv1a;

// Bulk rows (fixture_util.h): the fixture holds only a hash of ggml's bytes.
TEST(KQuantFixture, BulkRowsHashAsGgmlsBytes) {
  const nlohmann::json bulk = load_fixture()["bulk"];
  const auto rows = bulk["rows"].get<uint32_t>();
  for (const FixtureFormat& f : kFixtureFormats) {
    SCOPED_TRACE(f.key);
    uint64_t h = 0xcbf29ce484222325ull;
    std::vector<float> x(256);
    std::vector<uint8_t> q(row_bytes(f.type, 256));
    for (uint32_t r = 0; r < rows; ++r) {
      bulk_row(r, x.data());
      ref::quantize_row(f.type, x.data(), q.data(), 256);
      h = fnv1a(h, q);
    }
    EXPECT_EQ(h, std::stoull(bulk[std::string(f.key) + "_fnv1a64"].get<std::string>(), nullptr, 16));
  }
}

// The fixture is only as good as the cases it reaches: sub-blocks of non-zero
// values whose scale rounds to 0 (the quantizers then keep the sub-block's own
// fit), all-zero sub-blocks, and Q4_K sub-blocks with a non-zero min.
TEST(KQuantFixture, CoversTheQuantizersSpecialCases) {
  const nlohmann::json fixture = load_fixture();
  int q4_zero_scale = 0, q6_zero_scale = 0, zero_sub_blocks = 0, q4_min = 0;
  for (const auto& row : fixture["rows"]) {
    const std::vector<float> x = floats_from_hex(row["input"]);
    const std::vector<uint8_t> q4 = from_hex(row["q4_k"]), q6 = from_hex(row["q6_k"]);
    for (size_t b = 0; b < x.size() / kQK_K; ++b) {
      const auto* b4 = reinterpret_cast<const BlockQ4_K*>(q4.data()) + b;
      const auto* b6 = reinterpret_cast<const BlockQ6_K*>(q6.data()) + b;
      const float* xb = x.data() + b * kQK_K;
      auto any_nonzero = [&](int from, int count) {
        for (int i = from; i < from + count; ++i)
          if (xb[i] != 0.0f) return true;
        return false;
      };
      for (int j = 0; j < 8; ++j) {
        int sc, m;
        ref::q4_k_scale_min(b4->scales, j, &sc, &m);
        q4_zero_scale += sc == 0 && any_nonzero(32 * j, 32);
        q4_min += m > 0;
        zero_sub_blocks += !any_nonzero(32 * j, 32);
      }
      for (int j = 0; j < 16; ++j) q6_zero_scale += b6->scales[j] == 0 && any_nonzero(16 * j, 16);
    }
  }
  EXPECT_GT(q4_zero_scale, 0);
  EXPECT_GT(q6_zero_scale, 0);
  EXPECT_GT(zero_sub_blocks, 0);
  EXPECT_GT(q4_min, 0);
}

// --- Layouts, against blocks packed by hand from core/blocks.h's description ---

TEST(KQuantLayout, Q4_KDequantizesHandPackedBlock) {
  const int sc[8] = {1, 2, 63, 4, 17, 40, 63, 0}, m[8] = {0, 5, 6, 63, 33, 16, 1, 62};
  BlockQ4_K b{};
  b.d = fp32_to_fp16(0.5f);
  b.dmin = fp32_to_fp16(0.25f);
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    b.scales[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
    b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
  int q[256];
  for (int i = 0; i < 256; ++i) q[i] = (i * 7 + i / 32) % 16;
  for (int k = 0; k < 4; ++k)
    for (int l = 0; l < 32; ++l) b.qs[32 * k + l] = static_cast<uint8_t>(q[64 * k + l] | q[64 * k + 32 + l] << 4);
  for (int j = 0; j < 8; ++j) {
    int got_sc, got_m;
    ref::q4_k_scale_min(b.scales, j, &got_sc, &got_m);
    EXPECT_EQ(got_sc, sc[j]) << j;
    EXPECT_EQ(got_m, m[j]) << j;
  }
  float y[256];
  ref::dequantize_row(DType::Q4_K, &b, y, 256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.5f * sc[i / 32] * q[i] - 0.25f * m[i / 32]) << i;
}

TEST(KQuantLayout, Q6_KDequantizesHandPackedBlock) {
  BlockQ6_K b{};
  b.d = fp32_to_fp16(0.125f);
  for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(j % 2 ? -3 * j : 5 * j - 40);
  int q[256];  // 0..63, stored value; the weight is d * scale * (q - 32)
  for (int i = 0; i < 256; ++i) q[i] = (i * 11 + i / 16) % 64;
  for (int i = 0; i < 256; ++i) {
    const int h = i / 128, part = i % 128 / 32, l = i % 32;
    b.ql[64 * h + 32 * (part & 1) + l] |= static_cast<uint8_t>((q[i] & 15) << (part < 2 ? 0 : 4));
    b.qh[32 * h + l] |= static_cast<uint8_t>((q[i] >> 4) << (2 * part));
  }
  float y[256];
  ref::dequantize_row(DType::Q6_K, &b, y, 256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.125f * b.scales[i / 16] * (q[i] - 32)) << i;
}

TEST(KQuantLayout, AllZeroInputGivesAllZeroBlocks) {
  const std::vector<float> x(512, 0.0f);
  for (DType type : {DType::Q4_K, DType::Q6_K}) {
    SCOPED_TRACE(dtype_name(type));
    std::vector<uint8_t> q(row_bytes(type, 512), 0x55);
    ref::quantize_row(type, x.data(), q.data(), 512);
    for (uint8_t v : q) ASSERT_EQ(v, 0);
    std::vector<float> y(512, 1.0f);
    ref::dequantize_row(type, q.data(), y.data(), 512);
    for (float v : y) ASSERT_EQ(v, 0.0f);
  }
}

TEST(KQuantLayout, RaggedRowsAreRejected) {
  std::vector<float> x(384);
  std::vector<uint8_t> q(1024);
  EXPECT_THROW(ref::quantize_row(DType::Q4_K, x.data(), q.data(), 384), Error);
  EXPECT_THROW(ref::dequantize_row(DType::Q6_K, q.data(), x.data(), 128), Error);
}

// --- Round trip ---------------------------------------------------------------

// Errors relative to each block's largest magnitude, over 64 blocks of
// uniform data. The quantizers pick scales minimising a weighted squared
// error, so a single value (a clipped end, a rounded sub-block scale) may be
// off by more than half a step: the worst value is bounded loosely (about one
// step), the RMS error tightly (a little under step / sqrt(12)).
void check_round_trip(DType type, float lo, float hi, double worst_rel, double rms_rel) {
  SCOPED_TRACE(testing::Message() << dtype_name(type) << " in [" << lo << ", " << hi << ")");
  const int64_t n = kQK_K * 64;
  const auto x = random_floats(n, 31, lo, hi);
  std::vector<uint8_t> q(row_bytes(type, n));
  std::vector<float> y(n);
  ref::quantize_row(type, x.data(), q.data(), n);
  ref::dequantize_row(type, q.data(), y.data(), n);
  double sq_err = 0.0, sq_amax = 0.0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    double amax = 0.0;
    for (int64_t i = b * kQK_K; i < (b + 1) * kQK_K; ++i) amax = std::max(amax, std::fabs(double{x[i]}));
    for (int64_t i = b * kQK_K; i < (b + 1) * kQK_K; ++i) {
      const double err = std::fabs(double{x[i]} - y[i]);
      ASSERT_LE(err, worst_rel * amax) << i;
      sq_err += err * err;
    }
    sq_amax += amax * amax * kQK_K;
  }
  EXPECT_LT(std::sqrt(sq_err / sq_amax), rms_rel);
}

// Q4_K: 15 steps over a sub-block's range [min(0, lo), hi], i.e. 2/15 of max|x|
// for data around zero (measured: worst 0.11, RMS 0.031), less for data of
// one sign, where the fitted min absorbs the offset. Q6_K: 63 steps over
// [-max|x|, max|x|], about 1/32 (measured: worst 0.019, RMS 0.0076).
TEST(KQuantRoundTrip, ErrorIsAboutHalfAStep) {
  check_round_trip(DType::Q4_K, -1.0f, 1.0f, 0.15, 0.035);
  check_round_trip(DType::Q4_K, 0.5f, 2.0f, 0.075, 0.02);
  check_round_trip(DType::Q4_K, -3.0f, -1.0f, 0.075, 0.015);
  check_round_trip(DType::Q6_K, -1.0f, 1.0f, 0.025, 0.0085);
  check_round_trip(DType::Q6_K, 0.5f, 2.0f, 0.025, 0.0085);
}

}  // namespace
}  // namespace tessera::kernels
