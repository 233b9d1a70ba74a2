// The batched engine: a sequence's logits are bit-identical alone or among
// others (any number, any place in the batch, any threads, chunked or not,
// cached prefix or computed); forks share blocks and split on write; the pool
// accounts for every block; a full pool fails one sequence and spares the rest.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "core/error.h"
#include "engine_test_util.h"
#include "io/model_file.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

using engine::Engine;
using engine::SeqId;

constexpr int64_t kBlock = model::KvStorage::kBlockSize;

class EngineTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    test::TinyModelSpec spec;
    spec.n_ctx = 512;
    test::make_tiny_model(spec).write(dir_->file("tiny.gguf"));
    model_ = new model::Model(std::make_shared<const io::ModelFile>(io::open_model_file(dir_->file("tiny.gguf"))));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete dir_;
  }

  static std::vector<int32_t> tokens(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = static_cast<int32_t>(1 + rng() % 290);
    return t;
  }

  // Logits after each prefix length in `at` of `toks`, the sequence alone, one
  // thread, the whole prompt in one step, then one token per step.
  static std::map<int64_t, std::vector<float>> alone(const std::vector<int32_t>& toks, int64_t prompt_len) {
    return alone(*model_, toks, prompt_len);
  }
  static std::map<int64_t, std::vector<float>> alone(const model::Model& m, const std::vector<int32_t>& toks,
                                                     int64_t prompt_len) {
    Engine e(m, test::engine_options(512, 512, 1));
    const SeqId s = e.add_sequence();
    std::map<int64_t, std::vector<float>> out;
    const int n_vocab = e.n_vocab();
    const float* l = e.eval(s, toks.data(), prompt_len);
    out[prompt_len].assign(l, l + n_vocab);
    for (auto p = static_cast<size_t>(prompt_len); p < toks.size(); ++p) {
      l = e.eval(s, &toks[p], 1);
      out[static_cast<int64_t>(p) + 1].assign(l, l + n_vocab);
    }
    return out;
  }

  static int check_among_others(const model::Model& m, const std::vector<int32_t>& target, int64_t prompt_len,
                                const std::map<int64_t, std::vector<float>>& want, int threads, int others,
                                bool cached_prefix);

  static bool same_bits(const float* a, const std::vector<float>& b) {
    return std::memcmp(a, b.data(), b.size() * sizeof(float)) == 0;
  }

  static test::TempDir* dir_;
  static model::Model* model_;
};
test::TempDir* EngineTest::dir_ = nullptr;
model::Model* EngineTest::model_ = nullptr;

// Runs `target` (its first prompt_len tokens as a prompt, then one token per
// step) among `others` other sequences of other lengths that start at other
// steps, at a given place among them, with prompts chunked at 48 tokens per
// step, its first two blocks taken from the cache when `cached_prefix`; checks
// every logits vector it gets against `want` and returns how many it checked.
int EngineTest::check_among_others(const model::Model& m, const std::vector<int32_t>& target, int64_t prompt_len,
                                   const std::map<int64_t, std::vector<float>>& want, int threads, int others,
                                   bool cached_prefix) {
  engine::EngineOptions o = test::engine_options(512, 48, threads);
  o.kv_tokens = 8192;
  Engine e(m, o);
  e.feed(e.add_sequence(), tokens(5, 99));  // something ahead of everyone
  if (cached_prefix) {
    // Another sequence computes the first 64 tokens (+1) and ends.
    const SeqId warm = e.add_sequence();
    e.eval(warm, std::vector<int32_t>(target.begin(), target.begin() + 2 * kBlock + 1));
    e.remove(warm);
  }
  std::vector<SeqId> other_ids;
  std::vector<int64_t> other_left;  // decode tokens each still feeds
  const int place = others / 2;     // the target's place among the others
  SeqId t = -1;
  for (int i = 0; i <= others; ++i) {
    if (i == place) {
      t = e.add_sequence();
      e.feed(t, std::vector<int32_t>(target.begin(), target.begin() + prompt_len));
    }
    if (i == others) break;
    other_ids.push_back(e.add_sequence());
    e.feed(other_ids.back(), tokens(3 + 29 * i % 90, 200 + static_cast<uint32_t>(i)));
    other_left.push_back(i % 4 * 3);
  }
  auto next = static_cast<size_t>(prompt_len);
  int checked = 0;
  for (int step = 0; step < 200 && next <= target.size(); ++step) {
    e.step();
    EXPECT_TRUE(e.info(t).error.empty()) << e.info(t).error;
    if (!e.info(t).error.empty()) return checked;
    if (e.info(t).n_pending == 0) {
      EXPECT_TRUE(same_bits(e.logits(t), want.at(static_cast<int64_t>(next)))) << "after " << next << " tokens";
      ++checked;
      if (next == target.size()) break;
      e.feed(t, &target[next++], 1);
    }
    for (size_t i = 0; i < other_ids.size(); ++i)  // the others decode a while, then end
      if (e.info(other_ids[i]).n_pending == 0 && other_left[i]-- > 0) {
        const int32_t tok = e.sample(other_ids[i]);
        e.feed(other_ids[i], &tok, 1);
      }
  }
  EXPECT_EQ(e.info(t).cached_tokens, cached_prefix ? 2 * kBlock : 0);
  return checked;
}

