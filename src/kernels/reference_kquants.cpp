// Q4_K and Q6_K reference conversion. The quantizers run the same searches as
// GGUF's reference quantizers, with every float operation in the same order,
// so they write the same bytes (checked against ggml's output by the fixture
// test in tests/unit/kernels/kquant_fixture_test.cpp). That is why the code
// below keeps expressions such as (w * l) * l as they are: reordering them, or
// letting the compiler fuse a multiply and an add, changes rounding.
#include "kernels/reference_kquants.h"

#include <cmath>
#include <cstring>

#include "core/half.h"

// GCC fuses a * b + c only in GNU modes (we build ISO C++20, -ffp-contract=off);
// clang fuses within expressions by default whenever the target has FMA.
#ifdef __clang__
#pragma clang fp contract(off)
#endif

namespace tessera::kernels::ref {
namespace {

// Round to nearest, ties to even, as GGUF's quantizers do: adding 1.5 * 2^23
// leaves round(f) in the low mantissa bits. Exact for |f| < 2^22; kept as this
// bit trick (not lrintf) so that even out-of-range values give GGUF's bits.
int round_to_int(float f) {
  const float shifted = f + 12582912.0f;
  uint32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return static_cast<int>(bits & 0x007fffffu) - 0x00400000;
}

int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// --- Fits with a min (Q2_K, Q4_K, Q5_K) ---------------------------------------

// The scale search of a sub-block with an offset: inverse scales
// (rmin + rdelta k + nmax) / range for k = 0..steps are tried after the plain
// range split, each rounding refitted by least squares.
struct MinFitSearch {
  int n;          // weights per sub-block
  int nmax;       // largest quant
  float rmin, rdelta;
  int steps;
  bool abs_error;  // weigh |error| (Q2_K) rather than error^2
};

constexpr MinFitSearch kQ4Search{32, 15, -1.0f, 0.1f, 20, false};
constexpr MinFitSearch kQ5Search{32, 31, -0.5f, 0.1f, 15, false};
constexpr MinFitSearch kQ2Search{16, 3, -0.5f, 0.1f, 15, true};

// Fits x[i] ~ scale * L[i] + min (L[i] in 0..nmax, min <= 0) minimising the
// w-weighted error: first the range split in nmax steps, then for each trial
// inverse scale the rounding it gives, refitted by least squares.
// Returns scale; *neg_min = -min.
float fit_with_min(const MinFitSearch& f, const float* x, const float* w, uint8_t* L, float* neg_min) {
  const int n = f.n;
  float lo = x[0], hi = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (lo > 0) lo = 0;
  if (hi == lo) {
    std::memset(L, 0, static_cast<size_t>(n));
    *neg_min = -lo;
    return 0.0f;
  }
  const auto error_of = [&](float diff) { return f.abs_error ? std::fabs(diff) : diff * diff; };
  float iscale = static_cast<float>(f.nmax) / (hi - lo);
  float scale = 1.0f / iscale;
  float best_err = 0.0f;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(clamp_int(round_to_int(iscale * (x[i] - lo)), 0, f.nmax));
    const float diff = scale * static_cast<float>(L[i]) + lo - x[i];
    best_err += w[i] * error_of(diff);
  }
  uint8_t trial[32];
  for (int k = 0; k <= f.steps; ++k) {
    iscale = (f.rmin + f.rdelta * static_cast<float>(k) + static_cast<float>(f.nmax)) / (hi - lo);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(round_to_int(iscale * (x[i] - lo)), 0, f.nmax);
      trial[i] = static_cast<uint8_t>(l);
      const float fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0.0f)) continue;
    float s = (sum_w * sum_xl - sum_x * sum_l) / det;
    float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (m > 0.0f) {  // the fit wants a positive offset: pin it to 0
      m = 0.0f;
      s = sum_xl / sum_l2;
    }
    float err = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = s * static_cast<float>(trial[i]) + m - x[i];
      err += w[i] * error_of(diff);
    }
    if (err < best_err) {
      std::memcpy(L, trial, static_cast<size_t>(n));
      best_err = err;
      scale = s;
      lo = m;
    }
  }
  *neg_min = -lo;
  return scale;
}

// --- Q4_K and Q5_K ---------------------------------------------------------------

constexpr int kQ4Sub = 32;  // weights per sub-block

