#include "engine/engine.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/attention.h"

namespace tessera::engine {
namespace {

constexpr int64_t kBlock = model::KvStorage::kBlockSize;

// Learned absolute positions end at the training context.
int64_t context_size(const model::ModelConfig& c, int64_t requested) {
  if (requested < 0) fail("n_ctx must be positive (got {})", requested);
  int64_t n_ctx = requested > 0 ? requested : std::min(c.n_ctx_train, EngineOptions::kDefaultMaxContext);
  if (c.max_positions > 0 && n_ctx > c.max_positions)
    fail("n_ctx = {} exceeds the {} positions the model has learned ({}.context_length)", n_ctx, c.max_positions,
         c.arch);
  return n_ctx;
}

int64_t blocks_for(int64_t positions) { return (positions + kBlock - 1) / kBlock; }

// A block holds one KV group's layers: `tokens` positions take a block per group.
int64_t pool_blocks(const model::Model& m, const EngineOptions& o, int64_t n_ctx) {
  if (o.kv_tokens < 0 || o.kv_bytes < 0)
    fail("the KV pool size must not be negative (kv_tokens {}, kv_bytes {})", o.kv_tokens, o.kv_bytes);
  const int64_t n_groups = m.kv_groups().n_groups();
  if (o.kv_tokens > 0) return blocks_for(o.kv_tokens) * n_groups;
  if (o.kv_bytes > 0) {
    const auto block = static_cast<int64_t>(m.kv_block_bytes(o.cache_types));
    if (o.kv_bytes < block)
      fail("kv_bytes {} holds no KV block: one block of {} positions takes {} bytes with this model and cache types",
           o.kv_bytes, kBlock, block);
    return o.kv_bytes / block;
  }
  return blocks_for(n_ctx) * n_groups;
}

// Each group's blocks are indexed under a key of their own.
uint64_t group_key(uint64_t hash, int64_t group) {
  return group == 0 ? hash : hash ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(group));
}

}  // namespace

struct Engine::Sequence {
  Sequence(SeqId id, const SamplingParams& sampling, int32_t n_vocab, bool all_logits)
      : id(id), sampler(sampling, n_vocab), all_logits(all_logits), logits(static_cast<size_t>(n_vocab)) {}

  SeqId id;
  std::vector<int32_t> tokens;   // stored: position p holds tokens[p]
  std::vector<int32_t> pending;  // fed, not yet evaluated
  // Per KV group: logical block -> pool block; -1 where a windowed group gave
  // the block back (every later row's window has passed it).
  std::vector<std::vector<int32_t>> tables;
  std::vector<const int32_t*> table_ptrs;  // the tables' data, as a batch takes them
  std::vector<int64_t> passed;             // per group: leading entries given back
  std::vector<uint64_t> chain;   // prefix chain hash of each full block
  std::vector<uint8_t> fixed_state;
  Sampler sampler;
  bool all_logits;
  std::vector<float> logits;  // after the last evaluated token
  bool has_logits = false;
  uint64_t step_seen = 0;  // the step whose rows step_row.. hold its logits (all_logits)
  int64_t step_row = 0, step_rows = 0, step_pos = 0;
  int64_t cached_tokens = 0;
  std::string error;
};

Engine::Engine(const model::Model& model, const EngineOptions& o)
    : model_(model),
      groups_(model.kv_groups()),
      n_ctx_(context_size(model.config(), o.n_ctx)),
      prefix_cache_(o.prefix_cache && model.fixed_state_bytes() == 0),
      free_window_blocks_(o.free_window_blocks),
      pool_(o.n_threads > 0 ? o.n_threads : default_thread_count()),
      buffers_(model.config(), o.n_batch > 0 ? o.n_batch : fail_batch(o.n_batch)),
      storage_(model.make_kv_storage(pool_blocks(model, o, n_ctx_), o.cache_types)),
      blocks_(storage_.n_blocks(), kBlock) {
  batch_tokens_.resize(static_cast<size_t>(buffers_.max_batch));
  batch_seqs_.resize(static_cast<size_t>(buffers_.max_batch));
  batch_owner_.resize(static_cast<size_t>(buffers_.max_batch));
  logit_rows_.resize(static_cast<size_t>(buffers_.max_batch));
  found_.reserve(static_cast<size_t>(groups_.n_groups()));
  // Each thread's attention scratch, sized now rather than on its first tile.
  pool_.run_on_each_thread([&](int) { kernels::reserve_attention_scratch(storage_.layer_view(0), model.config().n_head); });
}

