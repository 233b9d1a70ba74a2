// The one dispatch point: a table of kernels per ISA tier, and the tier chosen
// once at start-up from CPUID (lowered by TESSERA_ISA=generic|avx2|avx512).
// kernels.h calls go through active_table(); tests and benchmarks may call a
// given tier's table through kernel_table(isa).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/quantized_activations.h"

namespace tessera::kernels {

enum class Isa : int { Generic = 0, Avx2 = 1, Avx512 = 2 };
inline constexpr Isa kAllIsas[] = {Isa::Generic, Isa::Avx2, Isa::Avx512};

std::string_view isa_name(Isa isa);                       // "generic", "avx2", "avx512"
std::optional<Isa> isa_from_name(std::string_view name);  // case-insensitive

// Computes y[t][r] for rows r in [row_begin, row_end) and all tokens t.
// W points at row 0, rows are `row_stride` bytes apart, y is n_tokens x rows.
// Called from one pool thread per row range; must not touch other rows of y.
using MatmulRowsFn = void (*)(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                              int64_t row_end, const float* x, int64_t n_tokens, float* y,
                              int64_t rows);

// The same with activations quantized once per matmul, for integer-dot kernels:
// token t's row, in the kernel's ActFormat (kernels/quantized_activations.h),
// is at xq + t * xq_stride.
using MatmulQuantizedRowsFn = void (*)(const uint8_t* W, size_t row_stride, int64_t cols, int64_t row_begin,
                                       int64_t row_end, const uint8_t* xq, size_t xq_stride, int64_t n_tokens,
                                       float* y, int64_t rows);

struct MatmulKernel {
  MatmulRowsFn rows = nullptr;
  int64_t row_grain = 1;  // rows per thread share come in multiples of this
  // Integer-dot kernels set act and rows_q instead of rows: matmul_with then
  // quantizes x once per call into `act` rows and passes those to rows_q.
  ActFormat act = ActFormat::F32;
  MatmulQuantizedRowsFn rows_q = nullptr;
};

struct KernelTable {
  Isa isa = Isa::Generic;
  MatmulKernel matmul_f32, matmul_f16, matmul_bf16, matmul_q8_0, matmul_q4_0;
  MatmulKernel matmul_q4_k, matmul_q6_k;
  MatmulKernel matmul_q4_1, matmul_q5_0, matmul_q5_1, matmul_iq4_nl;  // blocks of 32
  MatmulKernel matmul_q2_k, matmul_q3_k, matmul_q5_k, matmul_iq4_xs;  // super-blocks of 256
  // WeightLayout::Rows8
  MatmulKernel matmul_f16_rows8, matmul_q8_0_rows8, matmul_q4_0_rows8, matmul_q4_k_rows8, matmul_q5_k_rows8,
      matmul_q6_k_rows8;
  // WeightLayout::Rows16 (F16 there is stored rounded to bf16: weight_repack.h)
  MatmulKernel matmul_q8_0_rows16, matmul_q4_0_rows16, matmul_q4_k_rows16, matmul_q5_k_rows16,
      matmul_q6_k_rows16, matmul_bf16_rows16, matmul_f16_rows16;
  void (*rmsnorm)(float* out, const float* x, const float* weight, int64_t n, float eps) = nullptr;
  void (*rope)(float* x, int64_t n_heads, int64_t pos, const RopeParams& p) = nullptr;
  void (*softmax)(float* x, int64_t n) = nullptr;
  void (*swiglu)(float* out, const float* gate, const float* up, int64_t n) = nullptr;
  void (*dequantize_row)(DType type, const void* src, float* dst, int64_t n) = nullptr;
  void (*quantize_row)(DType type, const float* src, void* dst, int64_t n) = nullptr;
  // One token row of activations to `format`, as ref::quantize_activations.
  void (*quantize_activations)(ActFormat format, const float* x, int64_t cols, uint8_t* dst) = nullptr;
  // Folds a range of KV cache positions into a tile of query rows (attention.h);
  // attention_with below schedules the tiles.
  AttentionTileFn attention_tile = nullptr;

