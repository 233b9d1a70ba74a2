// The paged KV cache: rows land in distinct places, are stored in the cache's
// type (F32 exactly, F16 and Q8_0 as their row conversions round), and a type
// that cannot hold the head size is refused with the option and size named.
#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "engine/session.h"
#include "io/model_file.h"
#include "kernels/reference.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

std::vector<float> position_rows(int64_t layer, int64_t pos, int64_t n_head_kv, int64_t d, float base) {
  std::vector<float> r(static_cast<size_t>(n_head_kv * d));
  for (int64_t h = 0; h < n_head_kv; ++h)
    for (int64_t i = 0; i < d; ++i) r[h * d + i] = base + float(((layer * n_head_kv + h) * 70 + pos) * d + i);
  return r;
}

TEST(KvCache, BlocksDoNotOverlap) {
  const int64_t n_head_kv = 2, d = 4, n_ctx = 70;
  model::KvCache cache(2, n_head_kv, d, n_ctx, {DType::F32, DType::F32});
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t p = 0; p < n_ctx; ++p)
      cache.store(l, p, position_rows(l, p, n_head_kv, d, 0).data(), position_rows(l, p, n_head_kv, d, 0.5f).data());
  std::vector<float> k(d), v(d);
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < n_head_kv; ++h)
      for (int64_t p = 0; p < n_ctx; ++p) {
        cache.load_k(l, h, p, k.data());
        cache.load_v(l, h, p, v.data());
        for (int64_t i = 0; i < d; ++i) {
          ASSERT_EQ(k[i], float(((l * n_head_kv + h) * 70 + p) * d + i));
          ASSERT_EQ(v[i], 0.5f + float(((l * n_head_kv + h) * 70 + p) * d + i));
        }
      }
}

TEST(KvCache, StoresInItsTypes) {
  const int64_t n_head_kv = 3, d = 64;
  std::mt19937 rng(5);
  std::normal_distribution<float> N(0, 2);
  std::vector<float> k(n_head_kv * d), v(k.size());
  for (auto& x : k) x = N(rng);
  for (auto& x : v) x = N(rng);
  for (auto [kt, vt] : {std::pair{DType::F16, DType::Q8_0}, std::pair{DType::Q8_0, DType::F32}}) {
    model::KvCache cache(1, n_head_kv, d, 40, {kt, vt});
    cache.store(0, 37, k.data(), v.data());
    for (int64_t h = 0; h < n_head_kv; ++h) {
      // What one conversion of the row to the type and back gives.
      auto round_trip = [&](DType t, const float* row) {
        std::vector<uint8_t> bytes(row_bytes(t, d));
        std::vector<float> out(d);
        kernels::ref::quantize_row(t, row, bytes.data(), d);
        kernels::ref::dequantize_row(t, bytes.data(), out.data(), d);
        return out;
      };
      std::vector<float> got(d);
      cache.load_k(0, h, 37, got.data());
      EXPECT_EQ(got, round_trip(kt, k.data() + h * d)) << dtype_name(kt);
      cache.load_v(0, h, 37, got.data());
      EXPECT_EQ(got, round_trip(vt, v.data() + h * d)) << dtype_name(vt);
    }
    EXPECT_EQ(cache.layer_view(0).k_type, kt);
    EXPECT_EQ(cache.layer_view(0).v_type, vt);
  }
}

TEST(KvCache, Q8_0NeedsWholeBlocksPerHead) {
  EXPECT_THROW(model::KvCache(1, 2, 48, 32, {DType::Q8_0, DType::F16}), Error);
  EXPECT_THROW(model::KvCache(1, 2, 64, 32, {DType::F16, DType::Q4_0}), Error);
  EXPECT_NO_THROW(model::KvCache(1, 2, 96, 32, {DType::Q8_0, DType::Q8_0}));
}

// The tiny test model has head size 16: a q8_0 cache is a usage error that
// names the option and the head size.
TEST(KvCache, SessionNamesOptionAndHeadSize) {
  test::TempDir dir;
  const std::string path = dir.file("tiny.gguf");
  test::make_tiny_model({}).write(path);
  model::Model m(std::make_shared<const io::ModelFile>(io::open_model_file(path)));
  ASSERT_EQ(m.config().head_dim, 16);
  for (auto [types, option] : {std::pair{model::KvCacheTypes{DType::Q8_0, DType::F16}, "-ctk/--cache-type-k"},
                               std::pair{model::KvCacheTypes{DType::F32, DType::Q8_0}, "-ctv/--cache-type-v"}}) {
    try {
      engine::Session s(m, {32, 8, 1, types});
      ADD_FAILURE() << "no error for " << option;
    } catch (const UsageError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(option), std::string::npos) << msg;
      EXPECT_NE(msg.find("16"), std::string::npos) << msg;
      EXPECT_NE(msg.find("32"), std::string::npos) << msg;
    }
  }
  EXPECT_NO_THROW(engine::Session(m, {32, 8, 1, {DType::F32, DType::F16}}));
}

}  // namespace
}  // namespace tessera