Engine::~Engine() = default;

int64_t Engine::fail_batch(int64_t n_batch) { fail("n_batch must be positive (got {})", n_batch); }

Engine::Sequence& Engine::seq(SeqId id) {
  const auto it = seqs_.find(id);
  if (it == seqs_.end()) fail("no sequence {} (never made, or removed)", id);
  return *it->second;
}

const Engine::Sequence& Engine::seq(SeqId id) const { return const_cast<Engine*>(this)->seq(id); }

SeqId Engine::add_sequence(const SamplingParams& sampling, bool all_logits) {
  const SeqId id = next_id_++;
  auto s = std::make_unique<Sequence>(id, sampling, n_vocab(), all_logits);
  s->tokens.reserve(static_cast<size_t>(n_ctx_));
  s->pending.reserve(static_cast<size_t>(n_ctx_));
  s->tables.resize(static_cast<size_t>(groups_.n_groups()));
  for (auto& t : s->tables) t.reserve(static_cast<size_t>(blocks_for(n_ctx_)));
  s->table_ptrs.resize(s->tables.size());
  s->passed.assign(s->tables.size(), 0);
  s->chain.reserve(static_cast<size_t>(blocks_for(n_ctx_)));
  s->fixed_state.assign(model_.fixed_state_bytes(), 0);
  seqs_.emplace(id, std::move(s));
  return id;
}

void Engine::feed(SeqId id, const int32_t* tokens, int64_t n) {
  Sequence& s = seq(id);
  if (n < 0) fail("sequence {}: a negative number of tokens ({})", id, n);
  const auto held = static_cast<int64_t>(s.tokens.size() + s.pending.size());
  if (held + n > n_ctx_)
    fail("sequence {}: {} more tokens do not fit: it holds {} of n_ctx = {} positions", id, n, held, n_ctx_);
  const int32_t vocab = n_vocab();
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab)
      fail("sequence {}: token id {} is outside the vocabulary (0..{})", id, tokens[i], vocab - 1);
  s.pending.insert(s.pending.end(), tokens, tokens + n);
}

bool Engine::has_pending() const {
  for (const auto& [id, s] : seqs_)
    if (!s->pending.empty() && s->error.empty()) return true;
  return false;
}

// Takes the longest run of the pending tokens' full blocks that the prefix
// cache holds after what is stored, always leaving one token to compute (its
// logits are what the caller waits for).
// Every group must hold the block (a windowed group's copy may have been
// evicted already, which ends the reuse there).
void Engine::reuse_cached_prefix(Sequence& s) {
  if (!prefix_cache_) return;
  while (static_cast<int64_t>(s.tokens.size()) % kBlock == 0 &&
         s.tables[0].size() * kBlock == s.tokens.size() && static_cast<int64_t>(s.pending.size()) > kBlock) {
    const uint64_t parent = s.chain.empty() ? 0 : s.chain.back();
    const uint64_t hash = blocks_.chain_hash(parent, s.pending.data());
    found_.clear();
    for (int64_t g = 0; g < groups_.n_groups(); ++g) {
      const int32_t b = blocks_.lookup(group_key(hash, g), parent, s.pending.data());
      if (b < 0) {
        for (int32_t f : found_) blocks_.release(f);
        release_passed_blocks(s);
        return;
      }
      found_.push_back(b);
    }
    for (size_t g = 0; g < found_.size(); ++g) s.tables[g].push_back(found_[g]);
    s.chain.push_back(hash);
    s.tokens.insert(s.tokens.end(), s.pending.begin(), s.pending.begin() + kBlock);
    s.pending.erase(s.pending.begin(), s.pending.begin() + kBlock);
    s.cached_tokens += kBlock;
    prefix_hit_tokens_ += kBlock;
  }
  release_passed_blocks(s);
}


