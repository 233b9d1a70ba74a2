// Every tier's attention against a naive reference (the whole softmax row
// materialised, in double) on a paged cache with a scrambled block table: odd
// head counts and lengths, prefill from position 0 and later, decode with and
// without split-KV on 1 and 3 threads; F16 and Q8_0 caches against the F32
// result within what their rounding allows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "core/error.h"
#include "kernel_test_util.h"
#include "kernels/attention.h"

namespace tessera::kernels {
namespace {

using test::PerIsa;

constexpr int64_t kBlock = 32;

// A paged cache of n_pos positions holding K and V (n_pos x n_kv x d floats,
// position-major) in the given types; physical blocks in a shuffled order.
struct PagedCache {
  PagedCache(const std::vector<float>& K, const std::vector<float>& V, int64_t n_pos, int64_t n_kv, int64_t d,
             DType k_type, DType v_type)
      : k_bytes(row_bytes(k_type, d)), v_bytes(row_bytes(v_type, d)) {
    const int64_t n_blocks = (n_pos + kBlock - 1) / kBlock;
    table.resize(static_cast<size_t>(n_blocks));
    std::iota(table.begin(), table.end(), 0);
    std::shuffle(table.begin(), table.end(), std::mt19937(11));
    const size_t rows = static_cast<size_t>(n_blocks * n_kv * kBlock);
    // Unused slots hold garbage bytes: the kernels must not let them through.
    k.assign(rows * k_bytes, 0x7f);
    v.assign(rows * v_bytes, 0xff);
    for (int64_t p = 0; p < n_pos; ++p)
      for (int64_t h = 0; h < n_kv; ++h) {
        const size_t row = static_cast<size_t>((table[p / kBlock] * n_kv + h) * kBlock + p % kBlock);
        ref::quantize_row(k_type, K.data() + (p * n_kv + h) * d, k.data() + row * k_bytes, d);
        ref::quantize_row(v_type, V.data() + (p * n_kv + h) * d, v.data() + row * v_bytes, d);
      }
    view = {k.data(), v.data(), table.data(), kBlock, n_kv, d, k_type, v_type};
  }

