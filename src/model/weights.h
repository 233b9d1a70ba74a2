// Typed views of a model's tensors, bound by name and checked once at load.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "io/model_file.h"
#include "model/architecture.h"
#include "model/model_config.h"

namespace tessera::model {

// `rows` rows of `cols` elements in `type`, consecutive: y = W x has `rows` outputs.
struct Matrix {
  DType type = DType::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

struct AttentionWeights {
  Matrix q, k, v, o;
};

struct SwigluWeights {
  Matrix gate, up, down;
};

struct BlockWeights {
  const float* mixer_norm = nullptr;
  AttentionWeights attention;
  const float* channel_norm = nullptr;
  SwigluWeights mlp;
};

struct ModelWeights {
  Matrix token_embd;  // n_vocab rows of n_embd
  std::vector<BlockWeights> blocks;
  const float* output_norm = nullptr;
  Matrix output;                     // n_vocab rows of n_embd (may alias token_embd)
  const float* rope_freqs = nullptr;  // rope_dim / 2 factors, or null
  std::vector<std::vector<float>> owned;  // vectors converted to F32 at load
};

// Finds every tensor the architecture needs, checks shape and type, and returns
// views into the file's mapping. Throws Error naming the tensor at fault.
ModelWeights bind_weights(const io::ModelFile& file, const Architecture& arch, const ModelConfig& config);

}  // namespace tessera::model
