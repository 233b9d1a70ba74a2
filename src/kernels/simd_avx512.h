// The intrinsics of the AVX-512 tier's translation units (*_avx512*.cpp; include
// it nowhere else), and the tier's namespace.
//
// Built natively (-mavx512f ... flags, namespace avx512) they are the compiler's
// <immintrin.h>. Built with TESSERA_SIMDE (the test-only copy, plain x86-64
// flags, namespace avx512_simde) they are SIMDe's portable implementations under
// the same names. Debian 12's SIMDe (0.7.4) lacks a few AVX-512 intrinsics the
// kernels use; simde_avx512_extra.h defines those from SIMDe's 256-bit halves.
//
// As for AVX2 (simd_avx2.h): call no inline function that plain x86-64 code also
// uses (std::min, half.h, ...); the linker might keep this tier's copy.
#pragma once

#ifdef TESSERA_SIMDE
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>

#include "kernels/simde_avx512_extra.h"
#define TESSERA_AVX512_NS avx512_simde
#else
#include <immintrin.h>
#define TESSERA_AVX512_NS avx512
#endif

#include <cstdint>

namespace tessera::kernels::TESSERA_AVX512_NS {

inline int32_t load_i32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// The 4 bytes at p in every 32-bit lane.
inline __m512i broadcast_i32(const void* p) { return _mm512_set1_epi32(load_i32(p)); }

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }

// 16 fp16 values at p as floats.
inline __m512 load_fp16x16(const void* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
}

// The running sum as a value GCC may not reassociate (see matmul_rows8_avx2.h).
inline __m512i in_order(__m512i sum) {
#ifndef TESSERA_SIMDE
  asm("" : "+v"(sum));
#endif
  return sum;
}

// Lanes [0, n) set, n <= 16.
inline __mmask16 first_lanes(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

}  // namespace tessera::kernels::TESSERA_AVX512_NS