  size_t k_bytes, v_bytes;
  std::vector<int32_t> table;
  std::vector<uint8_t> k, v;
  KvLayerView view;
};

// What a format stores for each row of x (n_rows x d): quantize, dequantize.
std::vector<float> round_through(DType type, const std::vector<float>& x, int64_t d) {
  std::vector<float> out(x.size());
  std::vector<uint8_t> row(row_bytes(type, d));
  for (size_t r = 0; r < x.size() / static_cast<size_t>(d); ++r) {
    ref::quantize_row(type, x.data() + r * d, row.data(), d);
    ref::dequantize_row(type, row.data(), out.data() + r * d, d);
  }
  return out;
}

// softmax(scale q.K^T) V with the whole score row, in double; with a window,
// over the last `window` positions only; with a softcap, each scaled score s
// as softcap * tanh(s / softcap); bidirectional (not causal): every token over
// all positions 0 .. pos0 + n_tok - 1.
std::vector<double> naive_attention(const std::vector<float>& q, int64_t n_tok, int64_t n_head, int64_t pos0,
                                    const std::vector<float>& K, const std::vector<float>& V, int64_t n_kv,
                                    int64_t d, float scale, const AttentionVariant& variant = {}) {
  std::vector<double> out(q.size());
  const int64_t group = n_head / n_kv;
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t h = 0; h < n_head; ++h) {
      const int64_t n_pos = variant.causal ? pos0 + t + 1 : pos0 + n_tok, kh = h / group;
      const int64_t first = variant.window > 0 ? std::max<int64_t>(0, n_pos - variant.window) : 0;
      const float* qr = q.data() + (t * n_head + h) * d;
      std::vector<double> s(static_cast<size_t>(n_pos), -INFINITY);
      for (int64_t p = first; p < n_pos; ++p) {
        double dot = 0;
        for (int64_t i = 0; i < d; ++i) dot += double(qr[i]) * K[(p * n_kv + kh) * d + i];
        s[p] = variant.softcap > 0 ? variant.softcap * std::tanh(dot * scale / variant.softcap) : dot * scale;
      }
      const double mx = *std::max_element(s.begin(), s.end());
      double z = 0;
      for (auto& x : s) z += (x = std::exp(x - mx));
      for (int64_t i = 0; i < d; ++i) {
        double o = 0;
        for (int64_t p = first; p < n_pos; ++p) o += s[p] / z * V[(p * n_kv + kh) * d + i];
        out[(t * n_head + h) * d + i] = o;
      }
    }
  return out;
}

struct Shape {
  int64_t d, n_kv, group, n_pos, pos0;  // tokens at positions pos0 .. n_pos - 1
  int64_t n_tok() const { return n_pos - pos0; }
  int64_t n_head() const { return n_kv * group; }
};

std::string describe(const Shape& s) {
  return "d=" + std::to_string(s.d) + " heads=" + std::to_string(s.n_head()) + "/" + std::to_string(s.n_kv) +
         " positions " + std::to_string(s.pos0) + ".." + std::to_string(s.n_pos - 1);
}

// Shapes of prefill (from 0 and later) and decode on lengths that are not
// multiples of the block, for every head size and GQA group.
std::vector<Shape> shapes() {
  std::vector<Shape> out;
  const std::pair<int64_t, int64_t> spans[] = {{1, 0}, {31, 0}, {33, 0}, {100, 37}, {257, 201}};
  for (int64_t d : {32, 64, 128})
    for (int64_t group : {1, 2, 4, 8}) {
      const int64_t n_kv = group == 8 ? 1 : 2;
      for (auto [n_pos, pos0] : spans) {
        out.push_back({d, n_kv, group, n_pos, pos0});  // prefill
        if (n_pos > 1) out.push_back({d, n_kv, group, n_pos, n_pos - 1});  // decode
      }
    }
  return out;
}

struct Inputs {
  std::vector<float> q, K, V;
  float scale;
};

Inputs inputs(const Shape& s, uint32_t seed) {
  Inputs in;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  in.q.resize(static_cast<size_t>(s.n_tok() * s.n_head() * s.d));
  for (auto& x : in.q) x = normal(rng) * 1.5f;
  in.K = test::random_floats(static_cast<size_t>(s.n_pos * s.n_kv * s.d), seed + 1);
  in.V = test::random_floats(in.K.size(), seed + 2);
  in.scale = 1.0f / std::sqrt(static_cast<float>(s.d));
  return in;
}

float max_abs_diff(const std::vector<float>& got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < got.size(); ++i) m = std::max(m, std::fabs(got[i] - want[i]));
  return static_cast<float>(m);
}

// The naive reference on K and V as a cache of (k_type, v_type) stores them.
std::vector<double> expected(const Shape& s, const Inputs& in, DType k_type = DType::F32, DType v_type = DType::F32) {
  return naive_attention(in.q, s.n_tok(), s.n_head(), s.pos0, round_through(k_type, in.K, s.d),
                         round_through(v_type, in.V, s.d), s.n_kv, s.d, in.scale);
}

class AttentionTest : public PerIsa {
 protected:
  std::vector<float> run(ThreadPool& pool, const Shape& s, const Inputs& in, const KvLayerView& kv,
                         const AttentionSchedule* schedule = nullptr, const AttentionVariant& variant = {}) {
    std::vector<float> out(in.q.size(), std::nanf(""));
    attention_with(table(), pool, in.q.data(), s.n_tok(), s.n_head(), s.pos0, kv, in.scale, out.data(), schedule,
                   variant);
    return out;
  }
  void rows_do_not_depend_on_the_batch_or_the_schedule(const AttentionVariant& variant);
};
TESSERA_INSTANTIATE_PER_ISA(AttentionTest);

// Float accumulation and exp against double: outputs are averages of values in [-1, 1].
constexpr float kF32Tolerance = 2e-5f;

