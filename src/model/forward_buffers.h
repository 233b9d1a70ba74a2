// Activations of one forward pass, allocated once per executor for up to
// `max_batch` tokens of any mix of sequences: nothing is allocated per step.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/attention.h"
#include "model/model_config.h"

namespace tessera::model {

// A mixture-of-experts layer's scratch (empty for a dense model): each token's
// chosen experts and weights, and its rows gathered into one block per expert
// (slots), n_tokens * n_expert_used of them.
struct ExpertBuffers {
  ExpertBuffers(const ModelConfig& c, int64_t max_batch) {
    if (c.n_expert == 0) return;
    const auto slots = static_cast<size_t>(max_batch * c.n_expert_used);
    probs.resize(static_cast<size_t>(max_batch * c.n_expert));
    chosen.resize(slots);
    weight.resize(slots);
    slot.resize(slots);
    first_slot.resize(static_cast<size_t>(c.n_expert + 1));
    next_slot.resize(static_cast<size_t>(c.n_expert));
    x.resize(slots * static_cast<size_t>(c.n_embd));
    out.resize(slots * static_cast<size_t>(c.n_embd));
    gate.resize(slots * static_cast<size_t>(c.n_ff_exp));
    up.resize(slots * static_cast<size_t>(c.n_ff_exp));
    shared_gate.resize(static_cast<size_t>(max_batch * c.n_ff_shexp));
    shared_up.resize(static_cast<size_t>(max_batch * c.n_ff_shexp));
    shared_scale.resize(static_cast<size_t>(max_batch));
  }
  std::vector<float> probs;          // tokens x n_expert: the router's softmax
  std::vector<int32_t> chosen;       // tokens x k: expert of each rank, best first
  std::vector<float> weight;         // tokens x k: its weight
  std::vector<int64_t> slot;         // tokens x k: its row in x / out
  std::vector<int64_t> first_slot;   // n_expert + 1: expert e's rows are first_slot[e] ..< first_slot[e + 1]
  std::vector<int64_t> next_slot;    // n_expert: while grouping, each expert's next free row
  std::vector<float> x, out;         // slots x n_embd: inputs gathered by expert, experts' outputs
  std::vector<float> gate, up;       // slots x n_ff_exp
  std::vector<float> shared_gate, shared_up;  // tokens x n_ff_shexp (shared expert)
  std::vector<float> shared_scale;   // tokens: the shared expert's gate logit, then sigmoid of it
};

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
        gate(size(max_batch, c.n_expert > 0 ? 0 : c.n_ff)),
        up(size(max_batch, c.n_expert > 0 ? 0 : c.n_ff)),
        pos(static_cast<size_t>(max_batch)),
        row_seq(static_cast<size_t>(max_batch)),
        attn_seqs(static_cast<size_t>(max_batch)),
        experts(c, max_batch) {}

  int64_t max_batch;
  std::vector<float> x;      // residual stream, tokens x n_embd
  std::vector<float> xn;     // normalised input of the current sub-layer
  std::vector<float> q, k, v, attn;
  std::vector<float> delta;  // a sub-layer's output before it joins the residual
  std::vector<float> gate, up;
  std::vector<int64_t> pos;      // each row's position in its sequence
  std::vector<int64_t> row_seq;  // each row's sequence (index into the batch's seqs)
  std::vector<kernels::AttentionSeq> attn_seqs;  // the batch's sequences as the attention kernel takes them
  ExpertBuffers experts;

 private:
  static size_t size(int64_t a, int64_t b) { return static_cast<size_t>(a * b); }
};

}  // namespace tessera::model
