// The open-addressing tables behind vocabulary and merge lookups.
#include "tokenizer/flat_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tessera {
namespace {

TEST(StringIndex, FindsEveryKeyThroughGrowth) {
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back("k" + std::to_string(i * 7919));
  StringIndex index;
  EXPECT_EQ(index.find("k0"), -1);  // empty table
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(index.insert(keys[i], static_cast<int32_t>(i)));
  EXPECT_EQ(index.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(index.find(keys[i]), static_cast<int32_t>(i));
  EXPECT_EQ(index.find("missing"), -1);
  EXPECT_EQ(index.find(""), -1);
  EXPECT_FALSE(index.insert(keys[3], 99));  // the first id stays
  EXPECT_EQ(index.find(keys[3]), 3);
}

TEST(PairIndex, FindsEveryPairThroughGrowth) {
  PairIndex<int> index;
  EXPECT_EQ(index.find(1, 2), nullptr);
  index.reserve(10);
  for (int32_t a = 0; a < 100; ++a) {
    for (int32_t b = 0; b < 50; ++b) EXPECT_TRUE(index.insert(a, b, a * 1000 + b));
  }
  for (int32_t a = 0; a < 100; ++a) {
    for (int32_t b = 0; b < 50; ++b) {
      const int* v = index.find(a, b);
      ASSERT_NE(v, nullptr);
      EXPECT_EQ(*v, a * 1000 + b);
    }
  }
  EXPECT_EQ(index.find(50, 50), nullptr);
  EXPECT_EQ(index.find(-1, 0), nullptr);
  EXPECT_FALSE(index.insert(7, 8, -5));
  EXPECT_EQ(*index.find(7, 8), 7008);
}

}  // namespace
}  // namespace tessera
