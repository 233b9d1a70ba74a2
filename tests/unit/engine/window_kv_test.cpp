// Windowed layers' KV blocks (model::KvGroups): a layer group with a sliding
// window keeps a sequence's blocks only while a later row's window reaches
// them, so a long sequence's share of the pool grows with its global layers
// alone. The logits are the very bits of an engine that keeps every block:
// alone, forked (a block two sequences share stays until both let it go) and
// with a prefix taken from the cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "core/error.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "io/model_file.h"
#include "model/kv_groups.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

using engine::Engine;
using engine::SeqId;

constexpr int64_t kBlock = model::KvStorage::kBlockSize;
constexpr int64_t kWindow = 40;  // reaches back into at most two blocks

int64_t blocks_for(int64_t positions) { return (positions + kBlock - 1) / kBlock; }

// The blocks a windowed group holds for a sequence of n positions: from the
// one holding the next row's oldest visible position to the last.
int64_t window_blocks(int64_t n) { return blocks_for(n) - std::max<int64_t>(0, n - kWindow + 1) / kBlock; }

struct TinyFamilyModel {
  // window 0: no sliding_window key for llama, the context for the others.
  TinyFamilyModel(const std::string& arch, int64_t n_layer, int64_t window = kWindow) {
    test::TinyModelSpec s;
    s.arch = arch;
    s.n_layer = n_layer;
    s.n_window = window;
    s.n_ctx = 512;
    test::make_tiny_model(s).write(dir.file("m.gguf"));
    model = std::make_unique<model::Model>(std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("m.gguf"))));
  }
  test::TempDir dir;
  std::unique_ptr<model::Model> model;
};

std::vector<int32_t> tokens(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(1 + rng() % 290);
  return t;
}

