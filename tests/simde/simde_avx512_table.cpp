// The AVX-512 tier built on SIMDe (tests/CMakeLists.txt) as a kernel table:
// the AVX2 table where the CPU has AVX2 (else the generic one), with the
// AVX-512 tier's entries, BF16 included, from the SIMDe build.
#include "simde/simde_avx512_table.h"

#include "kernels/avx512_table.h"

namespace tessera::kernels::test {

const KernelTable& simde_avx512_table() {
  static const KernelTable table = [] {
    const KernelTable* avx2 = kernel_table(Isa::Avx2);
    KernelTable t = avx2 ? *avx2 : *kernel_table(Isa::Generic);
    avx512_simde::fill_table(t, true);
    return t;
  }();
  return table;
}

}  // namespace tessera::kernels::test
