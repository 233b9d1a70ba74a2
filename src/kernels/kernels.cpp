// kernels.h: every call goes through the table of the tier chosen at start-up.
#include "kernels/kernels.h"

#include <cstring>

#include "kernels/dispatch.h"
#include "kernels/reference.h"
#include "kernels/weight_repack.h"

namespace tessera::kernels {

void matmul(ThreadPool& pool, DType type, const void* W, int64_t rows, int64_t cols, const float* x,
            int64_t n_tokens, float* y) {
  matmul_with(active_table(), pool, type, W, rows, cols, x, n_tokens, y);
}

void matmul(ThreadPool& pool, DType type, WeightLayout layout, const void* W, int64_t rows, int64_t cols,
            const float* x, int64_t n_tokens, float* y) {
  matmul_with(active_table(), pool, type, layout, W, rows, cols, x, n_tokens, y);
}

void matmul_many(ThreadPool& pool, int64_t cols, const float* x, int64_t n_tokens, const MatmulPart* parts,
                 int n_parts) {
  matmul_many_with(active_table(), pool, cols, x, n_tokens, parts, n_parts);
}

WeightLayout preferred_layout(DType type) { return preferred_layout_of(active_table(), type); }

void repack_weights(DType type, WeightLayout layout, const void* src, void* dst, int64_t rows, int64_t cols) {
  if (layout == WeightLayout::Rows8) return repack_rows8(type, src, dst, rows, cols);
  if (layout == WeightLayout::Rows16) return repack_rows16(type, src, dst, rows, cols);
  if (rows > 0) std::memcpy(dst, src, row_bytes(type, cols) * static_cast<size_t>(rows));
}

void attention(ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head, int64_t pos0,
               const KvLayerView& kv, float scale, float* out) {
  attention_with(active_table(), pool, q, n_tokens, n_head, pos0, kv, scale, out);
}

void attention(ThreadPool& pool, const float* q, int64_t n_head, const KvLayerView& kv, const AttentionSeq* seqs,
               int64_t n_seqs, float scale, float* out, const AttentionVariant& variant) {
  attention_with(active_table(), pool, q, n_head, kv, seqs, n_seqs, scale, out, nullptr, variant);
}

void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps) {
  active_table().rmsnorm(out, x, weight, n, eps);
}

void rope(float* x, int64_t n_heads, int64_t pos, const RopeParams& p) { active_table().rope(x, n_heads, pos, p); }

void add(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void mul(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t n, float eps) {
  ref::layernorm(out, x, weight, bias, n, eps);
}

void gelu(float* out, const float* x, int64_t n) { ref::gelu(out, x, n); }

void softmax(float* x, int64_t n) { active_table().softmax(x, n); }

void swiglu(float* out, const float* gate, const float* up, int64_t n) { active_table().swiglu(out, gate, up, n); }

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  active_table().dequantize_row(type, src, dst, n);
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
  active_table().quantize_row(type, src, dst, n);
}

bool uses_int8_activations(DType type) {
  const MatmulKernel* k = active_table().matmul_for(type, preferred_layout(type));
  return k && k->rows_q != nullptr && (k->act == ActFormat::Q8x32 || k->act == ActFormat::Q8x256);
}

bool uses_quantized_activations(DType type) {
  const MatmulKernel* k = active_table().matmul_for(type, preferred_layout(type));
  return k && k->rows_q != nullptr;
}

MatmulPeak matmul_peak(DType type) { return matmul_peak_of(active_table(), type); }

bool supports(DType type) { return active_table().matmul_for(type) != nullptr && ref::supports(type); }

}  // namespace tessera::kernels