TEST_P(AttentionTest, F32CacheMatchesNaiveReference) {
  ThreadPool one(1), three(3);
  uint32_t seed = 1;
  for (const Shape& s : shapes()) {
    SCOPED_TRACE(describe(s));
    const Inputs in = inputs(s, seed++);
    const PagedCache cache(in.K, in.V, s.n_pos, s.n_kv, s.d, DType::F32, DType::F32);
    const auto want = expected(s, in);
    EXPECT_LT(max_abs_diff(run(one, s, in, cache.view), want), kF32Tolerance);
    EXPECT_LT(max_abs_diff(run(three, s, in, cache.view), want), kF32Tolerance);
    // Other tile heights than the default, including one that leaves a short last tile.
    for (int64_t tile : {1, 3}) {
      const AttentionSchedule sched{tile, 0};
      EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, &sched), want), kF32Tolerance) << "tile " << tile;
    }
  }
}

// Sliding windows (shorter than a block, a block, across chunk boundaries,
// longer than the cache) and logit softcapping, on the tiled and split paths.
TEST_P(AttentionTest, WindowAndSoftcapMatchNaiveReference) {
  ThreadPool three(3);
  uint32_t seed = 300;
  const AttentionVariant variants[] = {{1, 0}, {17, 0}, {32, 0}, {100, 0}, {400, 0}, {0, 5.0f}, {40, 2.0f}};
  for (const Shape& s : shapes()) {
    if (s.d != 64) continue;
    SCOPED_TRACE(describe(s));
    const Inputs in = inputs(s, seed++);
    const PagedCache cache(in.K, in.V, s.n_pos, s.n_kv, s.d, DType::F32, DType::F32);
    for (const AttentionVariant& v : variants) {
      SCOPED_TRACE("window " + std::to_string(v.window) + " softcap " + std::to_string(v.softcap));
      const auto want = naive_attention(in.q, s.n_tok(), s.n_head(), s.pos0, in.K, in.V, s.n_kv, s.d, in.scale, v);
      const AttentionSchedule tiles{3, 0}, split{0, 1, 64};
      EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, nullptr, v), want), kF32Tolerance);
      EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, &tiles, v), want), kF32Tolerance);
      if (s.n_tok() == 1) {
        EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, &split, v), want), kF32Tolerance);
      }
    }
  }
}

// Split-KV forced on every decode shape, on 1 thread and on 3 (uneven shares),
// with KV chunks of one block up to the default length.
TEST_P(AttentionTest, SplitKvDecodeMatchesNaiveReference) {
  ThreadPool one(1), three(3);
  uint32_t seed = 100;
  for (const Shape& s : shapes()) {
    if (s.n_tok() > 1) continue;
    SCOPED_TRACE(describe(s));
    const Inputs in = inputs(s, seed++);
    const PagedCache cache(in.K, in.V, s.n_pos, s.n_kv, s.d, DType::F32, DType::F32);
    const auto want = expected(s, in);
    for (int64_t chunk : {32, 64, 96, 256}) {
      const AttentionSchedule sched{0, 1, chunk};
      EXPECT_LT(max_abs_diff(run(one, s, in, cache.view, &sched), want), kF32Tolerance) << chunk << " positions";
      EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, &sched), want), kF32Tolerance) << chunk << " positions";
    }
  }
  // A few tokens at once (speculative decoding's shape): items of different lengths.
  const Shape s{64, 2, 4, 70, 66};
  const Inputs in = inputs(s, 7);
  const PagedCache cache(in.K, in.V, s.n_pos, s.n_kv, s.d, DType::F32, DType::F32);
  const auto want = expected(s, in);
  const AttentionSchedule sched{0, 1, 32};
  EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, &sched), want), kF32Tolerance);
}

