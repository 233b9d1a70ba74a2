// The machine microbenchmarks report positive limits, and the int8 peak exactly
// where the active tier has int8 matmuls (kernels::uses_int8_activations).
#include <gtest/gtest.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/roofline.h"

namespace tessera::kernels {
namespace {

TEST(Roofline, MeasuresEveryLimitTheTierUses) {
  ThreadPool pool(2);
  const Roofline r = measure_roofline(pool, 1);
  EXPECT_EQ(r.isa, std::string(active_isa_name()));
  EXPECT_GT(r.read_gbps, 0.0);
  EXPECT_GT(r.fma_gflops, 0.0);
  const bool int8_tier = uses_int8_activations(DType::Q4_0);
  EXPECT_EQ(r.int8_gops > 0.0, int8_tier);
  if (int8_tier) {
    EXPECT_GT(r.int8_gops, r.fma_gflops);  // 32 multiply-adds per instruction against 8
  }
  EXPECT_FALSE(uses_int8_activations(DType::F32));
}

}  // namespace
}  // namespace tessera::kernels