// Whether a partial last block of a sequence's table is shared (a prefix-cache
// hit or a fork) and must be copied before the sequence writes into it.
static bool shares_partial_block(const KvBlockPool& blocks, const std::vector<int32_t>& table, int64_t n_past) {
  return n_past % kBlock != 0 && blocks.ref_count(table.back()) > 1;
}

// Positions s can still grow by: the free tail of its last block plus, for
// every block of positions more, one available block in each group, less the
// copies a copy-on-write of each group's shared partial last block would take.
int64_t Engine::room(const Sequence& s) const {
  const auto n_past = static_cast<int64_t>(s.tokens.size());
  int64_t copies = 0;
  for (const auto& table : s.tables) copies += shares_partial_block(blocks_, table, n_past) ? 1 : 0;
  const int64_t spare = blocks_.n_available() - copies;
  if (spare < 0) return 0;
  return (static_cast<int64_t>(s.tables[0].size()) + spare / groups_.n_groups()) * kBlock - n_past;
}

// Blocks for n more positions of s (n <= room(s)), all of them the sequence's
// own: a shared partial last block is copied first (copy-on-write). Every
// group's table has the same length (a windowed one holds -1 where it gave
// blocks back).
void Engine::reserve(Sequence& s, int64_t n) {
  const auto n_past = static_cast<int64_t>(s.tokens.size());
  const int64_t grow = blocks_for(n_past + n) - static_cast<int64_t>(s.tables[0].size());
  for (auto& table : s.tables) {
    if (shares_partial_block(blocks_, table, n_past)) {
      const int32_t mine = blocks_.allocate();
      storage_.copy_block(table.back(), mine);
      blocks_.release(table.back());
      table.back() = mine;
    }
    for (int64_t i = 0; i < grow; ++i) table.push_back(blocks_.allocate());
  }
}

// A windowed group's blocks that end before the next row's window begins are
// never read again by this sequence: they go back to the pool (cached for
// their prefix when indexed; a fork that shares one keeps it alive).
void Engine::release_passed_blocks(Sequence& s) {
  if (!free_window_blocks_) return;
  const auto n_past = static_cast<int64_t>(s.tokens.size());
  for (int64_t g = 0; g < groups_.n_groups(); ++g) {
    const int64_t first = groups_.first_block(g, n_past, kBlock);
    auto& table = s.tables[static_cast<size_t>(g)];
    int64_t& passed = s.passed[static_cast<size_t>(g)];
    for (; passed < first; ++passed) {
      int32_t& b = table[static_cast<size_t>(passed)];
      if (b >= 0) blocks_.release(b);
      b = -1;
    }
  }
}

// Indexes the blocks that became full, chaining each one's hash to the last.
void Engine::publish_full_blocks(Sequence& s) {
  const int64_t full = static_cast<int64_t>(s.tokens.size()) / kBlock;
  for (auto i = static_cast<int64_t>(s.chain.size()); i < full; ++i) {
    const uint64_t parent = i > 0 ? s.chain[static_cast<size_t>(i - 1)] : 0;
    const int32_t* toks = s.tokens.data() + i * kBlock;
    const uint64_t hash = blocks_.chain_hash(parent, toks);
    s.chain.push_back(hash);
    if (!prefix_cache_) continue;
    for (int64_t g = 0; g < groups_.n_groups(); ++g) {
      const int32_t b = s.tables[static_cast<size_t>(g)][static_cast<size_t>(i)];
      if (b >= 0) blocks_.publish(b, group_key(hash, g), parent, toks);
    }
  }
}