// Bidirectional attention (an encoder's): every row sees the whole sequence,
// on every tile height, with split-KV where it applies, with and without a
// softcap, on F32 and F16 caches.
TEST_P(AttentionTest, BidirectionalMatchesNaiveReference) {
  ThreadPool one(1), three(3);
  uint32_t seed = 700;
  for (const Shape& s : shapes()) {
    SCOPED_TRACE(describe(s));
    const Inputs in = inputs(s, seed++);
    const PagedCache cache(in.K, in.V, s.n_pos, s.n_kv, s.d, DType::F32, DType::F32);
    for (const AttentionVariant& v : {AttentionVariant{0, 0, false}, AttentionVariant{0, 3.0f, false}}) {
      SCOPED_TRACE("softcap " + std::to_string(v.softcap));
      const auto want = naive_attention(in.q, s.n_tok(), s.n_head(), s.pos0, in.K, in.V, s.n_kv, s.d, in.scale, v);
      EXPECT_LT(max_abs_diff(run(one, s, in, cache.view, nullptr, v), want), kF32Tolerance);
      for (int64_t tile : {1, 3}) {
        const AttentionSchedule sched{tile, 0};
        EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, &sched, v), want), kF32Tolerance) << "tile " << tile;
      }
      const AttentionSchedule split{0, 1, 32};
      EXPECT_LT(max_abs_diff(run(three, s, in, cache.view, &split, v), want), kF32Tolerance) << "split";
    }
  }
  const Shape s{64, 2, 4, 300, 0};
  const Inputs in = inputs(s, 9);
  const PagedCache f16(in.K, in.V, s.n_pos, s.n_kv, s.d, DType::F16, DType::F16);
  const AttentionVariant v{0, 0, false};
  const auto want = naive_attention(in.q, s.n_tok(), s.n_head(), s.pos0, round_through(DType::F16, in.K, s.d),
                                    round_through(DType::F16, in.V, s.d), s.n_kv, s.d, in.scale, v);
  EXPECT_LT(max_abs_diff(run(three, s, in, f16.view, nullptr, v), want), kF32Tolerance);
}

TEST(AttentionSchedule, SplitsLongDecodeOnlyWhenThreadsWouldIdle) {
  KvLayerView kv;
  kv.block_size = 32;
  kv.n_head_kv = 4;
  kv.head_dim = 64;
  const int32_t table[1] = {};
  auto schedule = [&](int threads, int64_t n_tokens, int64_t pos0, int64_t n_seqs = 1) {
    const std::vector<AttentionSeq> seqs(static_cast<size_t>(n_seqs), AttentionSeq{0, n_tokens, pos0, table});
    return choose_attention_schedule(threads, 32, kv, seqs.data(), n_seqs);
  };
  EXPECT_EQ(schedule(2, 1, 511).split, 1);        // decode at 512: 4 items, 2 threads, 2 chunks
  EXPECT_EQ(schedule(2, 1, 511, 4).split, 0);     // four sequences decoding: 16 items
  EXPECT_EQ(schedule(1, 1, 511).split, 0);        // one thread: nothing to gain
  EXPECT_EQ(schedule(2, 1, 200).split, 0);        // one chunk: nothing to split
  EXPECT_EQ(schedule(2, 512, 0).split, 0);        // prefill: tiles
  EXPECT_EQ(schedule(2, 512, 0).tile_tokens, 4);  // 4 tokens x 8 heads = 32 rows
}

// The batched engine's promise at the kernel: a row's output is the same bits
// whether its sequence runs alone or among others (anywhere in the batch), in
// tiles of any height, split over KV chunks or not, on 1 or 3 threads.
TEST_P(AttentionTest, RowsDoNotDependOnTheBatchOrTheSchedule) {
  for (const AttentionVariant& variant : {AttentionVariant{}, AttentionVariant{100, 0}, AttentionVariant{33, 20.0f}})
    rows_do_not_depend_on_the_batch_or_the_schedule(variant);
}

