// A loaded model: its configuration, architecture description and weights, and
// the forward pass over a packed batch of many sequences' tokens. Holds no
// per-sequence state: the KV storage, block tables and buffers belong to the
// executor that calls it (engine::Engine).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "model/architecture.h"
#include "model/forward_buffers.h"
#include "model/batch.h"
#include "model/kv_groups.h"
#include "model/kv_storage.h"
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
  const std::vector<LayerSpec>& layers() const { return layers_; }
  // How the layers share KV pool blocks: one block table per group and sequence.
  const KvGroups& kv_groups() const { return kv_groups_; }
  const io::ModelFile& file() const { return *file_; }

  // A block pool of n_blocks blocks of KvStorage::kBlockSize positions of one
  // KV group's layers (each block id serves one group of one sequence).
  KvStorage make_kv_storage(int64_t n_blocks, KvCacheTypes types = {}) const;
  // Bytes of one such block (a group's layers, keys and values).
  size_t kv_block_bytes(KvCacheTypes types) const;

  // Bytes of one sequence's fixed-size mixer state (recurrent mixers; 0 for a
  // model of attention layers only, whose state is all in KV blocks).
  size_t fixed_state_bytes() const { return 0; }

  // Runs the batch (batch.n_tokens <= buf.max_batch) through the model, storing
  // each row's keys and values in its sequence's blocks, and writes n_vocab
  // logits for each of batch.logit_rows, in that order, to `logits`.
  // Throws Error on a malformed batch (before anything is written).
  void forward(ThreadPool& pool, KvStorage& kv, ForwardBuffers& buf, const Batch& batch, float* logits) const;

  // An embedding model (ModelOutput::Embeddings): runs the batch, each
  // sequence whole (an encoder's tokens see their whole sequence), and writes
  // n_embd values per sequence, its tokens' last hidden states pooled, to `out`.
  void embed(ThreadPool& pool, KvStorage& kv, ForwardBuffers& buf, const Batch& batch, Pooling pooling,
             float* out) const;

 private:
  // Embeddings and every layer: leaves the last hidden states in buf.x.
  void run_blocks(ThreadPool& pool, KvStorage& kv, ForwardBuffers& buf, const Batch& batch) const;
  void norm_row(NormKind kind, float* out, const float* x, const float* weight, const float* bias) const;

  std::shared_ptr<const io::ModelFile> file_;
  ModelConfig config_;
  const Architecture* arch_;
  std::vector<LayerSpec> layers_;  // the block schedule
  KvGroups kv_groups_;
  ModelWeights weights_;
};

}  // namespace tessera::model