// The target sequence (a 250-token prompt, then 12 decode tokens across the
// first KV chunk's end at 256 positions) among 0, 1, 3 or 15 others, on 1 and
// 2 threads, with and without its first two blocks taken from the cache.
TEST_F(EngineTest, LogitsAreBitIdenticalAloneOrInAnyBatch) {
  const auto target = tokens(262, 1);
  const int64_t prompt_len = 250;
  const auto want = alone(target, prompt_len);
  for (int threads : {1, 2})
    for (int others : {0, 1, 3, 15})
      for (bool cached_prefix : {false, true}) {
        SCOPED_TRACE(testing::Message() << threads << " threads, " << others << " others, cached prefix "
                                        << cached_prefix);
        EXPECT_EQ(check_among_others(*model_, target, prompt_len, want, threads, others, cached_prefix), 13);
      }
}

// The same with experts (llama with 4 experts, 2 per token): the batch's tokens
// are grouped by expert, so which tokens share an expert's matmul changes with
// the batch; a token's result must not.
TEST_F(EngineTest, ExpertModelLogitsAreBitIdenticalAloneOrInAnyBatch) {
  test::TinyModelSpec spec;
  spec.n_ctx = 512;
  spec.n_expert = 4;
  spec.n_expert_used = 2;
  test::make_tiny_model(spec).write(dir_->file("moe.gguf"));
  const model::Model moe(std::make_shared<const io::ModelFile>(io::open_model_file(dir_->file("moe.gguf"))));
  const auto target = tokens(80, 3);
  const int64_t prompt_len = 70;
  const auto want = alone(moe, target, prompt_len);
  for (int threads : {1, 2})
    for (int others : {0, 3, 15})
      for (bool cached_prefix : {false, true}) {
        SCOPED_TRACE(testing::Message() << threads << " threads, " << others << " others, cached prefix "
                                        << cached_prefix);
        EXPECT_EQ(check_among_others(moe, target, prompt_len, want, threads, others, cached_prefix), 11);
      }
}