void AttentionTest::rows_do_not_depend_on_the_batch_or_the_schedule(const AttentionVariant& variant) {
  SCOPED_TRACE("window " + std::to_string(variant.window) + " softcap " + std::to_string(variant.softcap));
  ThreadPool one(1), three(3);
  const int64_t d = 64, n_kv = 2, group = 4, n_head = n_kv * group;
  // Sequences (positions pos0 .. n_pos - 1): prompts, decodes past a chunk, a short one.
  const std::pair<int64_t, int64_t> spans[] = {{300, 0}, {600, 599}, {40, 37}, {530, 500}, {257, 256}};
  std::vector<Inputs> in;
  std::vector<PagedCache> caches;
  caches.reserve(std::size(spans));
  uint32_t seed = 500;
  for (auto [n_pos, pos0] : spans) {
    const Shape s{d, n_kv, group, n_pos, pos0};
    in.push_back(inputs(s, seed++));
    caches.emplace_back(in.back().K, in.back().V, n_pos, n_kv, d, DType::F16, DType::F16);
  }
  const float scale = in[0].scale;
  // Each sequence alone, one token at a time, on one thread, tiles of 1 token.
  std::vector<std::vector<float>> alone;
  for (size_t i = 0; i < std::size(spans); ++i) {
    const auto [n_pos, pos0] = spans[i];
    std::vector<float> out(in[i].q.size());
    const AttentionSchedule tiles{1, 0};
    for (int64_t t = 0; t < n_pos - pos0; ++t)
      attention_with(table(), one, in[i].q.data() + t * n_head * d, 1, n_head, pos0 + t, caches[i].view, scale,
                     out.data() + t * n_head * d, &tiles, variant);
    alone.push_back(std::move(out));
  }
  // All together, in a scrambled order of sequences, under several schedules.
  const size_t order[] = {3, 0, 4, 2, 1};
  std::vector<float> q;
  std::vector<AttentionSeq> seqs;
  for (size_t i : order) {
    const auto [n_pos, pos0] = spans[i];
    seqs.push_back({static_cast<int64_t>(q.size()) / (n_head * d), n_pos - pos0, pos0, caches[i].view.block_table});
    q.insert(q.end(), in[i].q.begin(), in[i].q.end());
  }
  // The layer's storage differs per sequence here (each test cache owns its
  // bytes), so the sequences run one call each but share the schedule.
  for (const AttentionSchedule& sched : {AttentionSchedule{}, AttentionSchedule{3, 0}, AttentionSchedule{0, 1}})
    for (ThreadPool* pool : {&one, &three}) {
      std::vector<float> out(q.size(), std::nanf(""));
      for (size_t k = 0; k < seqs.size(); ++k)
        attention_with(table(), *pool, q.data(), n_head, caches[order[k]].view, &seqs[k], 1, scale, out.data(),
                       &sched, variant);
      for (size_t k = 0; k < seqs.size(); ++k) {
        const std::vector<float>& want = alone[order[k]];
        ASSERT_EQ(0, std::memcmp(out.data() + seqs[k].row0 * n_head * d, want.data(), want.size() * sizeof(float)))
            << "sequence " << order[k] << " split " << sched.split << " tile " << sched.tile_tokens << " threads "
            << pool->size();
      }
    }
}

