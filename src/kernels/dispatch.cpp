// Plain x86-64 code: the tables only hold addresses of the tier functions, so
// nothing here executes an instruction the CPU might lack.
#include "kernels/dispatch.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "kernels/avx2_kernels.h"
#include "kernels/avx512_table.h"
#include "kernels/cpu_features.h"
#include "kernels/generic_kernels.h"
#include "kernels/reference.h"

namespace tessera::kernels {

KernelTable make_generic_table() {
  KernelTable t;
  t.isa = Isa::Generic;
  t.matmul_f32 = {generic::matmul_f32_rows, generic::kMatmulRowGrain};
  t.matmul_f16 = {generic::matmul_f16_rows, generic::kMatmulRowGrain};
  t.matmul_bf16 = {generic::matmul_bf16_rows, generic::kMatmulRowGrain};
  t.matmul_q8_0 = {generic::matmul_q8_0_rows, generic::kMatmulRowGrain};
  t.matmul_q4_0 = {generic::matmul_q4_0_rows, generic::kMatmulRowGrain};
  t.matmul_q4_k = {generic::matmul_q4_k_rows, generic::kMatmulRowGrain};
  t.matmul_q6_k = {generic::matmul_q6_k_rows, generic::kMatmulRowGrain};
  t.matmul_q4_1 = {generic::matmul_rows<DType::Q4_1>, generic::kMatmulRowGrain};
  t.matmul_q5_0 = {generic::matmul_rows<DType::Q5_0>, generic::kMatmulRowGrain};
  t.matmul_q5_1 = {generic::matmul_rows<DType::Q5_1>, generic::kMatmulRowGrain};
  t.matmul_iq4_nl = {generic::matmul_rows<DType::IQ4_NL>, generic::kMatmulRowGrain};
  t.matmul_q2_k = {generic::matmul_rows<DType::Q2_K>, generic::kMatmulRowGrain};
  t.matmul_q3_k = {generic::matmul_rows<DType::Q3_K>, generic::kMatmulRowGrain};
  t.matmul_q5_k = {generic::matmul_rows<DType::Q5_K>, generic::kMatmulRowGrain};
  t.matmul_iq4_xs = {generic::matmul_rows<DType::IQ4_XS>, generic::kMatmulRowGrain};
  t.rmsnorm = ref::rmsnorm;
  t.rope = ref::rope;
  t.softmax = ref::softmax;
  t.swiglu = ref::swiglu;
  t.dequantize_row = ref::dequantize_row;
  t.quantize_row = ref::quantize_row;
  t.quantize_activations = ref::quantize_activations;
  t.attention_tile = generic::attention_tile;
  return t;
}

// Rope (a few sin/cos per call) and row conversion (embedding lookups, file
// writing; quantize_row must stay bit-exact) are not hot: the reference serves.
KernelTable make_avx2_table() {
  KernelTable t = make_generic_table();
  t.isa = Isa::Avx2;
  t.matmul_f32 = {avx2::matmul_f32_rows, avx2::kMatmulRowGrain};
  t.matmul_f16 = {avx2::matmul_f16_rows, avx2::kMatmulRowGrain};
  t.matmul_bf16 = {avx2::matmul_bf16_rows, avx2::kMatmulRowGrain};
  // Q8_0 / Q4_0: int8 activations and integer dots (avx2::matmul_*_q8_rows).
  t.matmul_q8_0 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_q8_0_q8_rows};
  t.matmul_q4_0 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_q4_0_q8_rows};
  t.matmul_q4_k = {avx2::matmul_q4_k_rows, avx2::kMatmulRowGrain};
  t.matmul_q6_k = {avx2::matmul_q6_k_rows, avx2::kMatmulRowGrain};
  t.quantize_activations = avx2::quantize_activations;
  t.matmul_q8_0_rows8 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_q8_0_rows8_q8_rows};
  t.matmul_q4_0_rows8 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_q4_0_rows8_q8_rows};
  t.matmul_f16_rows8 = {avx2::matmul_f16_rows8_rows, avx2::kMatmulRowGrain};
  t.matmul_q4_k_rows8 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x256, avx2::matmul_q4_k_rows8_q8_rows};
  t.matmul_q5_k_rows8 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x256, avx2::matmul_q5_k_rows8_q8_rows};
  t.matmul_q6_k_rows8 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x256, avx2::matmul_q6_k_rows8_q8_rows};
  // The other formats: int8 activations in the plain layout (matmul_int_formats_avx2.cpp).
  t.matmul_q4_1 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_int_rows<DType::Q4_1>};
  t.matmul_q5_0 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_int_rows<DType::Q5_0>};
  t.matmul_q5_1 = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_int_rows<DType::Q5_1>};
  t.matmul_iq4_nl = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x32, avx2::matmul_int_rows<DType::IQ4_NL>};
  t.matmul_q2_k = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x256, avx2::matmul_int_rows<DType::Q2_K>};
  t.matmul_q3_k = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x256, avx2::matmul_int_rows<DType::Q3_K>};
  t.matmul_q5_k = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x256, avx2::matmul_int_rows<DType::Q5_K>};
  t.matmul_iq4_xs = {nullptr, avx2::kMatmulRowGrain, ActFormat::Q8x256, avx2::matmul_int_rows<DType::IQ4_XS>};
  t.rmsnorm = avx2::rmsnorm;
  t.softmax = avx2::softmax;
  t.swiglu = avx2::swiglu;
  t.attention_tile = avx2::attention_tile;
  return t;
}