StepResult Engine::step() {
  StepResult result;
  const int64_t budget = buffers_.max_batch;
  int64_t rows = 0, n_seqs = 0, n_logits = 0;
  auto schedule = [&](Sequence& s, int64_t want) {
    int64_t take = std::min(want, budget - rows);
    if (take <= 0) return;
    // As many tokens as the pool still has room for, else the sequence fails.
    const int64_t room_left = room(s);
    if (room_left <= 0) {
      s.error = fmt::format(
          "the KV pool is full: sequence {} needs room for {} more positions but all {} blocks of {} are in use "
          "(a larger kv_tokens or kv_bytes, or fewer sequences at once)",
          s.id, take, blocks_.n_blocks(), kBlock);
      result.failed.push_back(s.id);
      return;
    }
    take = std::min(take, room_left);
    reserve(s, take);
    for (size_t g = 0; g < s.tables.size(); ++g) s.table_ptrs[g] = s.tables[g].data();
    model::BatchSequence& b = batch_seqs_[static_cast<size_t>(n_seqs)];
    b = {rows, take, static_cast<int64_t>(s.tokens.size()), s.table_ptrs.data(),
         static_cast<int64_t>(s.tables[0].size()), s.fixed_state.empty() ? nullptr : s.fixed_state.data()};
    batch_owner_[static_cast<size_t>(n_seqs++)] = &s;
    std::copy_n(s.pending.begin(), take, batch_tokens_.begin() + rows);
    const bool finishes = take == static_cast<int64_t>(s.pending.size());
    if (s.all_logits) {
      s.step_row = n_logits;
      for (int64_t r = 0; r < take; ++r) logit_rows_[static_cast<size_t>(n_logits++)] = rows + r;
    } else if (finishes) {
      s.step_row = n_logits;
      logit_rows_[static_cast<size_t>(n_logits++)] = rows + take - 1;
    } else {
      s.step_row = -1;
    }
    rows += take;
  };
  // Decode tokens first (each a row), then prompt chunks, oldest sequence first.
  for (auto& [id, s] : seqs_)
    if (s->error.empty() && s->pending.size() == 1) schedule(*s, 1);
  for (auto& [id, s] : seqs_) {
    if (!s->error.empty() || s->pending.size() <= 1 || rows >= budget) continue;
    reuse_cached_prefix(*s);
    schedule(*s, static_cast<int64_t>(s->pending.size()));
  }
  if (rows == 0) return result;

  const auto n_vocab = static_cast<size_t>(this->n_vocab());
  if (step_logits_.size() < static_cast<size_t>(n_logits) * n_vocab) step_logits_.resize(static_cast<size_t>(n_logits) * n_vocab);
  const model::Batch batch{batch_tokens_.data(), rows, batch_seqs_.data(), n_seqs, logit_rows_.data(), n_logits};
  model_.forward(pool_, storage_, buffers_, batch, step_logits_.data());
  ++step_count_;

  for (int64_t i = 0; i < n_seqs; ++i) {
    Sequence& s = *batch_owner_[static_cast<size_t>(i)];
    const model::BatchSequence& b = batch_seqs_[static_cast<size_t>(i)];
    s.tokens.insert(s.tokens.end(), s.pending.begin(), s.pending.begin() + b.n_tokens);
    s.pending.erase(s.pending.begin(), s.pending.begin() + b.n_tokens);
    if (s.step_row >= 0) {
      const int64_t n_rows = s.all_logits ? b.n_tokens : 1;
      const float* last = step_logits_.data() + static_cast<size_t>(s.step_row + n_rows - 1) * n_vocab;
      std::copy_n(last, n_vocab, s.logits.begin());
      s.has_logits = true;
      s.step_seen = step_count_;
      s.step_rows = n_rows;
      s.step_pos = b.pos0 + b.n_tokens - n_rows;
    }
    publish_full_blocks(s);
    release_passed_blocks(s);
  }
  result.n_tokens = rows;
  result.n_sequences = n_seqs;
  return result;
}

