// Causal (or bidirectional) attention over a block-paged KV cache whose rows
// are F32, F16 or Q8_0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/thread_pool.h"

namespace tessera::kernels {

// One layer of a KV cache: physical block b, kv head h, slot s holds one row of
// head_dim elements of k_type at k + ((b * n_head_kv + h) * block_size + s) *
// row_bytes(k_type, head_dim) (same for v with v_type). Types: F32, F16, Q8_0
// (Q8_0 needs head_dim a multiple of 32).
struct KvLayerView {
  const uint8_t* k = nullptr;
  const uint8_t* v = nullptr;
  const int32_t* block_table = nullptr;  // logical block -> physical block
  int64_t block_size = 0;                // a multiple of 8
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  DType k_type = DType::F32;
  DType v_type = DType::F32;
};

// Whether a KV cache can store rows of `type` with `head_dim` elements.
bool kv_type_supported(DType type, int64_t head_dim);

// One sequence's queries in a batch: rows row0 .. row0 + n_tokens - 1 of q and
// out, at positions pos0 .. pos0 + n_tokens - 1, attending through its own
// block table (logical block -> physical block of the layer's storage).
struct AttentionSeq {
  int64_t row0 = 0;
  int64_t n_tokens = 0;
  int64_t pos0 = 0;
  const int32_t* block_table = nullptr;
};

// What a layer's queries see and how their scores are shaped, beyond causal
// softmax(q.k * scale) over every earlier position.
struct AttentionVariant {
  int64_t window = 0;  // > 0: a query at position p sees positions p - window + 1 .. p only (sliding window)
  float softcap = 0;   // > 0: each scaled score s becomes softcap * tanh(s / softcap) (Gemma 2)
  // false: bidirectional (an encoder): every token of a sequence sees all of
  // the sequence's positions up to its last row in the call, pos0 + n_tokens - 1
  // (so a sequence must come whole in one call). No window then.
  bool causal = true;
};

// Positions per KV chunk: every query row's softmax is folded chunk by chunk
// (each chunk from a fresh online-softmax state, the chunk results merged in
// order), whichever way the work is split, so a row's output depends on its
// own position and sequence only: never on the batch or the thread count.
inline constexpr int64_t kKvChunkPositions = 256;

// q and out: rows x n_head x head_dim for the rows of every sequence in seqs.
// Token t of a sequence attends to its positions [0, pos0 + t], whose K/V must
// already be in the cache. Query head h reads kv head h / (n_head / n_head_kv)
// (grouped-query attention). Softmax is computed online (running max and sum)
// so no score row is stored. kv.block_table is ignored: each sequence brings
// its own. Through the active kernel table (see attention_with in
// kernels/dispatch.h).
void attention(ThreadPool& pool, const float* q, int64_t n_head, const KvLayerView& kv, const AttentionSeq* seqs,
               int64_t n_seqs, float scale, float* out, const AttentionVariant& variant = {});

// Sizes the calling thread's attention scratch for the largest work item of
// this layer shape, so later calls on the thread allocate nothing (run it on
// every pool thread: ThreadPool::run_on_each_thread).
void reserve_attention_scratch(const KvLayerView& kv, int64_t n_head);

// One sequence whose n_tokens rows start at row 0, through kv.block_table.
void attention(ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head, int64_t pos0,
               const KvLayerView& kv, float scale, float* out);

// The unit of work of every tier: a tile of query rows that share one kv head,
// `n_tok` consecutive tokens x `group` query heads (row r = token r / group,
// head r % group), and the tile's online-softmax state. The kernel folds the
// cache positions [p_begin, p_end) into the state; p_begin is a multiple of the
// block size, and row r sees only positions <= pos_first + r / group (and, with
// a window, > pos_first + r / group - window), or <= last_visible when that is set. A row that sees none of the
// range keeps its state as it was.
struct AttentionTile {
  const float* q = nullptr;   // row r at q + (r / group) * q_token_stride + (r % group) * head_dim
  int64_t q_token_stride = 0;
  int64_t n_tok = 0, group = 0;
  int64_t pos_first = 0;      // position of the tile's first token
  float scale = 1.0f;
  int64_t window = 0;   // AttentionVariant
  float softcap = 0;
  int64_t last_visible = -1;  // >= 0: every row sees positions up to this one (bidirectional), not its own
  float* m = nullptr;         // per row: running max of the scaled scores (-inf: none yet)
  float* l = nullptr;         // per row: running sum of exp(score - m)
  float* acc = nullptr;       // rows x head_dim: sum of exp(score - m) * v
  // Per-thread scratch, 32-byte aligned: one block of K and of V as floats
  // (block_size x head_dim each) and the scores (rows x block_size).
  float* k_buf = nullptr;
  float* v_buf = nullptr;
  float* s_buf = nullptr;
};

using AttentionTileFn = void (*)(const KvLayerView& kv, int64_t kv_head, int64_t p_begin, int64_t p_end,
                                 const AttentionTile& tile);

}  // namespace tessera::kernels
