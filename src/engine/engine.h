// The executor of many sequences over one model: one thread pool, one set of
// activation buffers (sized for the largest batch in tokens), one KV block
// pool shared by every sequence (a block table per KV group and sequence, with
// copy-on-write forks, a prefix cache, and windowed groups' blocks given back
// once every later row's window has passed them),
// and the scheduler that packs each step's batch from the sequences' pending
// tokens: decode tokens first, then prompt chunks first come first served,
// up to n_batch tokens (chunked prefill). A sequence's logits are the same
// bits whatever else is in its batches (the kernels and the attention
// schedule are batch-invariant), so a sequence alone, among others, with a
// cached or a computed prefix, gives the same results.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kv_block_pool.h"
#include "engine/sampler.h"
#include "model/batch.h"
#include "model/forward_buffers.h"
#include "model/kv_storage.h"
#include "model/model.h"

namespace tessera::engine {

struct EngineOptions {
  int64_t n_ctx = 0;      // positions one sequence may hold; 0: the model's training context, at most 4096
  int64_t n_batch = 512;  // tokens per forward pass, at most
  int n_threads = 0;      // 0: all hardware threads
  // Size of the KV block pool: in tokens, or else in bytes; both 0: n_ctx tokens.
  int64_t kv_tokens = 0;
  int64_t kv_bytes = 0;
  model::KvCacheTypes cache_types;
  bool prefix_cache = true;  // reuse cached full blocks of a prompt's prefix
  // Give back a windowed layer group's blocks once every later row's window has
  // passed them (false keeps them, as a reference for tests).
  bool free_window_blocks = true;

  static constexpr int64_t kDefaultMaxContext = 4096;
};

using SeqId = int64_t;

struct SequenceInfo {
  int64_t n_past = 0;         // positions stored
  int64_t n_pending = 0;      // tokens fed, not yet evaluated
  int64_t cached_tokens = 0;  // of the stored ones, how many came from the prefix cache
  std::string error;          // why the sequence cannot go on (e.g. the KV pool is full); empty when fine
};

struct PoolStats {
  int64_t n_blocks = 0, block_tokens = 0;
  int64_t used = 0, cached = 0, free = 0;  // blocks
  int64_t prefix_hit_tokens = 0;           // prompt tokens reused from the cache, in all
};

struct StepResult {
  int64_t n_tokens = 0;     // rows evaluated
  int64_t n_sequences = 0;  // sequences in the batch
  std::vector<SeqId> failed;  // sequences that could not be scheduled this step (see SequenceInfo::error)
};

class Engine {
 public:
  // Throws UsageError for options the model cannot take (e.g. a KV type).
  Engine(const model::Model& model, const EngineOptions& options);
  ~Engine();

  const model::Model& model() const { return model_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_batch() const { return buffers_.max_batch; }
  int n_vocab() const { return static_cast<int>(model_.config().n_vocab); }
  ThreadPool& pool() { return pool_; }

  // A new, empty sequence with its own sampler. all_logits: every evaluated
  // row's logits are kept for step_logits (perplexity), not only the last's.
  SeqId add_sequence(const SamplingParams& sampling = {}, bool all_logits = false);
  // Appends tokens to evaluate. Throws Error when they would not fit in n_ctx.
  void feed(SeqId id, const int32_t* tokens, int64_t n);
  void feed(SeqId id, const std::vector<int32_t>& tokens) { feed(id, tokens.data(), static_cast<int64_t>(tokens.size())); }

  // Evaluates one batch of pending tokens (no-op when nothing is pending).
  StepResult step();
  bool has_pending() const;

  // feed, then step until the sequence has nothing pending; the logits of its
  // last token. Throws Error when the sequence fails (e.g. the pool is full).
  const float* eval(SeqId id, const int32_t* tokens, int64_t n);
  const float* eval(SeqId id, const std::vector<int32_t>& tokens) {
    return eval(id, tokens.data(), static_cast<int64_t>(tokens.size()));
  }

  // n_vocab logits after the sequence's last evaluated token (null before any).
  const float* logits(SeqId id) const;
  // all_logits sequences: the rows of the last step that held the sequence,
  // rows x n_vocab, starting at position *first_pos; null when none.
  const float* step_logits(SeqId id, int64_t* rows, int64_t* first_pos) const;
  // A token drawn from logits(id) by the sequence's sampler (its history is
  // the tokens stored); not fed.
  int32_t sample(SeqId id);

  // A new sequence sharing id's blocks (copy-on-write at the first write into a
  // shared block), tokens, pending tokens, logits and fixed state; its own sampler.
  SeqId fork(SeqId id, const SamplingParams& sampling);
  void reset(SeqId id);   // forget everything stored and pending
  void remove(SeqId id);  // and give the blocks back

  SequenceInfo info(SeqId id) const;
  const std::vector<int32_t>& tokens(SeqId id) const;  // stored tokens, position order
  PoolStats pool_stats() const;

 private:
  struct Sequence;
  Sequence& seq(SeqId id);
  const Sequence& seq(SeqId id) const;
  void drop_blocks(Sequence& s);
  void reuse_cached_prefix(Sequence& s);
  int64_t room(const Sequence& s) const;
  void reserve(Sequence& s, int64_t n_tokens);
  void publish_full_blocks(Sequence& s);
  void release_passed_blocks(Sequence& s);
  [[noreturn]] static int64_t fail_batch(int64_t n_batch);

  const model::Model& model_;
  const model::KvGroups& groups_;  // one block table per group and sequence
  int64_t n_ctx_;
  bool prefix_cache_;
  bool free_window_blocks_;
  ThreadPool pool_;
  model::ForwardBuffers buffers_;
  model::KvStorage storage_;
  KvBlockPool blocks_;
  std::map<SeqId, std::unique_ptr<Sequence>> seqs_;  // ordered by id: first come first served
  SeqId next_id_ = 0;
  int64_t prefix_hit_tokens_ = 0;
  uint64_t step_count_ = 0;
  // A step's batch, sized once for n_batch rows.
  std::vector<int32_t> batch_tokens_;
  std::vector<model::BatchSequence> batch_seqs_;
  std::vector<Sequence*> batch_owner_;
  std::vector<int64_t> logit_rows_;
  std::vector<float> step_logits_;  // logit rows x n_vocab; grows to the most rows one step has asked for
  std::vector<int32_t> found_;      // a prefix block's hits, one per group
};

}  // namespace tessera::engine
