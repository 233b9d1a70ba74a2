#include "core/large_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

namespace tessera {
namespace {

TEST(LargeBuffer, IsZeroFilledWritableAndMovable) {
  const size_t bytes = (3u << 20) + 17;  // spans a huge page boundary, odd size
  LargeBuffer a(bytes);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_EQ(a.size(), bytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u);
  for (size_t i = 0; i < bytes; i += 4093) EXPECT_EQ(a.data()[i], 0) << i;
  for (size_t i = 0; i < bytes; ++i) a.data()[i] = static_cast<uint8_t>(i * 7);
  uint8_t* p = a.data();
  LargeBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), p);
  LargeBuffer c(64);
  c = std::move(b);  // frees c's own mapping
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.data()[bytes - 1], static_cast<uint8_t>((bytes - 1) * 7));
}

TEST(LargeBuffer, EmptyHasNoMemory) {
  LargeBuffer empty(0);
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(empty.size(), 0u);
}

}  // namespace
}  // namespace tessera
