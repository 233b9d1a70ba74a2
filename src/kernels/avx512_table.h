// Entry point of the AVX-512 tier (the *_avx512*.cpp files): its kernels put
// into a table. Declarations only, so plain x86-64 code can call it once CPUID
// has said AVX-512 F/BW/VL/DQ + VNNI.
//
// The same sources are compiled a second time against SIMDe (portable code,
// test-only, tests/CMakeLists.txt) into namespace avx512_simde, so that every
// machine's tests run the tier's code, AVX-512 or not.
#pragma once

#include "kernels/dispatch.h"

namespace tessera::kernels::avx512 {
// Sets the table's entries the tier has kernels for; with_bf16: the CPU has
// AVX512_BF16 (vdpbf16ps), so its BF16 kernels may be used.
void fill_table(KernelTable& t, bool with_bf16);
}  // namespace tessera::kernels::avx512

namespace tessera::kernels::avx512_simde {
void fill_table(KernelTable& t, bool with_bf16);
}  // namespace tessera::kernels::avx512_simde