// Several sequences in one call over one layer's storage, each through its own
// block table, match each run alone bit for bit.
TEST_P(AttentionTest, SequencesShareOneStorageThroughTheirTables) {
  ThreadPool two(2);
  const int64_t d = 32, n_kv = 1, group = 2, n_head = 2, n_pos = 96;
  const Shape s{d, n_kv, group, n_pos, 0};
  const Inputs in = inputs(s, 900);
  const PagedCache cache(in.K, in.V, n_pos, n_kv, d, DType::F32, DType::F32);
  // Sequence A: all 96 positions; B: the same first two blocks, one query at 63.
  const std::vector<float> want_a = run(two, s, in, cache.view);
  std::vector<float> q(in.q);
  q.insert(q.end(), in.q.begin() + 63 * n_head * d, in.q.begin() + 64 * n_head * d);
  const AttentionSeq seqs[] = {{0, n_pos, 0, cache.table.data()}, {n_pos, 1, 63, cache.table.data()}};
  std::vector<float> out(q.size());
  attention_with(table(), two, q.data(), n_head, cache.view, seqs, 2, in.scale, out.data());
  EXPECT_EQ(0, std::memcmp(out.data(), want_a.data(), want_a.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(out.data() + n_pos * n_head * d, want_a.data() + 63 * n_head * d, n_head * d * sizeof(float)));
}

// F16 and Q8_0 caches: (1) the kernel reads the format exactly, i.e. matches the
// naive reference on the rounded K and V; (2) against the F32 result, within
// what the rounding can move an output: |dv| directly, plus |ds| <= scale *
// |q|_1 * max|dk| moving the softmax weights by at most 2 max|ds| times max|v|.
TEST_P(AttentionTest, F16AndQ8_0CachesWithinTheirRounding) {
  ThreadPool three(3);
  uint32_t seed = 200;
  for (DType type : {DType::F16, DType::Q8_0}) {
    // Half an ulp of 1 for F16 (values in [-1, 1]); half a step of amax / 127 for Q8_0.
    const double max_err = type == DType::F16 ? std::ldexp(1.0, -11) : 1.0 / 254;
    for (const Shape& s : shapes()) {
      if (s.d != 64 && s.n_pos != 100) continue;  // every shape at d = 64, every d at 100 positions
      SCOPED_TRACE(describe(s) + " " + std::string(dtype_name(type)));
      const Inputs in = inputs(s, seed++);
      const PagedCache f32(in.K, in.V, s.n_pos, s.n_kv, s.d, DType::F32, DType::F32);
      const PagedCache typed(in.K, in.V, s.n_pos, s.n_kv, s.d, type, type);
      const auto got = run(three, s, in, typed.view);
      const auto exact = expected(s, in, type, type);
      EXPECT_LT(max_abs_diff(got, exact), kF32Tolerance);

      const auto base = run(three, s, in, f32.view);
      for (int64_t r = 0; r < s.n_tok() * s.n_head(); ++r) {
        double q1 = 0;
        for (int64_t i = 0; i < s.d; ++i) q1 += std::fabs(in.q[r * s.d + i]);
        const double bound = max_err + 2 * in.scale * q1 * max_err + kF32Tolerance;
        for (int64_t i = 0; i < s.d; ++i)
          ASSERT_LE(std::fabs(got[r * s.d + i] - base[r * s.d + i]), bound) << "row " << r << " dim " << i;
      }
    }
  }
}

// Mixed types (llama.cpp allows -ctk and -ctv to differ) and a K/V pair where
// only one of them is quantised.
TEST_P(AttentionTest, MixedCacheTypes) {
  ThreadPool two(2);
  const Shape s{64, 2, 4, 100, 37};
  const Inputs in = inputs(s, 300);
  for (auto [kt, vt] : {std::pair{DType::F16, DType::Q8_0}, std::pair{DType::Q8_0, DType::F32}}) {
    SCOPED_TRACE(std::string(dtype_name(kt)) + "/" + std::string(dtype_name(vt)));
    const PagedCache cache(in.K, in.V, s.n_pos, s.n_kv, s.d, kt, vt);
    const auto want = expected(s, in, kt, vt);
    EXPECT_LT(max_abs_diff(run(two, s, in, cache.view), want), kF32Tolerance);
  }
}

// Head sizes that are not a multiple of 8 (the AVX2 tile hands them to the
// generic one) and a cache made of one partial block.
TEST_P(AttentionTest, OddHeadSizes) {
  ThreadPool two(2);
  for (int64_t d : {4, 9, 20}) {
    const Shape s{d, 3, 2, 45, 10};
    SCOPED_TRACE(describe(s));
    const Inputs in = inputs(s, 400 + static_cast<uint32_t>(d));
    for (DType type : {DType::F32, DType::F16}) {
      const PagedCache cache(in.K, in.V, s.n_pos, s.n_kv, s.d, type, type);
      const auto want = expected(s, in, type, type);
      EXPECT_LT(max_abs_diff(run(two, s, in, cache.view), want), kF32Tolerance);
    }
  }
}

TEST(Attention, RefusesWhatItCannotRead) {
  ThreadPool pool(1);
  std::vector<uint8_t> bytes(4096);
  const int32_t table[] = {0};
  float q[48] = {}, out[48];
  KvLayerView kv{bytes.data(), bytes.data(), table, 32, 1, 48, DType::Q8_0, DType::F16};
  EXPECT_THROW(attention(pool, q, 1, 1, 0, kv, 1.0f, out), Error);  // Q8_0 rows of 48
  kv.k_type = DType::Q4_0;
  kv.head_dim = 32;
  EXPECT_THROW(attention(pool, q, 1, 1, 0, kv, 1.0f, out), Error);
  kv.k_type = DType::F16;
  kv.n_head_kv = 2;
  EXPECT_THROW(attention(pool, q, 1, 3, 0, kv, 1.0f, out), Error);  // 3 query heads cannot share 2 kv heads
}

}  // namespace
}  // namespace tessera::kernels
