// Activations of one forward pass, allocated once per session for up to
// `max_batch` tokens: nothing is allocated per token.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_config.h"

namespace tessera::model {

struct ForwardBuffers {
  ForwardBuffers(const ModelConfig& c, int64_t max_batch)
      : max_batch(max_batch),
        x(size(max_batch, c.n_embd)),
        xn(size(max_batch, c.n_embd)),
        q(size(max_batch, c.q_dim())),
        k(size(max_batch, c.kv_dim())),
        v(size(max_batch, c.kv_dim())),
        attn(size(max_batch, c.q_dim())),
        delta(size(max_batch, c.n_embd)),
        gate(size(max_batch, c.n_ff)),
        up(size(max_batch, c.n_ff)) {}

  int64_t max_batch;
  std::vector<float> x;      // residual stream, tokens x n_embd
  std::vector<float> xn;     // normalised input of the current sub-layer
  std::vector<float> q, k, v, attn;
  std::vector<float> delta;  // a sub-layer's output before it joins the residual
  std::vector<float> gate, up;

 private:
  static size_t size(int64_t a, int64_t b) { return static_cast<size_t>(a * b); }
};

}  // namespace tessera::model