// Q4_K and Q5_K share everything but the quant range: the 8 sub-block fits,
// then sub-block scales and mins as 6-bit multiples of d = max scale / 63 and
// dmin = max min / 63 (packed in `scales`, see core/blocks.h), then the quants
// re-rounded against the stored (rounded) scale and min. A sub-block whose
// scale rounds to 0 keeps the quants of its own fit, as GGUF's quantizer
// leaves them. Writes the 256 quants to L.
void quantize_k_block_with_mins(const MinFitSearch& search, const float* x, uint8_t* scales_out, uint16_t* d_out,
                                uint16_t* dmin_out, uint8_t* L) {
  float scales[8], mins[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + kQ4Sub * j;
    float sum_x2 = 0.0f;
    for (int i = 0; i < kQ4Sub; ++i) sum_x2 += xj[i] * xj[i];
    const float av_x = std::sqrt(sum_x2 / static_cast<float>(kQ4Sub));
    float w[kQ4Sub];  // weights favour the larger values of the sub-block
    for (int i = 0; i < kQ4Sub; ++i) w[i] = av_x + std::fabs(xj[i]);
    scales[j] = fit_with_min(search, xj, w, L + kQ4Sub * j, &mins[j]);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }

  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    // Conversion to uint8_t first, then the clamp: GGUF's order (a negative
    // fit wraps before it is clamped).
    const auto ls = static_cast<uint8_t>(round_to_int(inv_scale * scales[j]));
    const auto lm = static_cast<uint8_t>(round_to_int(inv_min * mins[j]));
    sc[j] = ls < 63 ? ls : 63;
    m[j] = lm < 63 ? lm : 63;
  }
  for (int j = 0; j < 4; ++j) {
    scales_out[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    scales_out[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
    scales_out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
  *d_out = fp32_to_fp16(max_scale / 63.0f);
  *dmin_out = fp32_to_fp16(max_min / 63.0f);

  const float d_all = fp16_to_fp32(*d_out), dmin_all = fp16_to_fp32(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    const float d = d_all * static_cast<float>(sc[j]);
    if (d == 0.0f) continue;
    const float dm = dmin_all * static_cast<float>(m[j]);
    for (int i = 0; i < kQ4Sub; ++i) {
      const float v = x[kQ4Sub * j + i];
      L[kQ4Sub * j + i] = static_cast<uint8_t>(clamp_int(round_to_int((v + dm) / d), 0, search.nmax));
    }
  }
}

void quantize_q4_k_block(const float* x, BlockQ4_K* b) {
  uint8_t L[kQK_K];
  quantize_k_block_with_mins(kQ4Search, x, b->scales, &b->d, &b->dmin, L);
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 32; ++i)
      b->qs[32 * k + i] = static_cast<uint8_t>(L[64 * k + i] | L[64 * k + 32 + i] << 4);
}

// Q5_K: sub-blocks 2k and 2k + 1 in the low and high nibbles of qs[32k..], their
// fifth bits in bits 2k and 2k + 1 of qh.
void quantize_q5_k_block(const float* x, BlockQ5_K* b) {
  uint8_t L[kQK_K];
  quantize_k_block_with_mins(kQ5Search, x, b->scales, &b->d, &b->dmin, L);
  std::memset(b->qh, 0, sizeof b->qh);
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 32; ++i) {
      const int lo = L[64 * k + i], hi = L[64 * k + 32 + i];
      b->qs[32 * k + i] = static_cast<uint8_t>((lo & 15) | (hi & 15) << 4);
      b->qh[i] = static_cast<uint8_t>(b->qh[i] | (lo >> 4) << (2 * k) | (hi >> 4) << (2 * k + 1));
    }
}

// --- Q2_K ---------------------------------------------------------------------

