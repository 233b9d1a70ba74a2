// One sequence being evaluated: its KV cache, position and activation buffers.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward_buffers.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace tessera::engine {

struct SessionOptions {
  int64_t n_ctx = 0;      // 0: the model's training context, at most kDefaultMaxContext
  int64_t n_batch = 64;   // tokens per forward pass during prompt processing
  int n_threads = 0;      // 0: all hardware threads
  model::KvCacheTypes cache_types;  // F16 keys and values unless asked otherwise

  static constexpr int64_t kDefaultMaxContext = 4096;
};

class Session {
 public:
  Session(const model::Model& model, const SessionOptions& options);

  int64_t n_ctx() const { return cache_.capacity(); }
  int64_t n_past() const { return n_past_; }
  int64_t max_batch() const { return buffers_.max_batch; }
  ThreadPool& pool() { return pool_; }
  const model::Model& model() const { return model_; }

  // Appends tokens to the sequence (in batches of n_batch) and returns the
  // logits (n_vocab floats) after the last one; valid until the next call.
  // Throws Error if they do not fit in the context.
  const float* eval(const int32_t* tokens, int64_t n);
  const float* eval(const std::vector<int32_t>& tokens) { return eval(tokens.data(), static_cast<int64_t>(tokens.size())); }

  // Appends tokens and writes logits for every one of them (n x n_vocab) to out.
  void eval_all_logits(const int32_t* tokens, int64_t n, float* out);

  // Forgets the sequence (positions restart at 0).
  void reset() { n_past_ = 0; }

 private:
  void check_fits(int64_t n) const;

  const model::Model& model_;
  ThreadPool pool_;
  model::KvCache cache_;
  model::ForwardBuffers buffers_;
  std::vector<float> logits_;
  int64_t n_past_ = 0;
};

}  // namespace tessera::engine
