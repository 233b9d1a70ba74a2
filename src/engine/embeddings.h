// Embeddings of whole texts by an embedding model (an encoder such as BERT):
// each token sequence goes through the model in one forward pass, whole (its
// tokens see one another), several sequences per pass, and comes out pooled
// and normalised.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"

namespace tessera::engine {

// llama.cpp's --embd-normalize: -1 none, 0 max-abs scaled to int16's range,
// 1 taxicab, 2 euclidean (L2), p > 2 the p-norm.
void normalize_embedding(float* v, int64_t n, int norm);

// One vector of n_embd values per input. Throws Error for an empty input, one
// longer than the model's positions, a token outside the vocabulary, or a
// model that is not an embedding model.
std::vector<std::vector<float>> embed(const model::Model& m, ThreadPool& pool,
                                      const std::vector<std::vector<int32_t>>& inputs, model::Pooling pooling,
                                      int normalize);

}  // namespace tessera::engine
