// A loaded model: its configuration, architecture description and weights, and
// the forward pass over a batch of tokens. Holds no per-sequence state: that is
// the KV cache and buffers a Session owns.
#pragma once

#include <cstdint>
#include <memory>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "model/architecture.h"
#include "model/forward_buffers.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace tessera::model {

class Model {
 public:
  // Reads the configuration and binds the weights; the file stays mapped while
  // the model lives. Throws Error naming the key or tensor at fault.
  explicit Model(std::shared_ptr<const io::ModelFile> file);

  const ModelConfig& config() const { return config_; }
  const Architecture& architecture() const { return *arch_; }
  const io::ModelFile& file() const { return *file_; }

  KvCache make_cache(int64_t n_ctx, KvCacheTypes types = {}) const;

  // Runs n tokens (n <= buf.max_batch) at positions pos0 .. pos0+n-1 through the
  // model, appending their keys and values to the cache. Writes n_vocab logits
  // for the last token to `logits`, or for every token (n x n_vocab) if all_logits.
  void forward(ThreadPool& pool, KvCache& cache, ForwardBuffers& buf, const int32_t* tokens, int64_t n,
               int64_t pos0, float* logits, bool all_logits = false) const;

 private:
  std::shared_ptr<const io::ModelFile> file_;
  ModelConfig config_;
  const Architecture* arch_;
  ModelWeights weights_;
};

}  // namespace tessera::model