namespace {

// Function-local statics: safe to use from other translation units' static init.
const KernelTable& generic_table() {
  static const KernelTable table = make_generic_table();
  return table;
}

const KernelTable& avx2_table() {
  static const KernelTable table = make_avx2_table();
  return table;
}

// Built only once CPUID has said AVX-512 (the tier's table code is compiled
// with its flags).
const KernelTable& avx512_table() {
  static const KernelTable table = [] {
    KernelTable t = make_avx2_table();
    avx512::fill_table(t, cpu_features().avx512bf16);
    return t;
  }();
  return table;
}

Isa best_isa_with_table() {
  for (Isa isa : {Isa::Avx512, Isa::Avx2})
    if (kernel_table(isa)) return isa;
  return Isa::Generic;
}

constexpr int64_t kParallelQuantizeTokens = 16;

// Quantized activations of the calling thread's matmuls, 64-byte aligned. It
// grows to the largest call seen and is then reused: no allocation per call.
uint8_t* activation_scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < bytes + 64) buffer.resize(bytes + 64);
  const auto address = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + (64 - address % 64) % 64;
}

Isa choose_active_isa() {
  std::string note;
  const Isa isa = choose_isa(best_isa_with_table(), std::getenv("TESSERA_ISA"), &note);
  if (!note.empty()) std::fprintf(stderr, "tessera: %s\n", note.c_str());
  return isa;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic:
      return "generic";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "unknown";
}

std::optional<Isa> isa_from_name(std::string_view name) {
  for (Isa isa : kAllIsas)
    if (iequals(isa_name(isa), name)) return isa;
  return std::nullopt;
}

const MatmulKernel* KernelTable::matmul_for(DType type) const {
  const MatmulKernel* k = nullptr;
  switch (type) {
    case DType::F32:
      k = &matmul_f32;
      break;
    case DType::F16:
      k = &matmul_f16;
      break;
    case DType::BF16:
      k = &matmul_bf16;
      break;
    case DType::Q8_0:
      k = &matmul_q8_0;
      break;
    case DType::Q4_0:
      k = &matmul_q4_0;
      break;
    case DType::Q4_K:
      k = &matmul_q4_k;
      break;
    case DType::Q6_K:
      k = &matmul_q6_k;
      break;
    case DType::Q4_1: k = &matmul_q4_1; break;
    case DType::Q5_0: k = &matmul_q5_0; break;
    case DType::Q5_1: k = &matmul_q5_1; break;
    case DType::IQ4_NL: k = &matmul_iq4_nl; break;
    case DType::Q2_K: k = &matmul_q2_k; break;
    case DType::Q3_K: k = &matmul_q3_k; break;
    case DType::Q5_K: k = &matmul_q5_k; break;
    case DType::IQ4_XS: k = &matmul_iq4_xs; break;
    default:
      return nullptr;
  }
  return (k->rows || k->rows_q) ? k : nullptr;
}

