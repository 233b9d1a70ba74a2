// What `bench --roofline` judges prefill by: each matrix of a model summary
// names the instruction its kernel runs on (kernels::matmul_peak), other
// tensors none, and MachineInfo gives each instruction's own measured peak.
#include <gtest/gtest.h>

#include "kernels/kernels.h"
#include "tessera/tessera.h"

namespace tessera {
namespace {

const std::string kModel = std::string(TESSERA_SOURCE_DIR) + "/models/tessera-demo.gguf";

TEST(MachineInfo, PeakGopsIsTheInstructionsOwn) {
  MachineInfo m;
  m.fma_gflops = 1, m.int8_gops = 2, m.bf16_gflops = 3;
  EXPECT_EQ(m.peak_gops(MatmulPeak::Fp32Fma), 1.0);
  EXPECT_EQ(m.peak_gops(MatmulPeak::Int8Dot), 2.0);
  EXPECT_EQ(m.peak_gops(MatmulPeak::Bf16Dot), 3.0);
  EXPECT_EQ(m.peak_gops(MatmulPeak::None), 0.0);
}

TEST(MachineInfo, SummaryNamesEachMatrixsPeak) {
  const ModelSummary s = LoadedModel::open(kModel)->summary();
  int matrices = 0;
  for (const TensorSummary& t : s.tensors) {
    if (t.shape.size() != 2) {
      EXPECT_EQ(t.matmul_peak, MatmulPeak::None) << t.name;
      continue;
    }
    ++matrices;
    const DType type = *dtype_from_name(t.type);
    MatmulPeak want = MatmulPeak::Fp32Fma;
    if (kernels::matmul_peak(type) == kernels::MatmulPeak::Int8Dot) want = MatmulPeak::Int8Dot;
    if (kernels::matmul_peak(type) == kernels::MatmulPeak::Bf16Dot) want = MatmulPeak::Bf16Dot;
    EXPECT_EQ(t.matmul_peak, want) << t.name;
  }
  EXPECT_GT(matrices, 0);
}

}  // namespace
}  // namespace tessera
