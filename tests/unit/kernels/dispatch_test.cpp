// Tier detection and choice, and the tables' contents.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernels/cpu_features.h"
#include "kernels/dispatch.h"

namespace tessera::kernels {
namespace {

TEST(Dispatch, IsaNamesRoundTrip) {
  for (Isa isa : kAllIsas) EXPECT_EQ(isa_from_name(isa_name(isa)), isa);
  EXPECT_EQ(isa_from_name("AVX2"), Isa::Avx2);
  EXPECT_EQ(isa_from_name("sse"), std::nullopt);
  EXPECT_EQ(isa_from_name(""), std::nullopt);
}

TEST(Dispatch, ChooseIsaFollowsRequestsDownwardOnly) {
  std::string note;
  EXPECT_EQ(choose_isa(Isa::Avx2, nullptr, &note), Isa::Avx2);
  EXPECT_EQ(choose_isa(Isa::Avx2, "", &note), Isa::Avx2);
  EXPECT_TRUE(note.empty());
  EXPECT_EQ(choose_isa(Isa::Avx2, "generic", &note), Isa::Generic);
  EXPECT_EQ(choose_isa(Isa::Avx512, "avx2", &note), Isa::Avx2);
  EXPECT_TRUE(note.empty());
  EXPECT_EQ(choose_isa(Isa::Avx2, "avx512", &note), Isa::Avx2);
  EXPECT_NE(note.find("not available"), std::string::npos) << note;
  note.clear();
  EXPECT_EQ(choose_isa(Isa::Generic, "neon", &note), Isa::Generic);
  EXPECT_NE(note.find("TESSERA_ISA=neon"), std::string::npos) << note;
}

TEST(Dispatch, TablesExistForWhatTheCpuHas) {
  ASSERT_NE(kernel_table(Isa::Generic), nullptr);
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(kernel_table(Isa::Avx2) != nullptr, f.has_avx2_tier());
  EXPECT_EQ(kernel_table(Isa::Avx512) != nullptr, f.has_avx512_tier());
  if (const KernelTable* avx512 = kernel_table(Isa::Avx512)) {  // BF16 kernels only with AVX512_BF16
    EXPECT_EQ(avx512->matmul_for(DType::BF16, WeightLayout::Rows16) != nullptr, f.avx512bf16);
  }
  if (f.has_avx512_tier()) {
    EXPECT_TRUE(f.has_avx2_tier());
  }
  EXPECT_GE(static_cast<int>(cpu_isa()), static_cast<int>(active_isa()));
  EXPECT_EQ(active_isa_name(), isa_name(active_isa()));
  EXPECT_EQ(active_table().isa, active_isa());
  for (Isa isa : kAllIsas) {
    const KernelTable* t = kernel_table(isa);
    if (!t) continue;
    SCOPED_TRACE(isa_name(isa));
    EXPECT_EQ(t->isa, isa);
    for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K,
                       DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::IQ4_NL, DType::Q2_K, DType::Q3_K, DType::Q5_K,
                       DType::IQ4_XS}) {
      const MatmulKernel* k = t->matmul_for(type);
      ASSERT_NE(k, nullptr);
      EXPECT_GE(k->row_grain, 1);
    }
    EXPECT_TRUE(t->rmsnorm && t->rope && t->softmax && t->swiglu && t->dequantize_row && t->quantize_row);
  }
}

// The best tier with kernels is active, lowered only by TESSERA_ISA.
TEST(Dispatch, ActiveTierIsBestUnlessLowered) {
  const Isa best = kernel_table(Isa::Avx512) ? Isa::Avx512 : kernel_table(Isa::Avx2) ? Isa::Avx2 : Isa::Generic;
  EXPECT_EQ(active_isa(), choose_isa(best, std::getenv("TESSERA_ISA"), nullptr));
}

}  // namespace
}  // namespace tessera::kernels
