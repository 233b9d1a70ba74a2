// The bf16 dot peak of the roofline microbenchmarks (needs AVX512_BF16): the
// instruction the AVX-512 tier's BF16 and F16 matmuls spend their time in.
#include "kernels/simd_avx512.h"

#include <cstdint>

namespace tessera::kernels::TESSERA_AVX512_NS {

// `iters` rounds of 12 independent vdpbf16ps (16 lanes x 2 multiply-adds
// each): 768 FLOP per round. Twelve chains cover its latency x throughput
// (Zen 4: 6 cycles, 1 a cycle) with a margin.
float roofline_bf16(int64_t iters, float seed) {
  __m512 acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm512_set1_ps(seed + static_cast<float>(k));
  // Every bf16 of a is 1/256 (0x3b80), of b 1/1024 (0x3a80): the sums stay small.
  __m512bh a, b;
  const __m512i a_bits = _mm512_set1_epi32(0x3b803b80), b_bits = _mm512_set1_epi32(0x3a803a80);
  __builtin_memcpy(&a, &a_bits, sizeof a);
  __builtin_memcpy(&b, &b_bits, sizeof b);
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) acc[k] = _mm512_dpbf16_ps(acc[k], a, b);
  __m512 s = acc[0];
  for (int k = 1; k < 12; ++k) s = _mm512_add_ps(s, acc[k]);
  alignas(64) float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

}  // namespace tessera::kernels::TESSERA_AVX512_NS
