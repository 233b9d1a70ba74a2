#include "kernels/cpu_features.h"

#include <cpuid.h>

#include <cstdint>

namespace tessera::kernels {
namespace {

bool bit(uint32_t reg, int n) { return (reg >> n) & 1u; }

// XGETBV(0): which register states the OS saves on context switch. Written as
// inline asm so this file needs no -mxsave.
uint64_t xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  uint32_t a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = bit(c, 27);
  if (!osxsave || !bit(c, 28)) return f;  // no AVX or no OS support for XSAVE
  const uint64_t xcr = xcr0();
  const bool os_ymm = (xcr & 0x6) == 0x6;      // SSE + AVX state
  const bool os_zmm = (xcr & 0xe6) == 0xe6;    // plus opmask, ZMM0-15 upper, ZMM16-31
  if (!os_ymm) return f;
  f.avx = true;
  f.fma = bit(c, 12);
  f.f16c = bit(c, 29);

  uint32_t max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const uint32_t max_sub = a;
  f.avx2 = bit(b, 5);
  f.bmi2 = bit(b, 8);
  if (os_zmm) {
    f.avx512f = bit(b, 16);
    f.avx512dq = bit(b, 17);
    f.avx512bw = bit(b, 30);
    f.avx512vl = bit(b, 31);
    f.avx512vnni = bit(c, 11);
    if (max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      f.avx512bf16 = bit(a, 5);
    }
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace tessera::kernels
