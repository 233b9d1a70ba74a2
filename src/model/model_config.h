// Hyper-parameters of a model, read from GGUF metadata ("<arch>.*" keys).
#pragma once

#include <cstdint>
#include <string>

#include "io/model_file.h"

namespace tessera::model {

// How an embedding model turns its tokens' last hidden states into one vector
// (GGUF <arch>.pooling_type, llama.cpp's numbering).
enum class Pooling { None = 0, Mean = 1, Cls = 2, Last = 3 };

struct ModelConfig {
  std::string arch;         // general.architecture
  std::string name;         // general.name, if any
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;  // <arch>.context_length
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;     // <arch>.attention.key_length, default n_embd / n_head
  int64_t n_ff = 0;
  float norm_eps = 1e-5f;  // RMSNorm's or LayerNorm's epsilon, as the family's norm
  int64_t rope_dim = 0;     // dims rotated per head
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / linear scaling factor
  // LongRoPE (Phi-3 128k, Phi-3.5): an engine whose sequences may hold more than
  // rope.scaling.original_context_length positions rotates by the long factors,
  // else by the short ones; rotations scaled by rope.scaling.attn_factor.
  int64_t rope_orig_ctx = 0;
  float rope_attn_factor = 1.0f;
  bool rope_neox = false;
  int64_t max_positions = 0;   // learned positions: n_ctx_train, the most a sequence may hold; 0: no limit
  int64_t sliding_window = 0;  // <arch>.attention.sliding_window: a query sees the last N positions; 0: all
  float attn_softcap = 0;   // <arch>.attn_logit_softcapping (Gemma 2); 0: none
  float final_softcap = 0;  // <arch>.final_logit_softcapping: logits through cap * tanh(x / cap); 0: none
  float attn_scale = 0;     // scores scale; 1 / sqrt(head_dim) unless the family says otherwise
  int64_t n_expert = 0;       // <arch>.expert_count; 0: a dense feed-forward
  int64_t n_expert_used = 0;  // <arch>.expert_used_count: experts per token (top-k)
  int64_t n_ff_exp = 0;       // an expert's feed-forward dim
  int64_t n_ff_shexp = 0;     // the shared expert's (families that have one)
  int64_t n_token_types = 0;  // rows of the token-type embeddings (tokenizer.ggml.token_type_count; BERT)
  Pooling pooling = Pooling::None;  // <arch>.pooling_type: how an embedding model pools its tokens

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// Reads and checks the hyper-parameters; n_vocab comes from the token list.
// Throws Error naming the key at fault.
ModelConfig read_model_config(const io::Metadata& meta);

}  // namespace tessera::model
