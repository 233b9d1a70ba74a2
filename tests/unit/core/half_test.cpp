#include "core/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace tessera {
namespace {

// Reference: a half value computed from its fields with ldexp.
float half_reference(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  if (exp == 0) return sign * std::ldexp(static_cast<float>(mant), -24);
  if (exp == 31) return mant ? NAN : sign * INFINITY;
  return sign * std::ldexp(static_cast<float>(mant | 0x400), exp - 25);
}

TEST(Half, EveryHalfDecodesExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float ref = half_reference(static_cast<uint16_t>(h));
    const float got = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(got)) << h;
    } else {
      EXPECT_EQ(std::memcmp(&ref, &got, 4), 0) << std::hex << h;
    }
  }
}

TEST(Half, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(fp32_to_fp16(f), h) << std::hex << h;
  }
}

TEST(Half, RoundsToNearestEven) {
  // Midpoints between neighbouring halves round to the even mantissa.
  for (uint32_t h = 0x0001; h < 0x7bff; h += 97) {
    const float a = fp16_to_fp32(static_cast<uint16_t>(h));
    const float b = fp16_to_fp32(static_cast<uint16_t>(h + 1));
    const double mid = (static_cast<double>(a) + b) / 2;
    const uint16_t got = fp32_to_fp16(static_cast<float>(mid));
    if (static_cast<float>(mid) == mid) {
      EXPECT_EQ(got, (h & 1) ? h + 1 : h) << std::hex << h;
    }
    // Just above the midpoint rounds up.
    EXPECT_EQ(fp32_to_fp16(std::nextafter(static_cast<float>(mid), INFINITY)), h + 1) << std::hex << h;
  }
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // rounds to infinity
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);
}

TEST(Bf16, RoundTripAndRounding) {
  for (uint32_t b = 0; b < 0x10000; b += 7) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    EXPECT_EQ(fp32_to_bf16(f), b);
  }
  EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x3f818000u)), 0x3f82);  // tie -> even
  EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x3f808001u)), 0x3f81);
}

}  // namespace
}  // namespace tessera
