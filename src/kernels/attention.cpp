// Scheduling of attention, the same for every tier: which query rows and cache
// positions make one work item, which thread runs it, and how split-KV partial
// results combine. The tier's AttentionTileFn does the arithmetic.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernels/dispatch.h"

namespace tessera::kernels {
namespace {

// Query rows per prefill tile: each K/V block is converted to floats once per
// tile, so more rows amortise it better; 32 rows keep the tile's output
// (32 x head_dim floats) and the converted block in L1/L2.
constexpr int64_t kTileRows = 32;
// Split the KV chunks of decode rows over the threads when there are fewer
// (token, kv head) items than this many per thread.
constexpr int kItemsPerThread = 4;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

size_t round8(int64_t n) { return static_cast<size_t>((n + 7) / 8 * 8); }

// Per-thread scratch, 32-byte aligned. Pool threads persist, so this is sized
// on first use, grows only for a larger shape, and is never freed per call.
float* tile_scratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats + 8) buffer.resize(floats + 8);
  const auto address = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + (32 - address % 32) % 32 / sizeof(float);
}

// Split-KV partial results of one call, owned by the calling thread (workers
// write into it during the call); grows like tile_scratch.
float* split_partials(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// Scratch of one thread's tiles of up to `rows` rows: K, V and score buffers
// for the kernel, then a chunk's m, l and acc when `with_state`, and the
// running result's when `with_running`.
struct TileScratch {
  float *k_buf, *v_buf, *s_buf, *m, *l, *acc, *run_m, *run_l, *run_o;
};

TileScratch make_tile_scratch(const KvLayerView& kv, int64_t rows, bool with_state, bool with_running) {
  const size_t kv_floats = round8(kv.block_size * kv.head_dim);
  auto floats_for = [&](int64_t r, bool state, bool running) {
    const size_t one_state = 2 * round8(r) + round8(r * kv.head_dim);
    return 2 * kv_floats + round8(r * kv.block_size) + (state ? one_state : 0) + (running ? one_state : 0);
  };
  const size_t s_floats = round8(rows * kv.block_size);
  float* p = tile_scratch(floats_for(rows, with_state, with_running));
  TileScratch s{};
  s.k_buf = p;
  s.v_buf = p + kv_floats;
  s.s_buf = s.v_buf + kv_floats;
  float* next = s.s_buf + s_floats;
  for (auto [use, m, l, acc] : {std::tuple{with_state, &s.m, &s.l, &s.acc}, std::tuple{with_running, &s.run_m, &s.run_l, &s.run_o}}) {
    if (!use) continue;
    *m = next;
    *l = *m + round8(rows);
    *acc = *l + round8(rows);
    next = *acc + round8(rows * kv.head_dim);
  }
  return s;
}

void reset_state(float* m, float* l, float* acc, int64_t rows, int64_t d) {
  std::fill(m, m + rows, kNegInf);
  std::fill(l, l + rows, 0.0f);
  std::fill(acc, acc + rows * d, 0.0f);
}

void check_arguments(int64_t n_head, const KvLayerView& kv, const AttentionSeq* seqs, int64_t n_seqs) {
  if (kv.n_head_kv <= 0 || kv.head_dim <= 0 || n_head <= 0 || n_head % kv.n_head_kv != 0)
    fail("attention: {} query heads cannot share {} kv heads of size {}", n_head, kv.n_head_kv, kv.head_dim);
  if (kv.block_size <= 0 || kv.block_size % 8 != 0 || kKvChunkPositions % kv.block_size != 0)
    fail("attention: the KV cache block size ({}) must be a positive multiple of 8 dividing {}", kv.block_size,
         kKvChunkPositions);
  for (DType t : {kv.k_type, kv.v_type})
    if (!kv_type_supported(t, kv.head_dim))
      fail("attention: no kernel for a {} KV cache with head size {}", dtype_name(t), kv.head_dim);
  if (n_seqs < 0) fail("attention: {} sequences", n_seqs);
  for (int64_t i = 0; i < n_seqs; ++i) {
    const AttentionSeq& s = seqs[i];
    if (s.n_tokens < 0 || s.pos0 < 0 || s.row0 < 0)
      fail("attention: sequence {} has a negative size ({} tokens at position {}, row {})", i, s.n_tokens, s.pos0,
           s.row0);
    if (s.n_tokens > 0 && !s.block_table) fail("attention: sequence {} has no block table", i);
  }
}

// The last position a query at `pos` of sequence `s` sees: its own, or the
// sequence's last in this call when attention is bidirectional.
int64_t last_seen(int64_t pos, const AttentionSeq& s, const AttentionVariant& v) {
  return v.causal ? pos : s.pos0 + s.n_tokens - 1;
}

// Folds one chunk's online-softmax result (m, l, acc) of a row into the row's
// running result (M, L, O): the same arithmetic on every path, in chunk order.
void merge_chunk(float& M, float& L, float* O, float m, float l, const float* acc, int64_t d) {
  if (m == kNegInf) return;  // the row saw no position of this chunk
  const float mx = std::max(M, m);
  const float a = std::exp(M - mx), b = std::exp(m - mx);
  L = L * a + l * b;
  for (int64_t j = 0; j < d; ++j) O[j] = O[j] * a + acc[j] * b;
  M = mx;
}

// A sequence's view of the layer: its own block table.
KvLayerView view_of(const KvLayerView& kv, const AttentionSeq& s) {
  KvLayerView v = kv;
  v.block_table = s.block_table;
  return v;
}

int64_t chunks_to(int64_t last_pos, int64_t chunk) { return last_pos / chunk + 1; }

// The first chunk a query at `pos` sees: 0, or with a sliding window the one
// holding its oldest visible position. Chunks before it are never visited.
int64_t first_chunk(int64_t pos, int64_t chunk, const AttentionVariant& v) {
  return v.window > 0 && pos - v.window + 1 > 0 ? (pos - v.window + 1) / chunk : 0;
}

struct TileItem {
  int64_t seq, t0, nt, kv_head;
};

// Tiles of up to `tile_tokens` tokens x all query heads of one kv head, each
// over every position it may see (chunk by chunk), then normalised into out.
void run_tiles(AttentionTileFn fn, ThreadPool& pool, const float* q, int64_t n_head, const KvLayerView& kv,
               const AttentionSeq* seqs, int64_t n_seqs, float scale, float* out, int64_t tile_tokens,
               int64_t chunk, const AttentionVariant& variant) {
  const int64_t n_kv = kv.n_head_kv, group = n_head / n_kv, d = kv.head_dim;
  thread_local std::vector<TileItem> items;  // the caller's; grows to the largest batch seen
  items.clear();
  for (int64_t i = 0; i < n_seqs; ++i) {
    const int64_t n_tiles = (seqs[i].n_tokens + tile_tokens - 1) / tile_tokens;
    for (int64_t k = 0; k < n_tiles; ++k) {
      // Causal tiles grow with their index; visiting them 0, last, 1, last-1, ...
      // gives each of the pool's contiguous ranges a mix of short and long ones.
      const int64_t tile = k % 2 == 0 ? k / 2 : n_tiles - 1 - k / 2;
      const int64_t t0 = tile * tile_tokens, nt = std::min(tile_tokens, seqs[i].n_tokens - t0);
      for (int64_t h = 0; h < n_kv; ++h) items.push_back({i, t0, nt, h});
    }
  }
  const auto n_items = static_cast<int64_t>(items.size());
  const TileItem* item_list = items.data();
  pool.parallel_for(n_items, 1, [&](int64_t begin, int64_t end, int) {
    const int64_t max_rows = tile_tokens * group;
    // Chunk state (m, l, acc) and the running result (M, L, O) of each row.
    const TileScratch s = make_tile_scratch(kv, max_rows, true, /*with_running=*/true);
    for (int64_t w = begin; w < end; ++w) {
      const TileItem& it = item_list[w];
      const AttentionSeq& sq = seqs[it.seq];
      const KvLayerView sv = view_of(kv, sq);
      const int64_t rows = it.nt * group, pos_first = sq.pos0 + it.t0;
      const int64_t pos_last = last_seen(pos_first + it.nt - 1, sq, variant);  // the tile's furthest visible position
      const float* tq = q + ((sq.row0 + it.t0) * n_head + it.kv_head * group) * d;
      // The first chunk goes straight into the running result (from a fresh
      // state either way); a row that sees none of it stays empty, and merging a
      // later chunk into an empty result copies it exactly, so every row's bits
      // are those of the row alone.
      const int64_t c0 = first_chunk(pos_first, chunk, variant);
      reset_state(s.run_m, s.run_l, s.run_o, rows, d);
      AttentionTile t{tq, n_head * d, it.nt, group, pos_first, scale, variant.window, variant.softcap,
                      variant.causal ? -1 : pos_last, s.run_m, s.run_l, s.run_o, s.k_buf, s.v_buf, s.s_buf};
      fn(sv, it.kv_head, c0 * chunk, std::min((c0 + 1) * chunk, pos_last + 1), t);
      for (int64_t c = c0 + 1; c < chunks_to(pos_last, chunk); ++c) {
        reset_state(s.m, s.l, s.acc, rows, d);
        t.m = s.m;
        t.l = s.l;
        t.acc = s.acc;
        fn(sv, it.kv_head, c * chunk, std::min((c + 1) * chunk, pos_last + 1), t);
        for (int64_t r = 0; r < rows; ++r)
          merge_chunk(s.run_m[r], s.run_l[r], s.run_o + r * d, s.m[r], s.l[r], s.acc + r * d, d);
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* o = out + ((sq.row0 + it.t0 + r / group) * n_head + it.kv_head * group + r % group) * d;
        const float inv = 1.0f / s.run_l[r];
        for (int64_t j = 0; j < d; ++j) o[j] = s.run_o[r * d + j] * inv;
      }
    }
  });
}

struct SplitItem {
  int64_t seq, tok, kv_head, chunk;
  size_t part;  // offset of its partial (m, l, acc per query head) in the partials
};

// Split-KV (flash-decoding): every (token, kv head) row group's chunks are work
// items of their own, whose partial (m, l, acc) are then merged in chunk order
// with merge_chunk, exactly as a tile merges them.
void run_split(AttentionTileFn fn, ThreadPool& pool, const float* q, int64_t n_head, const KvLayerView& kv,
               const AttentionSeq* seqs, int64_t n_seqs, float scale, float* out, int64_t chunk,
               const AttentionVariant& variant) {
  const int64_t n_kv = kv.n_head_kv, group = n_head / n_kv, d = kv.head_dim;
  const size_t part_floats = static_cast<size_t>(group * (2 + d));
  thread_local std::vector<SplitItem> items;  // the caller's, like the partials
  thread_local std::vector<int64_t> first_item;  // per (sequence, token, kv head): its chunk 0 item
  items.clear();
  first_item.clear();
  size_t parts = 0;
  for (int64_t i = 0; i < n_seqs; ++i)
    for (int64_t t = 0; t < seqs[i].n_tokens; ++t)
      for (int64_t h = 0; h < n_kv; ++h) {
        first_item.push_back(static_cast<int64_t>(items.size()));
        for (int64_t c = first_chunk(seqs[i].pos0 + t, chunk, variant);
             c < chunks_to(last_seen(seqs[i].pos0 + t, seqs[i], variant), chunk); ++c, parts += part_floats)
          items.push_back({i, t, h, c, parts});
      }
  first_item.push_back(static_cast<int64_t>(items.size()));
  float* partials = split_partials(parts);
  const SplitItem* item_list = items.data();
  pool.parallel_for(static_cast<int64_t>(items.size()), 1, [&](int64_t begin, int64_t end, int) {
    const TileScratch s = make_tile_scratch(kv, group, false, false);
    for (int64_t w = begin; w < end; ++w) {
      const SplitItem& it = item_list[w];
      const AttentionSeq& sq = seqs[it.seq];
      const int64_t pos = sq.pos0 + it.tok, last = last_seen(pos, sq, variant);
      float* m = partials + it.part;
      float* l = m + group;
      float* acc = l + group;
      reset_state(m, l, acc, group, d);
      const AttentionTile t{q + ((sq.row0 + it.tok) * n_head + it.kv_head * group) * d,
                            n_head * d,
                            1,
                            group,
                            pos,
                            scale,
                            variant.window,
                            variant.softcap,
                            variant.causal ? -1 : last,
                            m,
                            l,
                            acc,
                            s.k_buf,
                            s.v_buf,
                            s.s_buf};
      fn(view_of(kv, sq), it.kv_head, it.chunk * chunk, std::min((it.chunk + 1) * chunk, last + 1), t);
    }
  });
  const int64_t n_groups = static_cast<int64_t>(first_item.size()) - 1;
  const int64_t* firsts = first_item.data();
  pool.parallel_for(n_groups, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t gi = begin; gi < end; ++gi) {
      const SplitItem& head = item_list[firsts[gi]];
      const AttentionSeq& sq = seqs[head.seq];
      for (int64_t g = 0; g < group; ++g) {
        float* o = out + ((sq.row0 + head.tok) * n_head + head.kv_head * group + g) * d;
        // The first chunk is the running result, then the others merge in order.
        const float* p0 = partials + head.part;
        float M = p0[g], L = p0[group + g];
        std::copy_n(p0 + 2 * group + g * d, d, o);
        for (int64_t w = firsts[gi] + 1; w < firsts[gi + 1]; ++w) {
          const float* p = partials + item_list[w].part;
          merge_chunk(M, L, o, p[g], p[group + g], p + 2 * group + g * d, d);
        }
        const float inv = 1.0f / L;
        for (int64_t j = 0; j < d; ++j) o[j] *= inv;
      }
    }
  });
}

}  // namespace