// 16 sub-blocks of 16 fitted with |x| weights and absolute error; scales and
// mins become 4-bit multiples of max / 15 (no clamp: the largest rounds to 15),
// then the quants are re-rounded against them.
void quantize_q2_k_block(const float* x, BlockQ2_K* b) {
  uint8_t L[kQK_K];
  float scales[16], mins[16];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 16; ++j) {
    float w[16];
    for (int i = 0; i < 16; ++i) w[i] = std::fabs(x[16 * j + i]);
    scales[j] = fit_with_min(kQ2Search, x + 16 * j, w, L + 16 * j, &mins[j]);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  constexpr float kLevels = 15.0f;
  if (max_scale > 0.0f) {
    const float iscale = kLevels / max_scale;
    for (int j = 0; j < 16; ++j) b->scales[j] = static_cast<uint8_t>(round_to_int(iscale * scales[j]));
    b->d = fp32_to_fp16(max_scale / kLevels);
  } else {
    std::memset(b->scales, 0, sizeof b->scales);
    b->d = fp32_to_fp16(0.0f);
  }
  if (max_min > 0.0f) {
    const float iscale = kLevels / max_min;
    for (int j = 0; j < 16; ++j)
      b->scales[j] = static_cast<uint8_t>(b->scales[j] | round_to_int(iscale * mins[j]) << 4);
    b->dmin = fp32_to_fp16(max_min / kLevels);
  } else {
    b->dmin = fp32_to_fp16(0.0f);
  }
  const float d_all = fp16_to_fp32(b->d), dmin_all = fp16_to_fp32(b->dmin);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * static_cast<float>(b->scales[j] & 15);
    if (d == 0.0f) continue;
    const float dm = dmin_all * static_cast<float>(b->scales[j] >> 4);
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = static_cast<uint8_t>(clamp_int(round_to_int((x[16 * j + i] + dm) / d), 0, 3));
  }
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* q = L + 128 * h + l;
      b->qs[32 * h + l] = static_cast<uint8_t>(q[0] | q[32] << 2 | q[64] << 4 | q[96] << 6);
    }
}

// --- Q6_K -------------------------------------------------------------------

constexpr int kQ6Sub = 16;  // weights per sub-block
constexpr int kQ6Half = 32;  // quants are stored as 0..63, i.e. signed + 32
constexpr float kGroupMaxEps = 1e-15f;  // below this the sub-block counts as zero

// Symmetric fit x[i] ~ scale * (L[i] - 32), L[i] in 0..63, weights x[i]^2. The
// value of largest magnitude (its sign kept) goes to -32; then inverse scales
// -(32 + 0.1 k) / max for k = -9..9 are tried, each refitted by least squares,
// and the one maximising (sum w x l)^2 / (sum w l^2) wins. Returns scale.
float fit_q6_k_sub_block(const float* x, int8_t* L) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < kQ6Sub; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {  // the first of equal magnitudes wins
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, kQ6Sub);
    return 0.0f;
  }
  // Rounds with `iscale`, writes the quants to q and returns the two sums.
  auto quantize_with = [&](float iscale, int8_t* q, float* sumlx, float* suml2) {
    *sumlx = *suml2 = 0.0f;
    for (int i = 0; i < kQ6Sub; ++i) {
      const int l = clamp_int(round_to_int(iscale * x[i]), -kQ6Half, kQ6Half - 1);
      q[i] = static_cast<int8_t>(l + kQ6Half);
      const float w = x[i] * x[i];
      const float fl = static_cast<float>(l);
      *sumlx += w * x[i] * fl;
      *suml2 += w * fl * fl;
    }
  };
  float sumlx, suml2;
  quantize_with(-static_cast<float>(kQ6Half) / max, L, &sumlx, &suml2);
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  int8_t trial[kQ6Sub];
  for (int k = -9; k <= 9; ++k) {
    if (k == 0) continue;
    const float iscale = -(static_cast<float>(kQ6Half) + 0.1f * static_cast<float>(k)) / max;
    quantize_with(iscale, trial, &sumlx, &suml2);
    if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
      std::memcpy(L, trial, kQ6Sub);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Fits the 16 sub-blocks of 16 of a super-block with `fit` (quants to L, scales
// to `scales`); returns the scale of largest magnitude, sign kept (the first of
// equal magnitudes).
template <class Fit>
float fit_16_sub_blocks(const float* x, int8_t* L, float* scales, Fit fit) {
  float max_scale = 0.0f, max_abs_scale = 0.0f;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fit(x + 16 * j, L + 16 * j);
    const float a = std::fabs(scales[j]);
    if (a > max_abs_scale) {
      max_abs_scale = a;
      max_scale = scales[j];
    }
  }
  return max_scale;
}

// The sub-block scale of largest magnitude maps to -128: d = max / -128 and
// each scale becomes round(scale / d) (at most 127) in an int8; the quants are
// then re-rounded against d * scale. A sub-block whose scale rounds to 0 keeps
// the quants of its own fit.
void quantize_q6_k_block(const float* x, BlockQ6_K* b) {
  int8_t L[kQK_K];
  float scales[16];
  const float max_scale = fit_16_sub_blocks(x, L, scales, fit_q6_k_sub_block);
  if (std::fabs(max_scale) < kGroupMaxEps) {
    std::memset(b, 0, sizeof *b);  // all zero, d = +0
    return;
  }
  const float iscale = -128.0f / max_scale;
  b->d = fp32_to_fp16(1.0f / iscale);
  for (int j = 0; j < 16; ++j) {
    const int s = round_to_int(iscale * scales[j]);
    b->scales[j] = static_cast<int8_t>(s < 127 ? s : 127);
  }
  const float d_all = fp16_to_fp32(b->d);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * static_cast<float>(b->scales[j]);
    if (d == 0.0f) continue;
    for (int i = 0; i < kQ6Sub; ++i) {
      const int l = clamp_int(round_to_int(x[kQ6Sub * j + i] / d), -kQ6Half, kQ6Half - 1);
      L[kQ6Sub * j + i] = static_cast<int8_t>(l + kQ6Half);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const int8_t* q = L + 128 * h;
    uint8_t* ql = b->ql + 64 * h;
    uint8_t* qh = b->qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((q[l] & 15) | (q[l + 64] & 15) << 4);
      ql[l + 32] = static_cast<uint8_t>((q[l + 32] & 15) | (q[l + 96] & 15) << 4);
      qh[l] = static_cast<uint8_t>((q[l] >> 4) | (q[l + 32] >> 4) << 2 | (q[l + 64] >> 4) << 4 | (q[l + 96] >> 4) << 6);
    }
  }
}