const MatmulKernel* KernelTable::matmul_for(DType type, WeightLayout layout) const {
  if (layout == WeightLayout::Plain) return matmul_for(type);
  const MatmulKernel* k = nullptr;
  if (layout == WeightLayout::Rows16 && type == DType::Q8_0) k = &matmul_q8_0_rows16;
  if (layout == WeightLayout::Rows16 && type == DType::Q4_0) k = &matmul_q4_0_rows16;
  if (layout == WeightLayout::Rows16 && type == DType::Q4_K) k = &matmul_q4_k_rows16;
  if (layout == WeightLayout::Rows16 && type == DType::Q5_K) k = &matmul_q5_k_rows16;
  if (layout == WeightLayout::Rows16 && type == DType::Q6_K) k = &matmul_q6_k_rows16;
  if (layout == WeightLayout::Rows16 && type == DType::BF16) k = &matmul_bf16_rows16;
  if (layout == WeightLayout::Rows16 && type == DType::F16) k = &matmul_f16_rows16;
  if (layout == WeightLayout::Rows8 && type == DType::F16) k = &matmul_f16_rows8;
  if (layout == WeightLayout::Rows8 && type == DType::Q8_0) k = &matmul_q8_0_rows8;
  if (layout == WeightLayout::Rows8 && type == DType::Q4_0) k = &matmul_q4_0_rows8;
  if (layout == WeightLayout::Rows8 && type == DType::Q4_K) k = &matmul_q4_k_rows8;
  if (layout == WeightLayout::Rows8 && type == DType::Q5_K) k = &matmul_q5_k_rows8;
  if (layout == WeightLayout::Rows8 && type == DType::Q6_K) k = &matmul_q6_k_rows8;
  return k && (k->rows || k->rows_q) ? k : nullptr;
}

WeightLayout preferred_layout_of(const KernelTable& table, DType type) {
  for (WeightLayout layout : {WeightLayout::Rows16, WeightLayout::Rows8})
    if (table.matmul_for(type, layout)) return layout;
  return WeightLayout::Plain;
}

MatmulPeak matmul_peak_of(const KernelTable& table, DType type) {
  const MatmulKernel* k = table.matmul_for(type, preferred_layout_of(table, type));
  if (!k || !k->rows_q) return MatmulPeak::Fp32Fma;
  switch (k->act) {
    case ActFormat::Q8x32:
    case ActFormat::Q8x256:
      return MatmulPeak::Int8Dot;
    case ActFormat::BF16:
      return MatmulPeak::Bf16Dot;
    case ActFormat::F32:
      break;
  }
  return MatmulPeak::Fp32Fma;
}

Isa cpu_isa() {
  const CpuFeatures& f = cpu_features();
  if (f.has_avx512_tier()) return Isa::Avx512;
  if (f.has_avx2_tier()) return Isa::Avx2;
  return Isa::Generic;
}

const KernelTable* kernel_table(Isa isa) {
  switch (isa) {
    case Isa::Generic:
      return &generic_table();
    case Isa::Avx2:
      return cpu_features().has_avx2_tier() ? &avx2_table() : nullptr;
    case Isa::Avx512:
      return cpu_features().has_avx512_tier() ? &avx512_table() : nullptr;
  }
  return nullptr;
}

Isa choose_isa(Isa best, const char* request, std::string* note) {
  if (!request || !*request) return best;
  const std::optional<Isa> wanted = isa_from_name(request);
  if (!wanted) {
    if (note)
      *note = fmt::format("TESSERA_ISA={} is not one of generic, avx2, avx512; using {}", request,
                          isa_name(best));
    return best;
  }
  if (static_cast<int>(*wanted) > static_cast<int>(best)) {
    if (note)
      *note = fmt::format("TESSERA_ISA={} is not available on this machine; using {}", request,
                          isa_name(best));
    return best;
  }
  return *wanted;
}

Isa active_isa() {
  static const Isa isa = choose_active_isa();
  return isa;
}

std::string_view active_isa_name() { return isa_name(active_isa()); }

const KernelTable& active_table() {
  static const KernelTable* table = kernel_table(active_isa());
  return *table;
}

void matmul_with(const KernelTable& table, ThreadPool& pool, DType type, const void* W, int64_t rows,
                 int64_t cols, const float* x, int64_t n_tokens, float* y) {
  matmul_with(table, pool, type, WeightLayout::Plain, W, rows, cols, x, n_tokens, y);
}

void matmul_with(const KernelTable& table, ThreadPool& pool, DType type, WeightLayout layout, const void* W,
                 int64_t rows, int64_t cols, const float* x, int64_t n_tokens, float* y) {
  const MatmulPart part{W, rows, y, type, layout};
  matmul_many_with(table, pool, cols, x, n_tokens, &part, 1);
}

