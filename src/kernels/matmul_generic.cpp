// Generic-tier matmul: scalar, for x86-64 machines without AVX2. Each row is
// dequantized a chunk at a time into a small stack buffer (the reference
// conversion), and the chunk is used for every token before moving on.
#include "core/dtype.h"
#include "kernels/generic_kernels.h"
#include "kernels/reference.h"

namespace tessera::kernels::generic {
namespace {

constexpr int64_t kChunk = 256;  // columns per chunk: a multiple of every block size

// Eight independent partial sums: shorter dependency chains than one running sum.
float dot(const float* a, const float* b, int64_t n) {
  float s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += a[i + k] * b[i + k];
  for (; i < n; ++i) s[0] += a[i] * b[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void matmul_rows(DType type, const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                 int64_t row_end, const float* x, int64_t n_tokens, float* y, int64_t rows) {
  const size_t chunk_bytes = row_bytes(type, kChunk);
  float buf[kChunk];
  for (int64_t r = row_begin; r < row_end; ++r) {
    for (int64_t t = 0; t < n_tokens; ++t) y[t * rows + r] = 0.0f;
    const uint8_t* row = W + r * row_stride;
    for (int64_t c0 = 0; c0 < cols; c0 += kChunk) {
      const int64_t n = cols - c0 < kChunk ? cols - c0 : kChunk;
      const uint8_t* src = row + (c0 / kChunk) * chunk_bytes;
      ref::dequantize_row(type, src, buf, n);  // F32 too: a copy keeps unaligned rows legal
      for (int64_t t = 0; t < n_tokens; ++t) y[t * rows + r] += dot(buf, x + t * cols + c0, n);
    }
  }
}

}  // namespace

void matmul_f32_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(DType::F32, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

void matmul_f16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                     const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(DType::F16, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

void matmul_bf16_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(DType::BF16, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

void matmul_q8_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(DType::Q8_0, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

void matmul_q4_0_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(DType::Q4_0, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

void matmul_q4_k_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(DType::Q4_K, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

void matmul_q6_k_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                      const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(DType::Q6_K, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

template <DType Type>
void matmul_rows(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin, int64_t row_end,
                 const float* x, int64_t n_tokens, float* y, int64_t rows) {
  matmul_rows(Type, W, row_stride, cols, row_begin, row_end, x, n_tokens, y, rows);
}

template void matmul_rows<DType::Q4_1>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                       float*, int64_t);
template void matmul_rows<DType::Q5_0>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                       float*, int64_t);
template void matmul_rows<DType::Q5_1>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                       float*, int64_t);
template void matmul_rows<DType::IQ4_NL>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                         float*, int64_t);
template void matmul_rows<DType::Q2_K>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                       float*, int64_t);
template void matmul_rows<DType::Q3_K>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                       float*, int64_t);
template void matmul_rows<DType::Q5_K>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                       float*, int64_t);
template void matmul_rows<DType::IQ4_XS>(const uint8_t*, size_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                         float*, int64_t);

}  // namespace tessera::kernels::generic