  // The matmul kernel for a weight format (in the Plain layout, or `layout`),
  // or null when there is none.
  const MatmulKernel* matmul_for(DType type) const;
  const MatmulKernel* matmul_for(DType type, WeightLayout layout) const;
};

// The layout a table multiplies `type` fastest in: Rows16 where it has a rows16
// kernel, else Rows8 where it has a rows8 one, else Plain.
WeightLayout preferred_layout_of(const KernelTable& table, DType type);

// The peak a table's matmul of `type` runs against (kernels.h's matmul_peak),
// from the activation format of its kernel in the preferred layout.
MatmulPeak matmul_peak_of(const KernelTable& table, DType type);

// Best tier this CPU and OS can run (whether or not Tessera has kernels for it).
Isa cpu_isa();

// The tier's table, or null when the CPU lacks the tier. The AVX-512 table
// (F, BW, VL, DQ and VNNI) holds the BF16 kernels only when the CPU has
// AVX512_BF16; the AVX2 kernels serve the ops it has no kernels of its own for.
const KernelTable* kernel_table(Isa isa);

// The tiers' own parts of a table, for dispatch.cpp and tests.
KernelTable make_generic_table();
KernelTable make_avx2_table();

// The tier kernels.h uses: the best tier with a table, lowered by TESSERA_ISA.
// Chosen on first use; a TESSERA_ISA value that is unknown or above what the
// machine has is reported once on stderr and clamped.
Isa active_isa();
std::string_view active_isa_name();
const KernelTable& active_table();

// Pure part of the choice above, for tests: `best` is the best tier with a
// table, `request` the TESSERA_ISA value (null when unset). Sets *note to a
// one-line message when the request could not be followed as given.
Isa choose_isa(Isa best, const char* request, std::string* note);

// kernels::matmul through a given table: checks the arguments, then splits
// rows across the pool in multiples of the kernel's row grain.
void matmul_with(const KernelTable& table, ThreadPool& pool, DType type, const void* W, int64_t rows,
                 int64_t cols, const float* x, int64_t n_tokens, float* y);
void matmul_with(const KernelTable& table, ThreadPool& pool, DType type, WeightLayout layout, const void* W,
                 int64_t rows, int64_t cols, const float* x, int64_t n_tokens, float* y);
// kernels::matmul_many through a given table.
void matmul_many_with(const KernelTable& table, ThreadPool& pool, int64_t cols, const float* x, int64_t n_tokens,
                      const MatmulPart* parts, int n_parts);

// How attention_with splits its work (never what it computes: see
// kKvChunkPositions); 0 / -1 fields are chosen by choose_attention_schedule.
struct AttentionSchedule {
  int64_t tile_tokens = 0;      // tokens per query tile (tiled path)
  int split = -1;               // 1: each (token, kv head, KV chunk) its own work item (split-KV); 0: tiles
  int64_t chunk_positions = 0;  // tests only: KV chunk length (whole blocks), 0: kKvChunkPositions
};

// Prefill and most batches: tiles of all query heads of one kv head x a few
// tokens of one sequence, spread over the pool (FlashAttention-2). Decode with
// fewer (token x kv head) items than threads x 4 and a cache longer than one KV
// chunk: split-KV (flash-decoding), each chunk of positions yields a partial
// (max, sum, output), then merged in chunk order. Both give the same bits.
AttentionSchedule choose_attention_schedule(int n_threads, int64_t n_head, const KvLayerView& kv,
                                            const AttentionSeq* seqs, int64_t n_seqs);

// kernels::attention through a given table: checks the arguments and runs the
// work of `schedule` (or of choose_attention_schedule when null) on the pool.
void attention_with(const KernelTable& table, ThreadPool& pool, const float* q, int64_t n_head,
                    const KvLayerView& kv, const AttentionSeq* seqs, int64_t n_seqs, float scale, float* out,
                    const AttentionSchedule* schedule = nullptr, const AttentionVariant& variant = {});
// One sequence whose n_tokens rows start at row 0, through kv.block_table.
void attention_with(const KernelTable& table, ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head,
                    int64_t pos0, const KvLayerView& kv, float scale, float* out,
                    const AttentionSchedule* schedule = nullptr, const AttentionVariant& variant = {});

}  // namespace tessera::kernels
