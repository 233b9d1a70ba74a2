// AVX-512 intrinsics the kernels use that Debian 12's SIMDe (0.7.4) does not
// define, built from SIMDe's own 256-bit intrinsics on the two halves. Included
// only by simd_avx512.h in the SIMDe build (TESSERA_SIMDE).
#pragma once

#ifndef TESSERA_SIMDE
#error "simde_avx512_extra.h is for the SIMDe build only"
#endif

namespace tessera::kernels::simde_extra {

inline simde__m256i lo256(simde__m512i a) { return simde_mm512_castsi512_si256(a); }
inline simde__m256i hi256(simde__m512i a) { return simde_mm512_extracti64x4_epi64(a, 1); }
inline simde__m512i join(simde__m256i lo, simde__m256i hi) {
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(lo), hi, 1);
}
inline simde__m512 join_ps(simde__m256 lo, simde__m256 hi) {
  return simde_mm512_castsi512_ps(join(simde_mm256_castps_si256(lo), simde_mm256_castps_si256(hi)));
}
inline simde__m256 lo256_ps(simde__m512 a) { return simde_mm256_castsi256_ps(lo256(simde_mm512_castps_si512(a))); }
inline simde__m256 hi256_ps(simde__m512 a) { return simde_mm256_castsi256_ps(hi256(simde_mm512_castps_si512(a))); }

inline simde__m512 cvtepi32_ps(simde__m512i a) {
  return join_ps(simde_mm256_cvtepi32_ps(lo256(a)), simde_mm256_cvtepi32_ps(hi256(a)));
}
inline simde__m512 cvtph_ps(simde__m256i a) {
  return join_ps(simde_mm256_cvtph_ps(simde_mm256_castsi256_si128(a)),
                 simde_mm256_cvtph_ps(simde_mm256_extracti128_si256(a, 1)));
}
inline simde__m512i cvtepu8_epi32(simde__m128i a) {
  return join(simde_mm256_cvtepu8_epi32(a), simde_mm256_cvtepu8_epi32(simde_mm_srli_si128(a, 8)));
}
inline simde__m512i cvtepi8_epi32(simde__m128i a) {
  return join(simde_mm256_cvtepi8_epi32(a), simde_mm256_cvtepi8_epi32(simde_mm_srli_si128(a, 8)));
}
inline simde__m512i cvtepi16_epi32(simde__m256i a) {
  return join(simde_mm256_cvtepi16_epi32(simde_mm256_castsi256_si128(a)),
              simde_mm256_cvtepi16_epi32(simde_mm256_extracti128_si256(a, 1)));
}
inline simde__m512i srai_epi32(simde__m512i a, int n) {
  return join(simde_mm256_srai_epi32(lo256(a), n), simde_mm256_srai_epi32(hi256(a), n));
}

}  // namespace tessera::kernels::simde_extra

// Mask types SIMDe names only with its own prefix.
typedef simde__mmask16 __mmask16;
typedef simde__mmask64 __mmask64;

#define _mm512_cvtepi32_ps(a) ::tessera::kernels::simde_extra::cvtepi32_ps(a)
#define _mm512_cvtph_ps(a) ::tessera::kernels::simde_extra::cvtph_ps(a)
#define _mm512_cvtepu8_epi32(a) ::tessera::kernels::simde_extra::cvtepu8_epi32(a)
#define _mm512_cvtepi8_epi32(a) ::tessera::kernels::simde_extra::cvtepi8_epi32(a)
#define _mm512_cvtepi16_epi32(a) ::tessera::kernels::simde_extra::cvtepi16_epi32(a)
#define _mm512_srai_epi32(a, n) ::tessera::kernels::simde_extra::srai_epi32(a, n)