// --- Q3_K ---------------------------------------------------------------------

constexpr int kQ3Sub = 16;
constexpr int kQ3Half = 4;  // quants are stored as 0..7, i.e. signed + 4

// Symmetric fit x[i] ~ scale * L[i], L[i] in -4..3, weights x[i]^2: the value
// of largest magnitude goes to -4, then up to 5 passes move single quants to
// the value that improves (sum w x l)^2 / (sum w l^2). L is returned + 4.
float fit_q3_k_sub_block(const float* x, int8_t* L) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < kQ3Sub; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, kQ3Sub);
    return 0.0f;
  }
  const float iscale = -static_cast<float>(kQ3Half) / max;
  float sumlx = 0.0f, suml2 = 0.0f;
  for (int i = 0; i < kQ3Sub; ++i) {
    const int l = clamp_int(round_to_int(iscale * x[i]), -kQ3Half, kQ3Half - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < kQ3Sub; ++i) {
      const float w = x[i] * x[i];
      const float li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      if (!(slx > 0.0f)) continue;
      float sl2 = suml2 - w * li * li;
      const int new_l = clamp_int(round_to_int(x[i] * sl2 / slx), -kQ3Half, kQ3Half - 1);
      if (new_l == L[i]) continue;
      const float fl = static_cast<float>(new_l);
      slx += w * x[i] * fl;
      sl2 += w * fl * fl;
      if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(new_l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < kQ3Sub; ++i) L[i] = static_cast<int8_t>(L[i] + kQ3Half);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// The sub-block scale of largest magnitude maps to -32: d = max / -32, each
// scale round(scale / d) clamped to -32..31 and stored + 32 in 6 bits; the
// quants are then re-rounded against d * scale (a sub-block whose scale is 0
// keeps its own fit).
void quantize_q3_k_block(const float* x, BlockQ3_K* b) {
  int8_t L[kQK_K];
  float scales[16];
  const float max_scale = fit_16_sub_blocks(x, L, scales, fit_q3_k_sub_block);
  std::memset(b->scales, 0, sizeof b->scales);
  if (max_scale != 0.0f) {
    const float iscale = -32.0f / max_scale;
    for (int j = 0; j < 16; ++j) {
      // To int8_t before the clamp, as GGUF's quantizer does.
      const auto l8 = static_cast<int8_t>(round_to_int(iscale * scales[j]));
      const int l = clamp_int(l8, -32, 31) + 32;
      if (j < 8)
        b->scales[j] = static_cast<uint8_t>(l & 15);
      else
        b->scales[j - 8] = static_cast<uint8_t>(b->scales[j - 8] | (l & 15) << 4);
      b->scales[8 + j % 4] = static_cast<uint8_t>(b->scales[8 + j % 4] | (l >> 4) << (2 * (j / 4)));
    }
    b->d = fp32_to_fp16(1.0f / iscale);
  } else {
    b->d = fp32_to_fp16(0.0f);
  }
  const float d_all = fp16_to_fp32(b->d);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * static_cast<float>(q3_k_scale(b->scales, j));
    if (d == 0.0f) continue;
    for (int i = 0; i < kQ3Sub; ++i) {
      const int l = clamp_int(round_to_int(x[kQ3Sub * j + i] / d), -kQ3Half, kQ3Half - 1);
      L[kQ3Sub * j + i] = static_cast<int8_t>(l + kQ3Half);
    }
  }
  std::memset(b->hmask, 0, sizeof b->hmask);
  for (int j = 0; j < kQK_K; ++j)
    if (L[j] > 3) {
      b->hmask[j % 32] = static_cast<uint8_t>(b->hmask[j % 32] | 1 << (j / 32));
      L[j] = static_cast<int8_t>(L[j] - 4);
    }
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const int8_t* q = L + 128 * h + l;
      b->qs[32 * h + l] = static_cast<uint8_t>(q[0] | q[32] << 2 | q[64] << 4 | q[96] << 6);
    }
}

