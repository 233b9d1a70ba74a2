// Every numeric op the model uses. Model code calls only these; each call goes
// through one dispatch point (kernels/dispatch.h) that picked the best ISA tier
// (AVX-512, AVX2+FMA or generic) once at start-up. Scalar references for tests
// are in kernels/reference.h.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/thread_pool.h"

namespace tessera::kernels {

// y[t][r] = sum_c W[r][c] * x[t][c] for t < n_tokens, r < rows.
// W is `rows` rows of `cols` elements in format `type`, each row row_bytes(type, cols)
// bytes, rows consecutive. x is n_tokens x cols floats, y is n_tokens x rows floats.
// Rows are split across the pool's threads.
void matmul(ThreadPool& pool, DType type, const void* W, int64_t rows, int64_t cols,
            const float* x, int64_t n_tokens, float* y);

// Weight layouts matmul reads. Plain is the file's. Rows8 interleaves each group
// of 8 rows' blocks so that one SIMD load feeds 8 rows (the AVX2 tier), Rows16
// groups of 16 (the AVX-512 tier's 512-bit registers); same size and row stride
// as Plain (kernels/weight_repack.h).
enum class WeightLayout : uint8_t { Plain = 0, Rows8 = 1, Rows16 = 2 };

// The layout the active tier multiplies `type` fastest in. When it is not Plain,
// repack the matrix once at load and pass the layout to matmul.
WeightLayout preferred_layout(DType type);

// dst = the plain rows x cols matrix src of `type`, in `layout`. dst holds
// rows * row_bytes(type, cols) bytes (64-byte aligned is fastest), apart from src.
void repack_weights(DType type, WeightLayout layout, const void* src, void* dst, int64_t rows, int64_t cols);

// matmul with W in `layout`, as repack_weights made it.
void matmul(ThreadPool& pool, DType type, WeightLayout layout, const void* W, int64_t rows, int64_t cols,
            const float* x, int64_t n_tokens, float* y);

// Several matrices of one width applied to the same x in one pass of the pool:
// y_i = W_i x for each part, each in its own type and layout (Q4_K_M mixes Q4_K
// and Q6_K in Q/K/V). Activations are quantized once for all the int8 parts, and
// the threads share one job (decode: Q/K/V and gate/up cost one wake-up each).
struct MatmulPart {
  const void* W = nullptr;
  int64_t rows = 0;
  float* y = nullptr;  // n_tokens x rows
  DType type = DType::F32;
  WeightLayout layout = WeightLayout::Plain;
};
void matmul_many(ThreadPool& pool, int64_t cols, const float* x, int64_t n_tokens, const MatmulPart* parts,
                 int n_parts);

// out = x / sqrt(mean(x^2) + eps) * weight; out may alias x.
void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps);

// Rotary position embedding, in place, on n_heads heads of head_dim floats each
// (consecutive). The first rot_dim dims of each head rotate: pair i (i < rot_dim/2)
// turns by angle pos * freq_scale * base^(-2i/rot_dim) / factor[i] (factor from
// freq_factors, or 1 when null). Normal mode pairs dims (2i, 2i+1) (GGUF `llama`);
// neox mode pairs (i, i + rot_dim/2).
struct RopeParams {
  int64_t head_dim = 0;
  int64_t rot_dim = 0;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  const float* freq_factors = nullptr;  // rot_dim/2 values or null
  bool neox = false;
  float attn_factor = 1.0f;  // cos and sin scaled by it (LongRoPE's magnitude correction)
};
void rope(float* x, int64_t n_heads, int64_t pos, const RopeParams& p);

// out[i] = a[i] + b[i]; out may alias a or b. Plain code on every tier (the
// compiler vectorises it; the sum is exact to the same bits everywhere).
void add(float* out, const float* a, const float* b, int64_t n);

// out[i] = a[i] * b[i]; out may alias a or b. Plain code on every tier.
void mul(float* out, const float* a, const float* b, int64_t n);

// out = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias (bias may be null);
// out may alias x. Plain code on every tier (kernels/reference.cpp).
void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t n, float eps);

// out[i] = gelu(x[i]), tanh approximation; out may alias x. Plain code on every tier.
void gelu(float* out, const float* x, int64_t n);

// x = softmax(x), numerically stable.
void softmax(float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i]; out may alias gate or up.
void swiglu(float* out, const float* gate, const float* up, int64_t n);

// Row conversion between floats and a storage format (F32, F16, BF16, Q8_0, Q4_0,
// Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS); n must be a
// multiple of the format's block size. quantize_row rounds as GGUF's reference
// quantizer does, so files we write match other tools' bit for bit (IQ4_NL and
// IQ4_XS: Tessera's own quantizer, kernels/reference_iq4.cpp).
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
void quantize_row(DType type, const float* src, void* dst, int64_t n);

// Whether the active tier multiplies `type` (in its preferred layout) by int8
// activations with integer dot products rather than by floats.
bool uses_int8_activations(DType type);

// Whether it rounds the activations at all before multiplying: int8 (above), or
// bf16 (BF16 weights on AVX-512 with AVX512_BF16).
bool uses_quantized_activations(DType type);

// The instruction whose peak bounds the active tier's matmul of `type` (in its
// preferred layout), so the peak `bench --roofline` judges its prefill against:
// the fp32 FMA for float activations, the int8 dot (vpmaddubsw on AVX2,
// vpdpbusd on AVX-512 VNNI) for int8 ones, vdpbf16ps for bf16 ones.
enum class MatmulPeak { Fp32Fma, Int8Dot, Bf16Dot };
MatmulPeak matmul_peak(DType type);

// Whether matmul / dequantize_row / quantize_row handle this format.
bool supports(DType type);

}  // namespace tessera::kernels
