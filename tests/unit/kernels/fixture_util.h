// Reading the ggml fixtures (tests/data/*_vectors.json): hex byte and float
// arrays, and the bulk rows that fixtures record only as a hash of ggml's bytes.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tessera::kernels::test {

inline std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

inline std::vector<float> floats_from_hex(const std::string& hex) {
  const std::vector<uint8_t> bytes = from_hex(hex);
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

inline nlohmann::json load_fixture(const std::string& file) {
  const std::string path = std::string(TESSERA_SOURCE_DIR) + "/tests/data/" + file;
  std::ifstream in(path);
  if (!in) ADD_FAILURE() << "cannot open " << path;
  return nlohmann::json::parse(in);
}

// Bulk rows from an exact integer formula (every step exact in float, so any
// IEEE machine makes the same inputs). Catches rare differences (a rounding in
// one trial of a scale search) that a few stored rows would miss.
inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

inline uint32_t bulk_hash(uint32_t r, uint32_t i, uint32_t k) {
  return hash32(r * 0x9E3779B1u + i * 0x85EBCA77u + k * 0xC2B2AE3Du);
}

inline void bulk_row(uint32_t r, float* x) {
  for (uint32_t i = 0; i < 256; ++i) {
    int32_t u[4];
    for (uint32_t k = 0; k < 4; ++k) u[k] = static_cast<int32_t>(bulk_hash(r, i, k) & 0xffff) - 0x8000;
    const int32_t bell = u[0] + u[1] + u[2] + u[3];
    const uint32_t sub = i / 32;
    int32_t v;
    switch (r % 6) {
      case 0: v = u[0]; break;                           // uniform
      case 1: v = bell; break;                           // bell-shaped
      case 2: v = u[0] + 0xC000; break;                  // all positive
      case 3: v = bulk_hash(r, i, 9) % 53 == 0 ? bell * 40 : bell; break;  // outliers
      case 4: v = u[0] * (1 << (bulk_hash(r, sub, 7) % 12)); break;         // sub-block scales differ
      default: v = sub % 3 == 0 ? 0 : sub % 3 == 1 ? 0x2000 : bell; break;  // zero, constant, bell
    }
    x[i] = static_cast<float>(v) * std::ldexp(1.0f, -static_cast<int>(12 + r % 16));
  }
}

inline uint64_t fnv1a(uint64_t h, const std::vector<uint8_t>& bytes) {
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

}  // namespace tessera::kernels::test
