// Activations of one forward pass, allocated once per executor for up to
// `max_batch` tokens of any mix of sequences: nothing is allocated per step.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/attention.h"
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
        up(size(max_batch, c.n_ff)),
        pos(static_cast<size_t>(max_batch)),
        row_seq(static_cast<size_t>(max_batch)),
        attn_seqs(static_cast<size_t>(max_batch)) {}

  int64_t max_batch;
  std::vector<float> x;      // residual stream, tokens x n_embd
  std::vector<float> xn;     // normalised input of the current sub-layer
  std::vector<float> q, k, v, attn;
  std::vector<float> delta;  // a sub-layer's output before it joins the residual
  std::vector<float> gate, up;
  std::vector<int64_t> pos;      // each row's position in its sequence
  std::vector<int64_t> row_seq;  // each row's sequence (index into the batch's seqs)
  std::vector<kernels::AttentionSeq> attn_seqs;  // the batch's sequences as the attention kernel takes them

 private:
  static size_t size(int64_t a, int64_t b) { return static_cast<size_t>(a * b); }
};

}  // namespace tessera::model
