// Helpers for the kernel tests: seeded random data, weight matrices in every
// format, and one test instance per ISA tier (skipped visibly when the CPU
// lacks it or Tessera has no kernels for it).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/dispatch.h"
#include "kernels/reference.h"

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

// Test fixture parameterised by ISA tier; SetUp skips tiers this machine can't run.
class PerIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    table_ = kernel_table(GetParam());
    if (!table_)
      GTEST_SKIP() << "no " << isa_name(GetParam())
                   << " kernels on this machine (CPU tier: " << isa_name(cpu_isa()) << ")";
  }
  const KernelTable& table() const { return *table_; }

 private:
  const KernelTable* table_ = nullptr;
};

inline std::string isa_test_name(const ::testing::TestParamInfo<Isa>& info) {
  return std::string(isa_name(info.param));
}

#define TESSERA_INSTANTIATE_PER_ISA(fixture)                                                \
  INSTANTIATE_TEST_SUITE_P(Isa, fixture, ::testing::ValuesIn(::tessera::kernels::kAllIsas), \
                           ::tessera::kernels::test::isa_test_name)

}  // namespace tessera::kernels::test
