// The KV block pool's bookkeeping against a plain model of it: reference
// counts, the free list, the prefix index (hash chain with token check) and
// least-recently-used eviction of unreferenced cached blocks only.
#include "engine/kv_block_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

namespace tessera::engine {
namespace {

constexpr int64_t kTokens = 4;

std::vector<int32_t> block_tokens(int32_t seed) { return {seed, seed + 1, seed * 7, 3}; }

TEST(KvBlockPool, AllocatesEveryBlockOnceThenRefuses) {
  KvBlockPool pool(5, kTokens);
  std::vector<int32_t> got;
  for (int i = 0; i < 5; ++i) got.push_back(pool.allocate());
  EXPECT_EQ(pool.allocate(), -1);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(pool.n_used(), 5);
  EXPECT_EQ(pool.n_available(), 0);
  pool.retain(2);
  pool.release(2);
  EXPECT_EQ(pool.ref_count(2), 1);
  pool.release(2);  // unindexed: straight back to the free list
  EXPECT_EQ(pool.n_free(), 1);
  EXPECT_EQ(pool.allocate(), 2);
}

TEST(KvBlockPool, CachedBlocksAreFoundByTheirChainAndEvictedOldestFirst) {
  KvBlockPool pool(3, kTokens);
  const auto t0 = block_tokens(10), t1 = block_tokens(20);
  const int32_t a = pool.allocate(), b = pool.allocate();
  const uint64_t ha = pool.chain_hash(0, t0.data());
  const uint64_t hb = pool.chain_hash(ha, t1.data());
  EXPECT_NE(ha, pool.chain_hash(0, t1.data()));
  EXPECT_NE(hb, pool.chain_hash(0, t1.data()));  // the same tokens after another prefix
  EXPECT_TRUE(pool.publish(a, ha, 0, t0.data()));
  EXPECT_TRUE(pool.publish(b, hb, ha, t1.data()));
  EXPECT_FALSE(pool.publish(pool.allocate(), ha, 0, t0.data()));  // that prefix is held already
  pool.release(a);  // cached, a is the least recently used
  pool.release(b);
  EXPECT_EQ(pool.n_cached(), 2);
  EXPECT_EQ(pool.n_used(), 1);
  // A hit takes the block back into use, with its reference.
  EXPECT_EQ(pool.lookup(ha, 0, t0.data()), a);
  EXPECT_EQ(pool.ref_count(a), 1);
  EXPECT_EQ(pool.n_cached(), 1);
  // Wrong tokens or parent under the right hash: no hit.
  EXPECT_EQ(pool.lookup(hb, ha, t0.data()), -1);
  EXPECT_EQ(pool.lookup(hb, 0, t1.data()), -1);
  // Only b is evictable; a is referenced and stays.
  EXPECT_EQ(pool.allocate(), b);
  EXPECT_EQ(pool.lookup(hb, ha, t1.data()), -1);  // evicted means unindexed
  EXPECT_EQ(pool.allocate(), -1);
  EXPECT_TRUE(pool.is_indexed(a));
}

// Random operations against a model of the pool; lookups must find exactly
// the blocks published and not evicted, whatever slots their hashes probe.
TEST(KvBlockPool, RandomOperationsMatchAModel) {
  for (int64_t n_blocks : {1, 7, 64}) {
    KvBlockPool pool(n_blocks, kTokens);
    std::mt19937 rng(static_cast<uint32_t>(n_blocks));
    std::map<int32_t, int32_t> refs;               // referenced blocks -> count
    std::map<int32_t, int32_t> key_of_block;       // indexed block -> its key seed
    std::vector<int32_t> lru;                      // cached blocks, oldest first
    for (int step = 0; step < 4000; ++step) {
      const int op = static_cast<int>(rng() % 4);
      if (op == 0) {
        const int32_t b = pool.allocate();
        if (refs.size() == static_cast<size_t>(n_blocks)) {
          ASSERT_EQ(b, -1);
          continue;
        }
        ASSERT_GE(b, 0);
        ASSERT_EQ(refs.count(b), 0u);
        if (std::find(lru.begin(), lru.end(), b) != lru.end()) {
          ASSERT_EQ(b, lru.front()) << "evicted a block that was not the least recently used";
          lru.erase(lru.begin());
          key_of_block.erase(b);
        }
        refs[b] = 1;
      } else if (op == 1 && !refs.empty()) {
        auto it = std::next(refs.begin(), static_cast<long>(rng() % refs.size()));
        const int32_t b = it->first;
        pool.release(b);
        if (--it->second == 0) {
          refs.erase(it);
          if (key_of_block.count(b)) lru.push_back(b);
        }
      } else if (op == 2 && !refs.empty()) {
        const int32_t b = std::next(refs.begin(), static_cast<long>(rng() % refs.size()))->first;
        const auto seed = static_cast<int32_t>(rng() % 40);
        const auto t = block_tokens(seed);
        const uint64_t h = pool.chain_hash(0, t.data());
        bool key_taken = false;
        for (auto& [blk, k] : key_of_block) key_taken |= k == seed;
        const bool want = !key_of_block.count(b) && !key_taken;
        ASSERT_EQ(pool.publish(b, h, 0, t.data()), want);
        if (want) key_of_block[b] = seed;
      } else if (op == 3) {
        const auto seed = static_cast<int32_t>(rng() % 40);
        const auto t = block_tokens(seed);
        const int32_t b = pool.lookup(pool.chain_hash(0, t.data()), 0, t.data());
        int32_t want = -1;
        for (auto& [blk, k] : key_of_block)
          if (k == seed) want = blk;
        ASSERT_EQ(b, want) << "lookup of key " << seed;
        if (b >= 0) {
          if (++refs[b] == 1) lru.erase(std::find(lru.begin(), lru.end(), b));
        }
      }
      int64_t used = static_cast<int64_t>(refs.size()), cached = static_cast<int64_t>(lru.size());
      ASSERT_EQ(pool.n_used(), used);
      ASSERT_EQ(pool.n_cached(), cached);
      ASSERT_EQ(pool.n_free(), n_blocks - used - cached);
    }
  }
}

}  // namespace
}  // namespace tessera::engine