void matmul_many_with(const KernelTable& table, ThreadPool& pool, int64_t cols, const float* x, int64_t n_tokens,
                      const MatmulPart* parts, int n_parts) {
  constexpr int kMaxParts = 8;  // fixed arrays: no allocation per call
  if (n_parts < 1 || n_parts > kMaxParts) fail("matmul: {} parts (1 to {} supported)", n_parts, kMaxParts);
  if (n_tokens < 0) fail("matmul: negative size ({} tokens)", n_tokens);
  // The parts' rows laid end to end; a part's rows start on a whole grain of the
  // largest kernel grain, so each part gets ranges its kernel accepts (rows8
  // kernels need multiples of 8, rows16 of 16).
  const MatmulKernel* kernel[kMaxParts];
  size_t stride[kMaxParts];
  int64_t start[kMaxParts];
  int act_index[kMaxParts];  // which quantized copy of x a part reads
  ActFormat acts[kMaxParts];  // the distinct quantized formats the parts need
  int n_acts = 0;
  int64_t grain = 1, total = 0;
  for (int p = 0; p < n_parts; ++p) {
    const MatmulPart& part = parts[p];
    const MatmulKernel* k = table.matmul_for(part.type, part.layout);
    if (!k && part.layout != WeightLayout::Plain)
      fail("matmul: no kernel for tensor type {} in layout {} on the {} tier", dtype_name(part.type),
           part.layout == WeightLayout::Rows16 ? "rows16" : "rows8", isa_name(table.isa));
    if (!k) fail("matmul: no kernel for tensor type {}", dtype_name(part.type));
    if (part.rows < 0) fail("matmul: negative size ({} rows)", part.rows);
    act_index[p] = -1;
    if (k->rows_q) {
      act_index[p] = static_cast<int>(std::find(acts, acts + n_acts, k->act) - acts);
      if (act_index[p] == n_acts) acts[n_acts++] = k->act;
    }
    kernel[p] = k;
    stride[p] = row_bytes(part.type, cols);  // also checks cols against the block size
    grain = std::max(grain, k->row_grain);
  }
  for (int p = 0; p < n_parts; ++p) {
    start[p] = total;
    total += (parts[p].rows + grain - 1) / grain * grain;
  }
  if (total == 0 || n_tokens == 0) return;
  // x quantized once per format, the copies one after another in the scratch.
  size_t xq_stride[kMaxParts] = {}, xq_offset[kMaxParts] = {}, xq_bytes = 0;
  for (int a = 0; a < n_acts; ++a) {
    xq_stride[a] = activation_row_bytes(acts[a], cols);
    xq_offset[a] = xq_bytes;
    xq_bytes += xq_stride[a] * static_cast<size_t>(n_tokens);
  }
  uint8_t* xq = n_acts > 0 ? activation_scratch(xq_bytes) : nullptr;
  if (n_acts > 0) {
    const auto quantize = [&](int64_t begin, int64_t end, int) {
      for (int a = 0; a < n_acts; ++a)
        for (int64_t t = begin; t < end; ++t)
          table.quantize_activations(acts[a], x + t * cols, cols, xq + xq_offset[a] + t * xq_stride[a]);
    };
    // A prompt's rows are quantized on every thread (serial, they held the
    // others up ~1% of prefill); a few tokens' rows are not worth a pool job.
    if (n_tokens >= kParallelQuantizeTokens && pool.size() > 1)
      pool.parallel_for(n_tokens, 1, quantize);
    else
      quantize(0, n_tokens, 0);
  }
  pool.parallel_for(total, grain, [&](int64_t begin, int64_t end, int) {
    for (int p = 0; p < n_parts; ++p) {
      const MatmulPart& part = parts[p];
      const int64_t lo = std::max<int64_t>(begin - start[p], 0);
      const int64_t hi = std::min<int64_t>(end - start[p], part.rows);
      if (lo >= hi) continue;
      const auto* w = static_cast<const uint8_t*>(part.W);
      if (kernel[p]->rows_q) {
        const int a = act_index[p];
        kernel[p]->rows_q(w, stride[p], cols, lo, hi, xq + xq_offset[a], xq_stride[a], n_tokens, part.y, part.rows);
      } else {
        kernel[p]->rows(w, stride[p], cols, lo, hi, x, n_tokens, part.y, part.rows);
      }
    }
  });
}

}  // namespace tessera::kernels
