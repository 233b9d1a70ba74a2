#pragma once

#include "kernels/dispatch.h"

namespace tessera::kernels::test {

// The AVX-512 tier compiled against SIMDe (portable: runs on any x86-64).
const KernelTable& simde_avx512_table();

}  // namespace tessera::kernels::test
