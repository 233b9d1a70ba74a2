// Typed views of a model's tensors, bound by name and checked once at load.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/large_buffer.h"
#include "io/model_file.h"
#include "kernels/kernels.h"
#include "core/thread_pool.h"
#include "model/architecture.h"
#include "model/model_config.h"

namespace tessera::model {

// `rows` rows of `cols` elements in `type`, consecutive: y = W x has `rows` outputs.
struct Matrix {
  DType type = DType::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  kernels::WeightLayout layout = kernels::WeightLayout::Plain;  // as repacked at load
};

// y (n_tokens x rows) = x (n_tokens x cols) @ W^T
inline void multiply(ThreadPool& pool, const Matrix& W, const float* x, int64_t n_tokens, float* y) {
  kernels::matmul(pool, W.type, W.layout, W.data, W.rows, W.cols, x, n_tokens, y);
}

// y_i = W_i x in one pass (kernels::matmul_many) for matrices of one width, of
// any types and layouts; else one multiply each.
inline void multiply_each(ThreadPool& pool, std::initializer_list<std::pair<const Matrix*, float*>> outputs,
                          const float* x, int64_t n_tokens) {
  const Matrix& first = *outputs.begin()->first;
  kernels::MatmulPart parts[8];
  int n = 0;
  for (auto [W, y] : outputs) {
    if (W->cols != first.cols || n == 8) {
      for (auto [W2, y2] : outputs) multiply(pool, *W2, x, n_tokens, y2);
      return;
    }
    parts[n++] = {W->data, W->rows, y, W->type, W->layout};
  }
  kernels::matmul_many(pool, first.cols, x, n_tokens, parts, n);
}

struct AttentionWeights {
  Matrix q, k, v, o;
  const float* o_bias = nullptr;  // n_embd (AttentionOptions::output_bias)
  const float* post_norm = nullptr;  // n_embd (LayerSpec::post_norms)
  const float* q_bias = nullptr;  // q_dim, kv_dim, kv_dim (AttentionOptions::qkv_bias)
  const float* k_bias = nullptr;
  const float* v_bias = nullptr;
  const float* q_norm = nullptr;  // head_dim each (AttentionOptions::qk_norm)
  const float* k_norm = nullptr;
};

// SwiGLU: gate, up, down; GELU MLP: up and down, with biases.
struct FeedForwardWeights {
  Matrix gate, up, down;
  const float* up_bias = nullptr;
  const float* down_bias = nullptr;
  const float* post_norm = nullptr;  // n_embd (LayerSpec::post_norms)
};

// Mixture of experts: the router (n_expert rows), each expert's SwiGLU matrices
// (row views of the file's 3-D tensors), and the shared expert where the family
// has one (ExpertOptions::shared).
struct ExpertWeights {
  Matrix router;
  std::vector<Matrix> gate, up, down;  // one per expert
  Matrix shared_gate, shared_up, shared_down;
  const float* shared_gate_inp = nullptr;  // n_embd: sigmoid(w . x) scales the shared expert
};

struct BlockWeights {
  const float* mixer_norm = nullptr;
  const float* mixer_norm_bias = nullptr;  // LayerNorm only
  AttentionWeights attention;
  const float* channel_norm = nullptr;
  const float* channel_norm_bias = nullptr;
  FeedForwardWeights mlp;
  ExpertWeights experts;
};

struct ModelWeights {
  Matrix token_embd;  // n_vocab rows of n_embd
  Matrix pos_embd;    // n_ctx_train rows of n_embd, or none (data null)
  Matrix token_types;  // n_token_types rows of n_embd, or none; row 0 is added to every token
  const float* embd_norm = nullptr;  // LayerNorm of the summed embeddings, or null
  const float* embd_norm_bias = nullptr;
  std::vector<BlockWeights> blocks;
  const float* output_norm = nullptr;
  const float* output_norm_bias = nullptr;
  Matrix output;                     // n_vocab rows of n_embd (may alias token_embd)
  const float* rope_freqs = nullptr;  // rope_dim / 2 factors, or null
  // LongRoPE's rope_dim / 2 factors for long and short contexts (both or neither).
  const float* rope_factors_long = nullptr;
  const float* rope_factors_short = nullptr;
  std::vector<std::vector<float>> owned;  // vectors converted to F32 at load
  LargeBuffer repacked;  // matrices rearranged for the kernels, one after another
};

// Finds every tensor of the architecture's schema, checks shape and type, and
// returns views into the file's mapping. Throws Error naming the tensor at fault.
ModelWeights bind_weights(const io::ModelFile& file, const Architecture& arch, const ModelConfig& config);

// Rearranges, once, every matrix the active kernels multiply faster in another
// layout (kernels::preferred_layout) into owned 64-byte-aligned copies. The token
// embedding stays as it is: its rows are looked up, not multiplied. Each source
// matrix's pages of `source` (the file mapping, may be null) are released once
// copied, so resident memory holds the weights once, not twice.
void repack_for_kernels(ModelWeights& weights, const io::MappedFile* source);

}  // namespace tessera::model
