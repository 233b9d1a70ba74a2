// The mixture-of-experts channel mixer: a router picks each token's top-k
// experts (SwiGLU each), whose outputs are summed with the router's weights;
// plus a gated shared expert where the family has one.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "model/architecture.h"
#include "model/forward_buffers.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace tessera::model {

// One token's routing: softmax of the router's logits (in place, n_expert),
// the k most probable experts, best first (the lower id on a tie), and their
// weights: the probabilities, divided by their sum when `renormalize`.
void route_token(float* probs, int64_t n_expert, int64_t k, bool renormalize, int32_t* chosen, float* weight);

// Reads buf.xn (n tokens), writes the output to buf.delta. Tokens are grouped by
// expert, so each chosen expert's matrices are streamed once per call, over all
// its tokens at once; a token's result does not depend on the others in the
// call (its k outputs are summed in rank order, not in group order).
void moe_channel(ThreadPool& pool, const ModelConfig& c, const ExpertOptions& options, const ExpertWeights& w,
                 ForwardBuffers& buf, int64_t n);

}  // namespace tessera::model