void reserve_attention_scratch(const KvLayerView& kv, int64_t n_head) {
  const int64_t group = std::max<int64_t>(1, n_head / std::max<int64_t>(1, kv.n_head_kv));
  make_tile_scratch(kv, std::max(kTileRows, group), true, true);
}

bool kv_type_supported(DType type, int64_t head_dim) {
  if (head_dim <= 0) return false;
  return type == DType::F32 || type == DType::F16 || (type == DType::Q8_0 && head_dim % 32 == 0);
}

AttentionSchedule choose_attention_schedule(int n_threads, int64_t n_head, const KvLayerView& kv,
                                            const AttentionSeq* seqs, int64_t n_seqs) {
  AttentionSchedule s;
  const int64_t group = std::max<int64_t>(1, n_head / std::max<int64_t>(1, kv.n_head_kv));
  int64_t max_tokens = 1, rows = 0, longest_chunks = 1;
  for (int64_t i = 0; i < n_seqs; ++i) {
    max_tokens = std::max(max_tokens, seqs[i].n_tokens);
    rows += seqs[i].n_tokens;
    if (seqs[i].n_tokens > 0)
      longest_chunks = std::max(longest_chunks, chunks_to(seqs[i].pos0 + seqs[i].n_tokens - 1, kKvChunkPositions));
  }
  s.tile_tokens = std::clamp<int64_t>(kTileRows / group, 1, max_tokens);
  // Few (token, kv head) items and long caches: give the chunks to the threads.
  const int64_t items = rows * kv.n_head_kv;
  s.split = n_threads > 1 && max_tokens == 1 && items < static_cast<int64_t>(n_threads) * kItemsPerThread &&
                    longest_chunks > 1
                ? 1
                : 0;
  return s;
}

