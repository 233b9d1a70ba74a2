// Scheduling of attention, the same for every tier: which query rows and cache
// positions make one work item, which thread runs it, and how split-KV partial
// results combine. The tier's AttentionTileFn does the arithmetic.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/dispatch.h"

namespace tessera::kernels {
namespace {

// Query rows per prefill tile: each K/V block is converted to floats once per
// tile, so more rows amortise it better; 32 rows keep the tile's output
// (32 x head_dim floats) and the converted block in L1/L2.
constexpr int64_t kTileRows = 32;
// Split the KV range when there are fewer (token, kv head) items than this
// many per thread, but give each chunk at least kMinChunkBlocks blocks.
constexpr int kItemsPerThread = 4;
constexpr int64_t kMinChunkBlocks = 2;

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
// for the kernel, then m, l and acc when `with_state`.
struct TileScratch {
  float *k_buf, *v_buf, *s_buf, *m, *l, *acc;
};

TileScratch make_tile_scratch(const KvLayerView& kv, int64_t rows, bool with_state) {
  const size_t kv_floats = round8(kv.block_size * kv.head_dim);
  const size_t s_floats = round8(rows * kv.block_size);
  const size_t state = with_state ? 2 * round8(rows) + round8(rows * kv.head_dim) : 0;
  float* p = tile_scratch(2 * kv_floats + s_floats + state);
  TileScratch s{};
  s.k_buf = p;
  s.v_buf = p + kv_floats;
  s.s_buf = s.v_buf + kv_floats;
  if (with_state) {
    s.m = s.s_buf + s_floats;
    s.l = s.m + round8(rows);
    s.acc = s.l + round8(rows);
  }
  return s;
}

void reset_state(float* m, float* l, float* acc, int64_t rows, int64_t d) {
  std::fill(m, m + rows, kNegInf);
  std::fill(l, l + rows, 0.0f);
  std::fill(acc, acc + rows * d, 0.0f);
}

void check_arguments(int64_t n_tokens, int64_t n_head, int64_t pos0, const KvLayerView& kv) {
  if (n_tokens < 0 || pos0 < 0) fail("attention: negative size ({} tokens at position {})", n_tokens, pos0);
  if (kv.n_head_kv <= 0 || kv.head_dim <= 0 || n_head <= 0 || n_head % kv.n_head_kv != 0)
    fail("attention: {} query heads cannot share {} kv heads of size {}", n_head, kv.n_head_kv, kv.head_dim);
  if (kv.block_size <= 0 || kv.block_size % 8 != 0)
    fail("attention: the KV cache block size ({}) must be a positive multiple of 8", kv.block_size);
  for (DType t : {kv.k_type, kv.v_type})
    if (!kv_type_supported(t, kv.head_dim))
      fail("attention: no kernel for a {} KV cache with head size {}", dtype_name(t), kv.head_dim);
}

// Tiles of `tile_tokens` tokens x all query heads of one kv head, each over
// every position it may see, then normalised into out.
void run_tiles(AttentionTileFn fn, ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head,
               int64_t pos0, const KvLayerView& kv, float scale, float* out, int64_t tile_tokens) {
  const int64_t n_kv = kv.n_head_kv, group = n_head / n_kv, d = kv.head_dim;
  const int64_t n_tiles = (n_tokens + tile_tokens - 1) / tile_tokens;
  pool.parallel_for(n_tiles * n_kv, 1, [&](int64_t begin, int64_t end, int) {
    const TileScratch s = make_tile_scratch(kv, tile_tokens * group, true);
    for (int64_t i = begin; i < end; ++i) {
      // Causal tiles grow with their index; visiting them 0, last, 1, last-1, ...
      // gives each of the pool's contiguous ranges a mix of short and long ones.
      const int64_t k = i / n_kv, kv_head = i % n_kv;
      const int64_t tile = k % 2 == 0 ? k / 2 : n_tiles - 1 - k / 2;
      const int64_t t0 = tile * tile_tokens, nt = std::min(tile_tokens, n_tokens - t0), rows = nt * group;
      reset_state(s.m, s.l, s.acc, rows, d);
      const AttentionTile t{q + (t0 * n_head + kv_head * group) * d, n_head * d, nt, group, pos0 + t0, scale,
                            s.m, s.l, s.acc, s.k_buf, s.v_buf, s.s_buf};
      fn(kv, kv_head, 0, pos0 + t0 + nt, t);
      for (int64_t r = 0; r < rows; ++r) {
        float* o = out + ((t0 + r / group) * n_head + kv_head * group + r % group) * d;
        const float inv = 1.0f / s.l[r];
        for (int64_t j = 0; j < d; ++j) o[j] = s.acc[r * d + j] * inv;
      }
    }
  });
}

// Split-KV: each (token, kv head) item's positions in `chunks` runs of whole
// blocks, one work item each, whose partial (m, l, acc) are then merged:
// m = max m_c, l = sum l_c e^(m_c - m), out = sum acc_c e^(m_c - m) / l.
void run_split(AttentionTileFn fn, ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head, int64_t pos0,
               const KvLayerView& kv, float scale, float* out, int64_t chunks) {
  const int64_t n_kv = kv.n_head_kv, group = n_head / n_kv, d = kv.head_dim, bs = kv.block_size;
  const int64_t n_work = n_tokens * n_kv * chunks;
  const size_t part_m = 0, part_l = part_m + static_cast<size_t>(n_work * group);
  const size_t part_acc = part_l + static_cast<size_t>(n_work * group);
  float* parts = split_partials(part_acc + static_cast<size_t>(n_work * group * d));
  pool.parallel_for(n_work, 1, [&](int64_t begin, int64_t end, int) {
    const TileScratch s = make_tile_scratch(kv, group, false);
    for (int64_t w = begin; w < end; ++w) {
      const int64_t item = w / chunks, c = w % chunks, tok = item / n_kv, kv_head = item % n_kv;
      const int64_t n_pos = pos0 + tok + 1, n_blocks = (n_pos + bs - 1) / bs;
      const int64_t b0 = n_blocks * c / chunks, b1 = n_blocks * (c + 1) / chunks;
      float* m = parts + part_m + w * group;
      float* l = parts + part_l + w * group;
      float* acc = parts + part_acc + w * group * d;
      reset_state(m, l, acc, group, d);
      if (b0 == b1) continue;  // a short item: nothing in this chunk
      const AttentionTile t{q + (tok * n_head + kv_head * group) * d, n_head * d, 1, group, pos0 + tok, scale,
                            m, l, acc, s.k_buf, s.v_buf, s.s_buf};
      fn(kv, kv_head, b0 * bs, std::min(b1 * bs, n_pos), t);
    }
  });
  for (int64_t item = 0; item < n_tokens * n_kv; ++item) {
    const int64_t tok = item / n_kv, kv_head = item % n_kv;
    for (int64_t g = 0; g < group; ++g) {
      float m = kNegInf;
      for (int64_t c = 0; c < chunks; ++c) m = std::max(m, parts[part_m + (item * chunks + c) * group + g]);
      float* o = out + (tok * n_head + kv_head * group + g) * d;
      std::fill(o, o + d, 0.0f);
      float l = 0;
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t w = item * chunks + c;
        const float cm = parts[part_m + w * group + g];
        if (cm == kNegInf) continue;  // an empty chunk
        const float f = std::exp(cm - m);
        l += parts[part_l + w * group + g] * f;
        const float* acc = parts + part_acc + (w * group + g) * d;
        for (int64_t j = 0; j < d; ++j) o[j] += acc[j] * f;
      }
      const float inv = 1.0f / l;
      for (int64_t j = 0; j < d; ++j) o[j] *= inv;
    }
  }
}

}  // namespace

