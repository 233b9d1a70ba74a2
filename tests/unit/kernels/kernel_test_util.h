// Helpers for the kernel tests: seeded random data, weight matrices in every
// format, and one test instance per ISA tier this machine can run, plus the
// AVX-512 tier built on SIMDe, which every machine runs (so no instance skips
// for want of an ISA: a machine without AVX-512 still tests that tier's code).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/dispatch.h"
#include "kernels/quantized_activations.h"
#include "kernels/reference.h"
#include "simde/simde_avx512_table.h"

namespace tessera::kernels::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = dist(rng);
  return v;
}

// Every weight format the matmul kernels take.
inline constexpr DType kMatmulTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,
                                         DType::Q4_K, DType::Q6_K, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                                         DType::IQ4_NL, DType::Q2_K, DType::Q3_K, DType::Q5_K, DType::IQ4_XS};

// rows x cols weights in `type`, made by quantizing seeded random floats.
inline std::vector<uint8_t> random_matrix(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  const size_t stride = row_bytes(type, cols);
  // Exactly sized, so AddressSanitizer catches a read past the last row.
  std::vector<uint8_t> w(stride * static_cast<size_t>(rows));
  const std::vector<float> f = random_floats(static_cast<size_t>(rows * cols), seed);
  for (int64_t r = 0; r < rows; ++r) ref::quantize_row(type, f.data() + r * cols, w.data() + r * stride, cols);
  return w;
}

inline bool is_k_quant(DType type) { return dtype_info(type).block_size == 256; }

// The activation format the exact reference and the kernels use for a weight
// format: one scale per super-block for K-quants, per 32 columns otherwise.
inline ActFormat act_for(DType type) { return is_k_quant(type) ? ActFormat::Q8x256 : ActFormat::Q8x32; }
inline int64_t act_block(ActFormat act) { return act == ActFormat::Q8x256 ? 256 : 32; }

// n_tokens rows of activations in `act`, quantized by the reference.
inline std::vector<uint8_t> quantize_rows(const std::vector<float>& x, int64_t cols, int64_t n_tokens,
                                   ActFormat act = ActFormat::Q8x32) {
  const size_t stride = activation_row_bytes(act, cols);
  std::vector<uint8_t> xq(stride * static_cast<size_t>(n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) ref::quantize_activations(act, x.data() + t * cols, cols, xq.data() + t * stride);
  return xq;
}

// The floats a row in `act` stands for, d * q.
inline std::vector<float> dequantize_rows(const std::vector<uint8_t>& xq, int64_t cols, int64_t n_tokens,
                                   ActFormat act = ActFormat::Q8x32) {
  const size_t stride = activation_row_bytes(act, cols);
  std::vector<float> x(static_cast<size_t>(cols * n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const uint8_t* row = xq.data() + t * stride;
    for (int64_t c = 0; c < cols; ++c) {
      float d;
      std::memcpy(&d, row + cols + (c / act_block(act)) * sizeof(float), sizeof d);
      x[t * cols + c] = d * static_cast<float>(static_cast<int8_t>(row[c]));
    }
  }
  return x;
}

// sum |w * x| per (token, row) in double: the scale of float rounding errors.
inline std::vector<double> abs_dot(DType type, const std::vector<uint8_t>& w, int64_t rows, int64_t cols,
                            const std::vector<float>& x, int64_t n_tokens) {
  std::vector<double> s(static_cast<size_t>(rows * n_tokens));
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    ref::dequantize_row(type, w.data() + r * row_bytes(type, cols), row.data(), cols);
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t c = 0; c < cols; ++c) s[t * rows + r] += std::fabs(static_cast<double>(row[c]) * x[t * cols + c]);
  }
  return s;
}

// A kernel table under test: a native tier, or the AVX-512 tier on SIMDe.
struct TestTier {
  std::string name;  // "generic", "avx2", "avx512" (native), "avx512_simde"
  const KernelTable* table = nullptr;
};

// The native tiers this CPU has, then the SIMDe-built AVX-512 tier.
inline std::vector<TestTier> test_tiers() {
  std::vector<TestTier> tiers;
  for (Isa isa : kAllIsas)
    if (const KernelTable* t = kernel_table(isa)) tiers.push_back({std::string(isa_name(isa)), t});
  tiers.push_back({"avx512_simde", &simde_avx512_table()});
  return tiers;
}

// Test fixture parameterised by tier.
class PerIsa : public ::testing::TestWithParam<TestTier> {
 protected:
  const KernelTable& table() const { return *GetParam().table; }
  const std::string& tier_name() const { return GetParam().name; }
};

inline std::string isa_test_name(const ::testing::TestParamInfo<TestTier>& info) { return info.param.name; }

#define TESSERA_INSTANTIATE_PER_ISA(fixture)                                                         \
  INSTANTIATE_TEST_SUITE_P(Isa, fixture, ::testing::ValuesIn(::tessera::kernels::test::test_tiers()), \
                           ::tessera::kernels::test::isa_test_name)

}  // namespace tessera::kernels::test
