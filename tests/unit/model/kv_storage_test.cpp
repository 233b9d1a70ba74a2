// The KV block storage: rows land in distinct places, are stored in the
// storage's type (F32 exactly, F16 and Q8_0 as their row conversions round),
// blocks copy whole, and a type that cannot hold the head size is refused with
// the option and size named.
#include "model/kv_storage.h"

#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "kernels/reference.h"

namespace tessera {
namespace {

std::vector<float> position_rows(int64_t layer, int64_t pos, int64_t n_head_kv, int64_t d, float base) {
  std::vector<float> r(static_cast<size_t>(n_head_kv * d));
  for (int64_t h = 0; h < n_head_kv; ++h)
    for (int64_t i = 0; i < d; ++i) r[h * d + i] = base + float(((layer * n_head_kv + h) * 70 + pos) * d + i);
  return r;
}

constexpr int64_t kBlock = model::KvStorage::kBlockSize;

// Positions 0..69 stored through a scrambled block table: every row reads back.
TEST(KvStorage, BlocksDoNotOverlap) {
  const int64_t n_head_kv = 2, d = 4, n_ctx = 70;
  const int32_t table[] = {4, 0, 2};
  model::KvStorage kv(2, n_head_kv, d, 5, {DType::F32, DType::F32});
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t p = 0; p < n_ctx; ++p)
      kv.store(l, table[p / kBlock], p % kBlock, position_rows(l, p, n_head_kv, d, 0).data(),
               position_rows(l, p, n_head_kv, d, 0.5f).data());
  std::vector<float> k(d), v(d);
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < n_head_kv; ++h)
      for (int64_t p = 0; p < n_ctx; ++p) {
        kv.load_k(l, table[p / kBlock], p % kBlock, h, k.data());
        kv.load_v(l, table[p / kBlock], p % kBlock, h, v.data());
        for (int64_t i = 0; i < d; ++i) {
          ASSERT_EQ(k[i], float(((l * n_head_kv + h) * 70 + p) * d + i));
          ASSERT_EQ(v[i], 0.5f + float(((l * n_head_kv + h) * 70 + p) * d + i));
        }
      }
  // copy_block: every layer's rows of block 2 (positions 64..69) into block 1.
  kv.copy_block(2, 1);
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < n_head_kv; ++h)
      for (int64_t p = 64; p < n_ctx; ++p) {
        kv.load_k(l, 1, p % kBlock, h, k.data());
        kv.load_v(l, 1, p % kBlock, h, v.data());
        EXPECT_EQ(k[0], float(((l * n_head_kv + h) * 70 + p) * d));
        EXPECT_EQ(v[0], 0.5f + float(((l * n_head_kv + h) * 70 + p) * d));
      }
  EXPECT_EQ(kv.block_bytes(), static_cast<size_t>(2 * n_head_kv * kBlock * 2 * d * 4));
}

TEST(KvStorage, StoresInItsTypes) {
  const int64_t n_head_kv = 3, d = 64;
  std::mt19937 rng(5);
  std::normal_distribution<float> N(0, 2);
  std::vector<float> k(n_head_kv * d), v(k.size());
  for (auto& x : k) x = N(rng);
  for (auto& x : v) x = N(rng);
  for (auto [kt, vt] : {std::pair{DType::F16, DType::Q8_0}, std::pair{DType::Q8_0, DType::F32}}) {
    model::KvStorage cache(1, n_head_kv, d, 2, {kt, vt});
    cache.store(0, 1, 5, k.data(), v.data());
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
      cache.load_k(0, 1, 5, h, got.data());
      EXPECT_EQ(got, round_trip(kt, k.data() + h * d)) << dtype_name(kt);
      cache.load_v(0, 1, 5, h, got.data());
      EXPECT_EQ(got, round_trip(vt, v.data() + h * d)) << dtype_name(vt);
    }
    EXPECT_EQ(cache.layer_view(0).k_type, kt);
    EXPECT_EQ(cache.layer_view(0).v_type, vt);
  }
}

TEST(KvStorage, Q8_0NeedsWholeBlocksPerHead) {
  EXPECT_THROW(model::KvStorage(1, 2, 48, 1, {DType::Q8_0, DType::F16}), Error);
  EXPECT_THROW(model::KvStorage(1, 2, 64, 1, {DType::F16, DType::Q4_0}), Error);
  EXPECT_NO_THROW(model::KvStorage(1, 2, 96, 1, {DType::Q8_0, DType::Q8_0}));
}

// The one rule of KV cache types, in API terms: the field at fault, the head size.
TEST(KvStorage, CacheTypeNamesFieldAndHeadSize) {
  for (const char* field : {"cache_type_k", "cache_type_v"}) {
    try {
      model::kv_cache_type("q8_0", 16, field);
      ADD_FAILURE() << "no error for " << field;
    } catch (const UsageError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(field), std::string::npos) << msg;
      EXPECT_NE(msg.find("16"), std::string::npos) << msg;
      EXPECT_NE(msg.find("32"), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(model::kv_cache_type("q4_0", 64, "cache_type_k"), UsageError);
  EXPECT_THROW(model::kv_cache_type("half", 64, "cache_type_k"), UsageError);
  EXPECT_EQ(model::kv_cache_type("Q8_0", 64, "cache_type_k"), DType::Q8_0);
  EXPECT_EQ(model::kv_cache_type("f16", 16, "cache_type_v"), DType::F16);
}

}  // namespace
}  // namespace tessera