bool kv_type_supported(DType type, int64_t head_dim) {
  if (head_dim <= 0) return false;
  return type == DType::F32 || type == DType::F16 || (type == DType::Q8_0 && head_dim % 32 == 0);
}

AttentionSchedule choose_attention_schedule(int n_threads, int64_t n_tokens, int64_t n_head, int64_t pos0,
                                            const KvLayerView& kv) {
  AttentionSchedule s;
  const int64_t group = std::max<int64_t>(1, n_head / std::max<int64_t>(1, kv.n_head_kv));
  s.tile_tokens = std::clamp<int64_t>(kTileRows / group, 1, std::max<int64_t>(1, n_tokens));
  s.kv_chunks = 1;
  const int64_t items = n_tokens * kv.n_head_kv;
  const int64_t wanted = static_cast<int64_t>(n_threads) * kItemsPerThread;
  if (n_threads > 1 && items > 0 && items < wanted && kv.block_size > 0) {
    const int64_t shortest = (pos0 + 1 + kv.block_size - 1) / kv.block_size;  // blocks of token 0
    s.kv_chunks = std::min((wanted + items - 1) / items, shortest / kMinChunkBlocks);
    s.kv_chunks = std::max<int64_t>(1, s.kv_chunks);
  }
  return s;
}

void attention_with(const KernelTable& table, ThreadPool& pool, const float* q, int64_t n_tokens, int64_t n_head,
                    int64_t pos0, const KvLayerView& kv, float scale, float* out,
                    const AttentionSchedule* schedule) {
  check_arguments(n_tokens, n_head, pos0, kv);
  if (n_tokens == 0) return;
  AttentionSchedule s = choose_attention_schedule(pool.size(), n_tokens, n_head, pos0, kv);
  if (schedule && schedule->tile_tokens > 0) s.tile_tokens = std::min(schedule->tile_tokens, n_tokens);
  if (schedule && schedule->kv_chunks > 0) s.kv_chunks = schedule->kv_chunks;
  if (s.kv_chunks > 1)
    run_split(table.attention_tile, pool, q, n_tokens, n_head, pos0, kv, scale, out, s.kv_chunks);
  else
    run_tiles(table.attention_tile, pool, q, n_tokens, n_head, pos0, kv, scale, out, s.tile_tokens);
}

}  // namespace tessera::kernels