// Sequences arrive, grow, fork and end at random steps; every logits vector a
// sequence shows is the one it has run alone on the same tokens.
TEST_F(EngineTest, RandomInterleavingMatchesEachSequenceAlone) {
  std::mt19937 rng(7);
  engine::EngineOptions o = test::engine_options(512, 40, 2);
  o.kv_tokens = 8192;
  Engine e(*model_, o);
  struct Live {
    SeqId id;
    std::vector<int32_t> history;  // every token fed
    std::vector<std::pair<int64_t, std::vector<float>>> seen;  // (tokens evaluated, logits)
  };
  std::vector<Live> live, ended;
  auto check = [&](const Live& s) {
    if (s.seen.empty()) return;
    Engine solo(*model_, test::engine_options(512, 512, 1));
    const auto all = test::all_logits(solo, s.history);
    const size_t n_vocab = static_cast<size_t>(solo.n_vocab());
    for (const auto& [n, logits] : s.seen)
      ASSERT_EQ(0, std::memcmp(all.data() + static_cast<size_t>(n - 1) * n_vocab, logits.data(), n_vocab * 4))
          << "sequence " << s.id << " after " << n << " of " << s.history.size() << " tokens";
  };
  for (int step = 0; step < 60; ++step) {
    const int action = static_cast<int>(rng() % 6);
    if ((action == 0 || live.empty()) && live.size() < 8) {  // arrive
      Live s{e.add_sequence(), tokens(1 + static_cast<int>(rng() % 100), rng()), {}};
      e.feed(s.id, s.history);
      live.push_back(std::move(s));
    } else if (action == 1 && !live.empty()) {  // fork a settled sequence
      Live& p = live[rng() % live.size()];
      if (e.info(p.id).n_pending == 0 && e.logits(p.id)) {
        Live c{e.fork(p.id, {}), p.history, {}};
        live.push_back(std::move(c));
      }
    } else if (action == 2 && live.size() > 1) {  // end
      const size_t i = rng() % live.size();
      e.remove(live[i].id);
      ended.push_back(std::move(live[i]));
      live.erase(live.begin() + static_cast<long>(i));
    }
    // Settled sequences take a token: sampled (sequences diverge after forks) or a burst.
    for (Live& s : live)
      if (e.info(s.id).n_pending == 0 && e.logits(s.id) && s.history.size() < 480) {
        std::vector<int32_t> more{e.sample(s.id)};
        if (rng() % 5 == 0) {
          const auto burst = tokens(1 + static_cast<int>(rng() % 20), rng());
          more.insert(more.end(), burst.begin(), burst.end());
        }
        e.feed(s.id, more);
        s.history.insert(s.history.end(), more.begin(), more.end());
      }
    e.step();
    for (Live& s : live) {
      const engine::SequenceInfo info = e.info(s.id);
      ASSERT_TRUE(info.error.empty()) << info.error;
      if (info.n_pending == 0 && e.logits(s.id)) {
        const float* l = e.logits(s.id);
        if (s.seen.empty() || s.seen.back().first != info.n_past)
          s.seen.emplace_back(info.n_past, std::vector<float>(l, l + e.n_vocab()));
      }
    }
  }
  for (const Live& s : live) check(s);
  for (const Live& s : ended) check(s);
  for (const Live& s : live) e.remove(s.id);
  EXPECT_EQ(e.pool_stats().used, 0);
}

TEST_F(EngineTest, BlocksReturnToThePoolWhenSequencesEnd) {
  engine::EngineOptions o = test::engine_options(256, 64, 1);
  o.prefix_cache = false;
  Engine e(*model_, o);
  const auto total = e.pool_stats().n_blocks;
  EXPECT_EQ(total, 256 / kBlock);
  const SeqId a = e.add_sequence(), b = e.add_sequence();
  e.feed(a, tokens(70, 3));  // 3 blocks
  e.feed(b, tokens(10, 4));  // 1 block
  while (e.has_pending()) e.step();
  EXPECT_EQ(e.pool_stats().used, 4);
  e.remove(a);
  EXPECT_EQ(e.pool_stats().used, 1);
  EXPECT_EQ(e.pool_stats().free, total - 1);
  e.reset(b);
  EXPECT_EQ(e.pool_stats().used, 0);
  EXPECT_EQ(e.pool_stats().free, total);
}

