// What the CPU and the operating system let us run, read once from CPUID and
// XGETBV. Plain x86-64 code: it must run on any x86-64 machine.
#pragma once

namespace tessera::kernels {

struct CpuFeatures {
  // The AVX2 tier's compile flags: -mavx2 -mfma -mf16c -mbmi2 (and AVX state saved by the OS).
  bool avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  // The AVX-512 tier's compile flags (and ZMM/opmask state saved by the OS).
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false;

  bool has_avx2_tier() const { return avx && avx2 && fma && f16c && bmi2; }
  // AVX512_BF16 is not required (Cascade Lake and Ice Lake have VNNI without it):
  // the tier's BF16 kernels are chosen separately.
  bool has_avx512_tier() const {
    return has_avx2_tier() && avx512f && avx512bw && avx512vl && avx512dq && avx512vnni;
  }
};

// Detected on first call; later calls return the same object.
const CpuFeatures& cpu_features();

}  // namespace tessera::kernels