const float* Engine::eval(SeqId id, const int32_t* tokens, int64_t n) {
  if (n <= 0) fail("sequence {}: nothing to evaluate: no tokens", id);
  feed(id, tokens, n);
  Sequence& s = seq(id);
  while (!s.pending.empty()) {
    if (!s.error.empty()) fail("{}", s.error);
    step();
  }
  if (!s.error.empty()) fail("{}", s.error);
  return s.logits.data();
}

const float* Engine::logits(SeqId id) const {
  const Sequence& s = seq(id);
  return s.has_logits ? s.logits.data() : nullptr;
}

const float* Engine::step_logits(SeqId id, int64_t* rows, int64_t* first_pos) const {
  const Sequence& s = seq(id);
  if (!s.all_logits || s.step_seen != step_count_ || s.step_row < 0) return nullptr;
  *rows = s.step_rows;
  *first_pos = s.step_pos;
  return step_logits_.data() + static_cast<size_t>(s.step_row) * static_cast<size_t>(n_vocab());
}

int32_t Engine::sample(SeqId id) {
  Sequence& s = seq(id);
  if (!s.has_logits) fail("sequence {}: no logits to sample from yet (nothing evaluated)", id);
  return s.sampler.sample(s.logits.data(), s.tokens);
}

SeqId Engine::fork(SeqId id, const SamplingParams& sampling) {
  const Sequence& parent = seq(id);
  const SeqId child_id = add_sequence(sampling, parent.all_logits);
  Sequence& child = seq(child_id);
  child.tokens = parent.tokens;
  child.pending = parent.pending;
  child.tables = parent.tables;
  for (const auto& table : child.tables)
    for (int32_t b : table)
      if (b >= 0) blocks_.retain(b);
  child.passed = parent.passed;
  child.chain = parent.chain;
  child.fixed_state = parent.fixed_state;
  child.logits = parent.logits;
  child.has_logits = parent.has_logits;
  child.cached_tokens = parent.cached_tokens;
  child.error = parent.error;
  return child_id;
}

void Engine::drop_blocks(Sequence& s) {
  // Last block first: the cache then evicts a prefix's tail before its head, so
  // what stays cached is still reachable from the start of a prompt.
  for (auto k = static_cast<int64_t>(s.tables[0].size()) - 1; k >= 0; --k)
    for (auto& table : s.tables)
      if (table[static_cast<size_t>(k)] >= 0) blocks_.release(table[static_cast<size_t>(k)]);
  for (auto& table : s.tables) table.clear();
  std::fill(s.passed.begin(), s.passed.end(), 0);
  s.chain.clear();
}

void Engine::reset(SeqId id) {
  Sequence& s = seq(id);
  drop_blocks(s);
  s.tokens.clear();
  s.pending.clear();
  std::fill(s.fixed_state.begin(), s.fixed_state.end(), 0);
  s.has_logits = false;
  s.step_seen = 0;
  s.cached_tokens = 0;
  s.error.clear();
}

void Engine::remove(SeqId id) {
  drop_blocks(seq(id));
  seqs_.erase(id);
}

SequenceInfo Engine::info(SeqId id) const {
  const Sequence& s = seq(id);
  return {static_cast<int64_t>(s.tokens.size()), static_cast<int64_t>(s.pending.size()), s.cached_tokens, s.error};
}

const std::vector<int32_t>& Engine::tokens(SeqId id) const { return seq(id).tokens; }

PoolStats Engine::pool_stats() const {
  return {blocks_.n_blocks(), kBlock, blocks_.n_used(), blocks_.n_cached(), blocks_.n_free(), prefix_hit_tokens_};
}

}  // namespace tessera::engine