// A fork shares every block; the first write into the shared partial block
// copies it; both go on exactly as unforked sequences would.
TEST_F(EngineTest, ForkSharesBlocksAndCopiesOnWrite) {
  const auto prompt = tokens(40, 5);  // a full block and 8 positions of a second
  Engine e(*model_, test::engine_options(256, 64, 2));
  const SeqId p = e.add_sequence();
  e.eval(p, prompt);
  EXPECT_EQ(e.pool_stats().used, 2);
  const SeqId c = e.fork(p, {});
  EXPECT_EQ(e.pool_stats().used, 2);
  EXPECT_EQ(0, std::memcmp(e.logits(p), e.logits(c), static_cast<size_t>(e.n_vocab()) * 4));
  const int32_t tp = 17, tc = 23;
  e.feed(p, &tp, 1);
  e.feed(c, &tc, 1);
  e.step();
  EXPECT_EQ(e.pool_stats().used, 3);  // the partial block split; the full one is still shared
  auto with = [&](int32_t next) {
    auto t = prompt;
    t.push_back(next);
    return alone(t, 40).at(41);
  };
  EXPECT_TRUE(same_bits(e.logits(p), with(tp)));
  EXPECT_TRUE(same_bits(e.logits(c), with(tc)));
  e.remove(p);
  EXPECT_EQ(e.pool_stats().used, 2);  // the child's two
}

// A prompt that starts with cached full blocks reuses them (and says so), and
// never the last token's block, whose logits it must compute.
TEST_F(EngineTest, PrefixCacheReusesFullBlocksAcrossSequences) {
  Engine e(*model_, test::engine_options(512, 512, 2));
  const auto shared = tokens(3 * kBlock, 6);
  auto with_tail = [&](int n, uint32_t seed) {
    auto t = shared;
    const auto tail = tokens(n, seed);
    t.insert(t.end(), tail.begin(), tail.end());
    return t;
  };
  const SeqId a = e.add_sequence();
  e.eval(a, with_tail(10, 1));
  EXPECT_EQ(e.info(a).cached_tokens, 0);
  const SeqId b = e.add_sequence();  // concurrent with a, same first three blocks
  const auto b_tokens = with_tail(20, 2);
  e.eval(b, b_tokens);
  EXPECT_EQ(e.info(b).cached_tokens, 3 * kBlock);
  EXPECT_EQ(e.pool_stats().prefix_hit_tokens, 3 * kBlock);
  EXPECT_TRUE(same_bits(e.logits(b), alone(b_tokens, static_cast<int64_t>(b_tokens.size())).begin()->second));
  // Exactly the shared blocks: the whole prompt is cached, but its last block is recomputed.
  const SeqId c = e.add_sequence();
  e.eval(c, shared);
  EXPECT_EQ(e.info(c).cached_tokens, 2 * kBlock);
  // After a and b end their blocks stay cached, and a new sequence still hits.
  e.remove(a);
  e.remove(b);
  e.remove(c);
  EXPECT_EQ(e.pool_stats().used, 0);
  EXPECT_GT(e.pool_stats().cached, 0);
  const SeqId d = e.add_sequence();
  e.eval(d, with_tail(1, 3));
  EXPECT_EQ(e.info(d).cached_tokens, 3 * kBlock);
}

// An ended sequence's blocks are evicted tail first, so the cache keeps the
// head of its prefix usable as long as possible.
TEST_F(EngineTest, EvictionDropsAPrefixTailBeforeItsHead) {
  engine::EngineOptions o = test::engine_options(256, 256, 1);
  o.kv_tokens = 4 * kBlock;
  Engine e(*model_, o);
  const auto prompt = tokens(3 * kBlock + 1, 15);  // three full blocks and one more position
  const SeqId a = e.add_sequence();
  e.eval(a, prompt);
  e.remove(a);
  EXPECT_EQ(e.pool_stats().cached, 3);
  const SeqId b = e.add_sequence();
  e.eval(b, tokens(2 * kBlock, 16));  // takes the free block and evicts one cached block
  EXPECT_EQ(e.pool_stats().cached, 2);
  e.remove(b);
  const SeqId c = e.add_sequence();
  e.eval(c, prompt);
  EXPECT_EQ(e.info(c).cached_tokens, 2 * kBlock);  // blocks 0 and 1 survived, block 2 went
}

