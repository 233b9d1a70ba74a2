// The machine microbenchmarks report positive limits, and each compute peak
// exactly where the active tier has matmuls that run on it; each tier's matmul
// of each format is judged against the peak of the instruction its kernel uses.
#include <gtest/gtest.h>

#include "kernels/cpu_features.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/roofline.h"
#include "kernel_test_util.h"

namespace tessera::kernels {
namespace {

TEST(Roofline, MeasuresEveryLimitTheTierUses) {
  ThreadPool pool(2);
  const Roofline r = measure_roofline(pool, 1);
  EXPECT_EQ(r.isa, std::string(active_isa_name()));
  EXPECT_GT(r.read_gbps, 0.0);
  EXPECT_GT(r.fma_gflops, 0.0);
  const bool int8_tier = matmul_peak(DType::Q4_0) == MatmulPeak::Int8Dot;
  EXPECT_EQ(int8_tier, uses_int8_activations(DType::Q4_0));
  EXPECT_EQ(r.int8_gops > 0.0, int8_tier);
  if (int8_tier) {
    EXPECT_GT(r.int8_gops, r.fma_gflops);  // 32 multiply-adds per instruction against 8
  }
  EXPECT_EQ(r.bf16_gflops > 0.0, matmul_peak(DType::BF16) == MatmulPeak::Bf16Dot);
  EXPECT_FALSE(uses_int8_activations(DType::F32));
}

using test::PerIsa;

// Written out per tier, independently of the tables: generic multiplies
// everything in floats; AVX2 quantizes activations to int8 for every block
// format; AVX-512 does too, and multiplies BF16 (and F16, rounded at load) by
// bf16 activations where it has AVX512_BF16 (its SIMDe build always does).
class MatmulPeakTest : public PerIsa {};

TEST_P(MatmulPeakTest, IsTheKernelsInstruction) {
  const bool bf16 = tier_name() == "avx512_simde" || (tier_name() == "avx512" && cpu_features().avx512bf16);
  for (DType type : test::kMatmulTypes) {
    MatmulPeak want = MatmulPeak::Int8Dot;
    if (tier_name() == "generic" || type == DType::F32) want = MatmulPeak::Fp32Fma;
    if (type == DType::F16 || type == DType::BF16) want = bf16 ? MatmulPeak::Bf16Dot : MatmulPeak::Fp32Fma;
    EXPECT_EQ(matmul_peak_of(table(), type), want) << dtype_name(type);
  }
}

TESSERA_INSTANTIATE_PER_ISA(MatmulPeakTest);

}  // namespace
}  // namespace tessera::kernels
