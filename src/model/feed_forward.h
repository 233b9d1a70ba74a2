// Channel mixers: the gated MLP down(silu(gate x) * up x) and GPT-2's
// down(gelu(up x + b_up)) + b_down.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "model/forward_buffers.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace tessera::model {

// Reads buf.xn (n tokens), writes the output to buf.delta.
void swiglu_channel(ThreadPool& pool, const ModelConfig& c, const FeedForwardWeights& w, ForwardBuffers& buf,
                    int64_t n);
void geglu_channel(ThreadPool& pool, const ModelConfig& c, const FeedForwardWeights& w, ForwardBuffers& buf,
                   int64_t n);
void gelu_mlp_channel(ThreadPool& pool, const ModelConfig& c, const FeedForwardWeights& w, ForwardBuffers& buf,
                      int64_t n);

}  // namespace tessera::model