// One Q4_K or Q5_K super-block (Q5_K: qh holds the fifth bits; Q4_K: null).
void dequantize_with_mins(uint16_t d16, uint16_t dmin16, const uint8_t* scales, const uint8_t* qs, const uint8_t* qh,
                          float* y) {
  const float d = fp16_to_fp32(d16), dmin = fp16_to_fp32(dmin16);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    q4_k_scale_min(scales, j, &sc, &m);
    const float scale = d * static_cast<float>(sc), min = dmin * static_cast<float>(m);
    const uint8_t* q = qs + 32 * (j / 2);
    const int shift = 4 * (j % 2);  // even sub-blocks in the low nibbles
    for (int l = 0; l < 32; ++l) {
      const int v = ((q[l] >> shift) & 15) + (qh && (qh[l] >> j) & 1 ? 16 : 0);
      y[32 * j + l] = scale * static_cast<float>(v) - min;
    }
  }
}

}  // namespace

void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i, y += kQK_K)
    dequantize_with_mins(b[i].d, b[i].dmin, b[i].scales, b[i].qs, nullptr, y);
}

void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i, y += kQK_K) {
    const float d = fp16_to_fp32(b[i].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      for (int part = 0; part < 4; ++part) {  // weights 32 * part .. + 31 of the half
        const uint8_t* lo = ql + 32 * (part & 1);
        const int lo_shift = part < 2 ? 0 : 4;
        for (int l = 0; l < 32; ++l) {
          const int q = (((lo[l] >> lo_shift) & 15) | ((qh[l] >> (2 * part)) & 3) << 4) - kQ6Half;
          const float scale = d * static_cast<float>(b[i].scales[8 * h + 2 * part + l / 16]);
          y[128 * h + 32 * part + l] = scale * static_cast<float>(q);
        }
      }
    }
  }
}

void dequantize_q2_k(const BlockQ2_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i, y += kQK_K) {
    const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
    for (int k = 0; k < kQK_K; ++k) {
      const int h = k / 128, part = k % 128 / 32, l = k % 32;
      const uint8_t sc = b[i].scales[8 * h + 2 * part + l / 16];
      const int q = (b[i].qs[32 * h + l] >> (2 * part)) & 3;
      y[k] = d * static_cast<float>(sc & 15) * static_cast<float>(q) - dmin * static_cast<float>(sc >> 4);
    }
  }
}

void dequantize_q3_k(const BlockQ3_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i, y += kQK_K) {
    const float d = fp16_to_fp32(b[i].d);
    for (int k = 0; k < kQK_K; ++k) {
      const int h = k / 128, part = k % 128 / 32, l = k % 32;
      const int q = ((b[i].qs[32 * h + l] >> (2 * part)) & 3) - ((b[i].hmask[l] >> (4 * h + part)) & 1 ? 0 : 4);
      y[k] = d * static_cast<float>(q3_k_scale(b[i].scales, 8 * h + 2 * part + l / 16)) * static_cast<float>(q);
    }
  }
}

void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i, y += kQK_K)
    dequantize_with_mins(b[i].d, b[i].dmin, b[i].scales, b[i].qs, b[i].qh, y);
}

void quantize_q2_k(const float* x, BlockQ2_K* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) quantize_q2_k_block(x + i * kQK_K, b + i);
}

void quantize_q3_k(const float* x, BlockQ3_K* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) quantize_q3_k_block(x + i * kQK_K, b + i);
}

void quantize_q5_k(const float* x, BlockQ5_K* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) quantize_q5_k_block(x + i * kQK_K, b + i);
}

void quantize_q4_k(const float* x, BlockQ4_K* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) quantize_q4_k_block(x + i * kQK_K, b + i);
}

void quantize_q6_k(const float* x, BlockQ6_K* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) quantize_q6_k_block(x + i * kQK_K, b + i);
}

}  // namespace tessera::kernels::ref