engine::EngineOptions options(bool free_window_blocks, bool prefix_cache = false, int64_t n_batch = 16) {
  engine::EngineOptions o = test::engine_options(512, n_batch, 2);
  o.free_window_blocks = free_window_blocks;
  o.prefix_cache = prefix_cache;
  return o;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Logits after each of `toks`, fed as a prompt of `prompt` tokens (in steps of
// n_batch) and then one token per step; `check` sees the engine after every step.
std::vector<float> run(Engine& e, const std::vector<int32_t>& toks, int64_t prompt,
                       const std::function<void(const Engine&, SeqId)>& check = {}) {
  const SeqId s = e.add_sequence({}, /*all_logits=*/true);
  std::vector<float> out;
  auto step_all = [&] {
    while (e.info(s).n_pending > 0) {
      e.step();
      if (!e.info(s).error.empty()) fail("{}", e.info(s).error);
      int64_t rows = 0, first = 0;
      if (const float* l = e.step_logits(s, &rows, &first)) out.insert(out.end(), l, l + rows * e.n_vocab());
      if (check) check(e, s);
    }
  };
  e.feed(s, toks.data(), prompt);
  step_all();
  for (auto p = static_cast<size_t>(prompt); p < toks.size(); ++p) {
    e.feed(s, &toks[p], 1);
    step_all();
  }
  e.remove(s);
  return out;
}

TEST(KvGroups, SplitLayersByWindowIntoEqualGroups) {
  const TinyFamilyModel gemma2("gemma2", 4), gemma3("gemma3", 7), phi3("phi3", 2), llama("llama", 3, 0),
      mistral("llama", 3);
  const model::KvGroups& g2 = gemma2.model->kv_groups();  // local, global, local, global
  EXPECT_EQ(g2.group_size, 2);
  EXPECT_EQ(g2.window, (std::vector<int64_t>{kWindow, 0}));
  EXPECT_EQ(g2.layer_group, (std::vector<int32_t>{0, 1, 0, 1}));
  EXPECT_EQ(g2.layer_slot, (std::vector<int32_t>{0, 0, 1, 1}));
  const model::KvGroups& g3 = gemma3.model->kv_groups();  // five local, one global, one local
  EXPECT_EQ(g3.group_size, 1);
  EXPECT_EQ(g3.window, (std::vector<int64_t>{kWindow, kWindow, kWindow, kWindow, kWindow, 0, kWindow}));
  EXPECT_EQ(phi3.model->kv_groups().window, std::vector<int64_t>{kWindow});
  EXPECT_EQ(phi3.model->kv_groups().group_size, 2);
  EXPECT_EQ(llama.model->kv_groups().window, std::vector<int64_t>{0});
  EXPECT_EQ(llama.model->kv_groups().group_size, 3);
  // A llama file with llama.attention.sliding_window (Mistral 7B v0.1's) windows every layer.
  EXPECT_EQ(mistral.model->kv_groups().window, std::vector<int64_t>{kWindow});
  EXPECT_EQ(mistral.model->kv_groups().group_size, 3);
}

// The definition of a sliding window, on a one-layer llama with the key: the
// last position of a sequence sees only the last `window` positions, and rope
// makes attention depend on relative positions alone, so its logits are those
// of those positions run as a sequence of their own (up to the rounding of
// rope's angles at other positions). Without the key they are not.
TEST(WindowKv, ALlamaWindowSeesOnlyTheLastPositions) {
  constexpr int64_t kShort = 8;
  const TinyFamilyModel windowed("llama", 1, kShort), full("llama", 1, 0);
  const auto toks = tokens(3 * kShort + 5, 8);
  const std::vector<int32_t> last(toks.end() - kShort, toks.end());
  auto last_logits = [](const TinyFamilyModel& m, const std::vector<int32_t>& t) {
    // An F32 cache: F16 would round keys rotated to other angles differently.
    Engine e(*m.model, test::engine_options(512, 16, 2, {DType::F32, DType::F32}));
    const auto all = run(e, t, static_cast<int64_t>(t.size()));
    return std::vector<float>(all.end() - e.n_vocab(), all.end());
  };
  const auto want = last_logits(windowed, last);
  EXPECT_TRUE(same_bits(want, last_logits(full, last)));  // within the window the key changes nothing
  const auto got = last_logits(windowed, toks), unwindowed = last_logits(full, toks);
  float most = 0, most_full = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    most = std::max(most, std::abs(got[i] - want[i]));
    most_full = std::max(most_full, std::abs(unwindowed[i] - want[i]));
  }
  EXPECT_LT(most, 1e-5f) << most_full;  // measured 1e-6: float32 rope at positions 0..7 vs 21..28
  EXPECT_GT(most_full, 1e-2f);  // the positions before the window do change the full model's logits
}

// Gemma 2 (a windowed and a global group) and Phi-3 (windowed only): after
// every step the windowed group holds exactly the blocks the next row's
// window reaches; kept, every block stays. Same logits either way.
TEST(WindowKv, PoolUseOfALongSequenceFollowsTheWindow) {
  for (const char* arch : {"gemma2", "phi3"}) {
    SCOPED_TRACE(arch);
    const TinyFamilyModel m(arch, 4);
    const int64_t n_groups = m.model->kv_groups().n_groups();
    const bool has_global = std::string(arch) == "gemma2";
    const auto toks = tokens(300, 1);
    Engine freeing(*m.model, options(true)), keeping(*m.model, options(false));
    int64_t most_window_blocks = 0;
    const auto freed = run(freeing, toks, 260, [&](const Engine& e, SeqId s) {
      const int64_t n = e.info(s).n_past;
      const int64_t global = has_global ? blocks_for(n) : 0;
      EXPECT_EQ(e.pool_stats().used, global + window_blocks(n)) << "after " << n << " positions";
      most_window_blocks = std::max(most_window_blocks, e.pool_stats().used - global);
    });
    EXPECT_LE(most_window_blocks, blocks_for(kWindow) + 1);
    const auto kept = run(keeping, toks, 260, [&](const Engine& e, SeqId s) {
      EXPECT_EQ(e.pool_stats().used, n_groups * blocks_for(e.info(s).n_past));
    });
    EXPECT_TRUE(same_bits(freed, kept));
    EXPECT_EQ(freeing.pool_stats().used, 0);
  }
}

// A pool of four blocks runs a 400-position sequence of a windowed-only model
// (it would need 13 blocks kept), with the same logits as a pool that keeps all.
TEST(WindowKv, ASequenceLongerThanThePoolRunsInItsWindow) {
  const TinyFamilyModel m("phi3", 2);
  engine::EngineOptions small = options(true);
  small.kv_tokens = 4 * kBlock;
  Engine freeing(*m.model, small), keeping(*m.model, options(false));
  const auto toks = tokens(400, 2);
  EXPECT_TRUE(same_bits(run(freeing, toks, 300), run(keeping, toks, 300)));
  small.free_window_blocks = false;
  Engine full(*m.model, small);
  EXPECT_THROW(run(full, toks, 300), Error);  // the KV pool is full
}

// A fork shares the windowed blocks; each sequence lets them go as its own
// window passes them, and a block stays while either still holds it.
TEST(WindowKv, ForksKeepSharedBlocksUntilBothLetGo) {
  const TinyFamilyModel m("gemma2", 4);
  const auto prompt = tokens(100, 3), tail_a = tokens(60, 4), tail_b = tokens(60, 5);
  Engine e(*m.model, options(true));
  const SeqId a = e.add_sequence({}, true);
  e.eval(a, prompt);
  const SeqId b = e.fork(a, {});
  const int n_vocab = e.n_vocab();
  std::vector<float> got_a(e.logits(a), e.logits(a) + n_vocab), got_b = got_a;
  for (size_t i = 0; i < tail_a.size(); ++i) {
    e.feed(a, &tail_a[i], 1);
    e.feed(b, &tail_b[i], 1);
    e.step();
    got_a.insert(got_a.end(), e.logits(a), e.logits(a) + n_vocab);
    got_b.insert(got_b.end(), e.logits(b), e.logits(b) + n_vocab);
    // Two global tables (sharing the prompt's full blocks) and two windows.
    const int64_t n = e.info(a).n_past, shared_full = 100 / kBlock;
    const int64_t global = 2 * blocks_for(n) - shared_full;
    const int64_t first = std::max<int64_t>(0, n - kWindow + 1) / kBlock;
    const int64_t windows = 2 * window_blocks(n) - std::max<int64_t>(0, shared_full - first);
    EXPECT_EQ(e.pool_stats().used, global + windows) << "after " << n << " positions";
  }
  e.remove(a);
  e.remove(b);
  EXPECT_EQ(e.pool_stats().used, 0);
  // Each as an unforked sequence of an engine that keeps every block.
  Engine keeping(*m.model, options(false, false, 512));
  for (const auto* tail : {&tail_a, &tail_b}) {
    auto toks = prompt;
    toks.insert(toks.end(), tail->begin(), tail->end());
    const auto all = run(keeping, toks, 100);
    const std::vector<float> want(all.end() - static_cast<long>(61 * n_vocab), all.end());
    EXPECT_TRUE(same_bits(tail == &tail_a ? got_a : got_b, want));
  }
}

// An ended sequence's windowed blocks stay cached for their prefix: a prompt
// sharing five full blocks takes them from every group, and its logits are
// those of the prompt computed in full.
TEST(WindowKv, PrefixCacheServesWindowedGroups) {
  const TinyFamilyModel m("gemma2", 4);
  const auto first = tokens(200, 6);
  auto second = std::vector<int32_t>(first.begin(), first.begin() + 5 * kBlock);
  const auto tail = tokens(30, 7);
  second.insert(second.end(), tail.begin(), tail.end());
  Engine e(*m.model, options(true, true, 512));
  const SeqId a = e.add_sequence();
  e.eval(a, first);
  e.remove(a);
  EXPECT_EQ(e.pool_stats().used, 0);
  const SeqId b = e.add_sequence();
  const float* l = e.eval(b, second);
  EXPECT_EQ(e.info(b).cached_tokens, 5 * kBlock);
  Engine keeping(*m.model, options(false, false, 512));
  const SeqId c = keeping.add_sequence();
  EXPECT_EQ(0, std::memcmp(l, keeping.eval(c, second), static_cast<size_t>(e.n_vocab()) * sizeof(float)));
}

}  // namespace
}  // namespace tessera