// Eviction takes only unreferenced cached blocks, oldest first, and only when
// the free list is empty.
TEST_F(EngineTest, EvictionTakesOnlyUnreferencedCachedBlocks) {
  engine::EngineOptions o = test::engine_options(256, 256, 1);
  o.kv_tokens = 4 * kBlock;
  Engine e(*model_, o);
  const auto old_prompt = tokens(2 * kBlock + 1, 8);
  const SeqId a = e.add_sequence();
  e.eval(a, old_prompt);  // 3 blocks, 2 of them full and published
  e.remove(a);
  EXPECT_EQ(e.pool_stats().cached, 2);
  EXPECT_EQ(e.pool_stats().free, 2);
  const auto keep = tokens(kBlock + 5, 9);
  const SeqId b = e.add_sequence();
  e.eval(b, keep);  // takes the 2 free blocks; nothing evicted yet
  EXPECT_EQ(e.pool_stats().cached, 2);
  const SeqId c = e.add_sequence();
  e.eval(c, tokens(kBlock + 3, 10));  // needs 2: both cached blocks are evicted
  EXPECT_EQ(e.pool_stats().cached, 0);
  EXPECT_EQ(e.pool_stats().used, 4);
  // b's blocks were never touched: its next logits are its own.
  auto b_next = keep;
  b_next.push_back(11);
  const int32_t t = 11;
  EXPECT_TRUE(same_bits(e.eval(b, &t, 1), alone(b_next, static_cast<int64_t>(b_next.size())).begin()->second));
}

// With every block in use, the sequence that needs one more fails with a
// message saying so; the others go on, their results intact.
TEST_F(EngineTest, ExhaustedPoolFailsOneSequenceAndSparesTheOthers) {
  engine::EngineOptions o = test::engine_options(256, 256, 2);
  o.kv_tokens = 4 * kBlock;
  Engine e(*model_, o);
  const auto a_tokens = tokens(70, 12);  // 3 blocks, room up to position 95
  const SeqId a = e.add_sequence();
  e.eval(a, a_tokens);
  const SeqId b = e.add_sequence();
  e.feed(b, tokens(60, 13));  // needs 2 blocks, 1 is left
  std::vector<SeqId> failed;
  for (int i = 0; i < 3; ++i) {
    const auto r = e.step();
    failed.insert(failed.end(), r.failed.begin(), r.failed.end());
  }
  EXPECT_EQ(failed, std::vector<SeqId>{b});
  EXPECT_NE(e.info(b).error.find("the KV pool is full"), std::string::npos) << e.info(b).error;
  EXPECT_THROW(e.eval(b, std::vector<int32_t>{5}), Error);
  // a decodes on within its own blocks, unaffected.
  auto a_more = a_tokens;
  for (int32_t t : {40, 41, 42}) {
    a_more.push_back(t);
    e.feed(a, &t, 1);
    const auto r = e.step();
    EXPECT_TRUE(r.failed.empty() || r.failed == std::vector<SeqId>{});
    EXPECT_TRUE(same_bits(e.logits(a), alone(a_more, static_cast<int64_t>(a_more.size())).begin()->second));
  }
  // Removing b gives its block back; a new sequence can run.
  e.remove(b);
  const SeqId c = e.add_sequence();
  EXPECT_NO_THROW(e.eval(c, tokens(20, 14)));
}

TEST_F(EngineTest, BadRequestsAreErrorsInApiTerms) {
  Engine e(*model_, test::engine_options(64, 16, 1));
  const SeqId s = e.add_sequence();
  EXPECT_THROW(e.feed(s, std::vector<int32_t>{1, 300}), Error);  // outside the vocabulary of 300
  EXPECT_THROW(e.feed(s, tokens(65, 1)), Error);                  // more than n_ctx
  EXPECT_THROW(e.feed(99, tokens(1, 1)), Error);                  // no such sequence
  EXPECT_THROW(e.sample(s), Error);                               // nothing evaluated
  EXPECT_EQ(e.info(s).n_pending, 0);
  engine::EngineOptions o = test::engine_options(64, 16, 1);
  o.kv_bytes = 10;
  try {
    Engine tiny(*model_, o);
    ADD_FAILURE() << "a 10-byte pool was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("kv_bytes 10 holds no KV block"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace tessera
