// The binary on CPUs without AVX2 or AVX-512: run under qemu-user's emulated
// CPU models, `tessera` must pick the tier the CPU has (a plain x86-64 CPU:
// generic; Haswell: avx2) and never execute an instruction the CPU lacks.
// Emulation serves only as a CPU that lacks features: results are compared
// with native runs of the same tier (TESSERA_ISA), which must match exactly.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_util.h"

namespace tessera {
namespace {

using test::run_tessera_env;

const std::string kModel = std::string(TESSERA_SOURCE_DIR) + "/models/tessera-demo.gguf";
const std::string kGenerate = "run -m '" + kModel + "' -p 'Once upon a time' -n 12 --temp 0 -t 2";

class CpuTiers : public testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "not under AddressSanitizer: its shadow memory does not fit qemu-user's guest address space";
#endif
    if (std::system("command -v qemu-x86_64 >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "qemu-x86_64 (Debian package qemu-user) is not installed; scripts/setup.sh installs it";
  }
};

// A CPU model with SSE2 only (qemu64) and one with AVX2 + FMA + F16C (Haswell).
TEST_F(CpuTiers, EmulatedCpusPickTheirTierAndMatchNativeRuns) {
  const struct {
    const char* cpu;
    const char* tier;
  } cases[] = {{"qemu64", "generic"}, {"Haswell", "avx2"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cpu);
    const std::string qemu = std::string("qemu-x86_64 -cpu ") + c.cpu;
    const auto info = run_tessera_env(qemu, "info -m '" + kModel + "'");
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_NE(info.out.find(std::string("kernels:       ") + c.tier + "\n"), std::string::npos) << info.out;

    const std::string native_env = std::string("TESSERA_ISA=") + c.tier;
    if (run_tessera_env(native_env, "info -m '" + kModel + "'").out.find(std::string("kernels:       ") + c.tier) ==
        std::string::npos) {
      std::printf("skipped %s: this machine has no %s tier to compare with\n", c.cpu, c.tier);
      continue;
    }
    const auto emulated = run_tessera_env(qemu, kGenerate);
    const auto native = run_tessera_env(native_env, kGenerate);
    ASSERT_EQ(emulated.exit_code, 0) << emulated.err;
    ASSERT_EQ(native.exit_code, 0) << native.err;
    EXPECT_GT(emulated.out.size(), std::string("Once upon a time").size());
    EXPECT_EQ(emulated.out, native.out);
  }
}

}  // namespace
}  // namespace tessera
