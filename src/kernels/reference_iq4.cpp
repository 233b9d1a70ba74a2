// IQ4_NL and IQ4_XS reference conversion. Dequantization is GGUF's definition;
// the quantizers are Tessera's own (files differ from ggml's byte for byte but
// read the same everywhere):
// - per group of 32 a scale search: the value of largest magnitude mapped to
//   each end of the grid with a few stretches, each rounding refitted by least
//   squares, keeping the least squared error; quants are then re-rounded to the
//   nearest grid value against the stored (fp16, for IQ4_XS 6-bit) scale.
// - error (tests/unit/kernels/formats_test.cpp, uniform data): every value
//   within 0.14 of its group's largest magnitude (measured 0.13 for IQ4_NL: the
//   grid ends at -127 and 113, so a value of the other sign than the largest
//   can clip by 14/127), RMS within 0.04 of it (measured 0.037); and the total
//   squared error on the ggml fixture's rows at most 2% above ggml's quantizer's.
#include <cmath>
#include <cstring>
#include <initializer_list>

#include "core/half.h"
#include "kernels/reference_formats.h"

#ifdef __clang__
#pragma clang fp contract(off)
#endif

namespace tessera::kernels::ref {
namespace {

constexpr int kGroup = 32;
constexpr float kGroupMaxEps = 1e-15f;

// Index of the grid value nearest v (ties to the lower one).
int nearest_grid_index(float v) {
  int lo = 0;
  for (int step = 8; step > 0; step >>= 1) {
    const int j = lo + step;
    if (j < 16 && v > 0.5f * static_cast<float>(kIq4Values[j - 1] + kIq4Values[j])) lo = j;
  }
  return lo;
}

// The scale s minimising sum (x - s * grid[q])^2 over the trials; q written to idx.
float fit_group(const float* x, uint8_t* idx) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < kGroup; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  if (amax < kGroupMaxEps) {
    std::memset(idx, 8, kGroup);  // grid value 1, times scale 0
    return 0.0f;
  }
  float best_scale = 0.0f, best_err = INFINITY;
  uint8_t trial[kGroup];
  for (const float end : {static_cast<float>(kIq4Values[0]), static_cast<float>(kIq4Values[15])}) {
    for (int k = -6; k <= 6; ++k) {
      const float inv = (end + (end < 0 ? -1.0f : 1.0f) * static_cast<float>(k)) / max;
      double sxv = 0.0, svv = 0.0;
      for (int i = 0; i < kGroup; ++i) {
        trial[i] = static_cast<uint8_t>(nearest_grid_index(x[i] * inv));
        const double v = kIq4Values[trial[i]];
        sxv += x[i] * v;
        svv += v * v;
      }
      if (!(svv > 0.0)) continue;
      const auto s = static_cast<float>(sxv / svv);
      double err = 0.0;
      for (int i = 0; i < kGroup; ++i) {
        const double e = x[i] - static_cast<double>(s) * kIq4Values[trial[i]];
        err += e * e;
      }
      if (err < best_err) {
        best_err = static_cast<float>(err);
        best_scale = s;
        std::memcpy(idx, trial, kGroup);
      }
    }
  }
  return best_scale;
}

// Quants of a group against its stored scale s (all grid value 1 when s is 0).
void requantize(const float* x, float s, uint8_t* idx) {
  if (s == 0.0f) {
    std::memset(idx, 8, kGroup);
    return;
  }
  const float inv = 1.0f / s;
  for (int i = 0; i < kGroup; ++i) idx[i] = static_cast<uint8_t>(nearest_grid_index(x[i] * inv));
}

void pack_nibbles(const uint8_t* idx, uint8_t* qs) {
  for (int j = 0; j < kGroup / 2; ++j) qs[j] = static_cast<uint8_t>(idx[j] | idx[j + 16] << 4);
}

}  // namespace

int iq4_xs_scale(const BlockIQ4_XS& b, int j) {
  const int low = (b.scales_l[j / 2] >> (4 * (j % 2))) & 15;
  return (low | ((b.scales_h >> (2 * j)) & 3) << 4) - 32;
}

void dequantize_iq4_nl(const BlockIQ4_NL* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kGroup; ++i, y += kGroup) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < kGroup / 2; ++j) {
      y[j] = d * static_cast<float>(kIq4Values[b[i].qs[j] & 15]);
      y[j + 16] = d * static_cast<float>(kIq4Values[b[i].qs[j] >> 4]);
    }
  }
}

void dequantize_iq4_xs(const BlockIQ4_XS* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / 256; ++i) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 8; ++j, y += kGroup) {
      const float dl = d * static_cast<float>(iq4_xs_scale(b[i], j));
      const uint8_t* qs = b[i].qs + 16 * j;
      for (int l = 0; l < kGroup / 2; ++l) {
        y[l] = dl * static_cast<float>(kIq4Values[qs[l] & 15]);
        y[l + 16] = dl * static_cast<float>(kIq4Values[qs[l] >> 4]);
      }
    }
  }
}

void quantize_iq4_nl(const float* x, BlockIQ4_NL* b, int64_t n) {
  for (int64_t i = 0; i < n / kGroup; ++i, x += kGroup) {
    uint8_t idx[kGroup];
    b[i].d = fp32_to_fp16(fit_group(x, idx));
    requantize(x, fp16_to_fp32(b[i].d), idx);
    pack_nibbles(idx, b[i].qs);
  }
}

// Each sub-block's fitted scale becomes a multiple (-32..31) of d = the scale of
// largest magnitude / -32, as Q3_K does with its sub-block scales.
void quantize_iq4_xs(const float* x, BlockIQ4_XS* b, int64_t n) {
  for (int64_t i = 0; i < n / 256; ++i, x += 256) {
    uint8_t idx[kGroup];
    float scales[8], max_scale = 0.0f;
    for (int j = 0; j < 8; ++j) {
      scales[j] = fit_group(x + kGroup * j, idx);
      if (std::fabs(scales[j]) > std::fabs(max_scale)) max_scale = scales[j];
    }
    b[i].d = fp32_to_fp16(max_scale / -32.0f);
    const float d = fp16_to_fp32(b[i].d);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof b[i].scales_l);
    for (int j = 0; j < 8; ++j) {
      int ls = 0;
      if (d != 0.0f) {
        const float r = std::nearbyint(scales[j] / d);
        ls = r < -32.0f ? -32 : r > 31.0f ? 31 : r == r ? static_cast<int>(r) : 0;
      }
      const int stored = ls + 32;
      b[i].scales_l[j / 2] = static_cast<uint8_t>(b[i].scales_l[j / 2] | (stored & 15) << (4 * (j % 2)));
      b[i].scales_h = static_cast<uint16_t>(b[i].scales_h | (stored >> 4) << (2 * j));
      requantize(x + kGroup * j, d * static_cast<float>(ls), idx);
      pack_nibbles(idx, b[i].qs + 16 * j);
    }
  }
}

}  // namespace tessera::kernels::ref