void attention_with(const KernelTable& table, ThreadPool& pool, const float* q, int64_t n_head,
                    const KvLayerView& kv, const AttentionSeq* seqs, int64_t n_seqs, float scale, float* out,
                    const AttentionSchedule* schedule, const AttentionVariant& variant) {
  check_arguments(n_head, kv, seqs, n_seqs);
  if (!variant.causal && variant.window > 0) fail("attention: a sliding window needs causal attention");
  AttentionSchedule s = choose_attention_schedule(pool.size(), n_head, kv, seqs, n_seqs);
  if (schedule && schedule->tile_tokens > 0) s.tile_tokens = schedule->tile_tokens;
  if (schedule && schedule->split >= 0) s.split = schedule->split;
  const int64_t chunk = schedule && schedule->chunk_positions > 0 ? schedule->chunk_positions : kKvChunkPositions;
  if (chunk % kv.block_size != 0)
    fail("attention: KV chunks of {} positions are not whole blocks of {}", chunk, kv.block_size);
  int64_t rows = 0;
  for (int64_t i = 0; i < n_seqs; ++i) rows += seqs[i].n_tokens;
  if (rows == 0) return;
  if (s.split > 0)
    run_split(table.attention_tile, pool, q, n_head, kv, seqs, n_seqs, scale, out, chunk, variant);
  else
    run_tiles(table.attention_tile, pool, q, n_head, kv, seqs, n_seqs, scale, out, s.tile_tokens, chunk, variant);
}

void attention_with(const KernelTable& table, ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head,
                    int64_t pos0, const KvLayerView& kv, float scale, float* out, const AttentionSchedule* schedule,
                    const AttentionVariant& variant) {
  const AttentionSeq seq{0, n_tokens, pos0, kv.block_table};
  attention_with(table, pool, q, n_head, kv, &seq, 1, scale, out, schedule, variant);
}

}  // namespace tessera::kernels
