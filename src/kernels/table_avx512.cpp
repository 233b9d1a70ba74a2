// The AVX-512 tier's entries of a kernel table. Compiled with the tier's flags:
// call it only once CPUID has said AVX-512 (dispatch.cpp does).
#include "kernels/avx512_kernels.h"

namespace tessera::kernels::TESSERA_AVX512_NS {

void fill_table(KernelTable& t, bool with_bf16) {
  t.isa = Isa::Avx512;
  t.matmul_q8_0_rows16 = {nullptr, kMatmulRowGrain, ActFormat::Q8x32, matmul_q8_0_rows16_q8_rows};
  t.matmul_q4_0_rows16 = {nullptr, kMatmulRowGrain, ActFormat::Q8x32, matmul_q4_0_rows16_q8_rows};
  t.matmul_q4_k_rows16 = {nullptr, kMatmulRowGrain, ActFormat::Q8x256, matmul_q4_k_rows16_q8_rows};
  t.matmul_q5_k_rows16 = {nullptr, kMatmulRowGrain, ActFormat::Q8x256, matmul_q5_k_rows16_q8_rows};
  t.matmul_q6_k_rows16 = {nullptr, kMatmulRowGrain, ActFormat::Q8x256, matmul_q6_k_rows16_q8_rows};
  if (with_bf16) {  // vdpbf16ps: AVX512_BF16 (Cooper Lake, Sapphire Rapids, Zen 4), not Ice Lake
    t.matmul_bf16_rows16 = {nullptr, kMatmulRowGrain, ActFormat::BF16, matmul_bf16_rows16_rows};
    // F16 in rows16 is stored rounded to bf16 (weight_repack.h): the same kernel.
    t.matmul_f16_rows16 = t.matmul_bf16_rows16;
  }
}

}  // namespace tessera::kernels::TESSERA_AVX512_NS
