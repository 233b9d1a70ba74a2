#include "model/moe_channel.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "model/token_ranges.h"

namespace tessera::model {

void route_token(float* probs, int64_t n_expert, int64_t k, bool renormalize, int32_t* chosen, float* weight) {
  kernels::softmax(probs, n_expert);
  for (int64_t j = 0; j < k; ++j) {  // k is small (2-8): selection, best first
    int32_t best = -1;
    for (int32_t e = 0; e < n_expert; ++e) {
      if (std::find(chosen, chosen + j, e) != chosen + j) continue;
      if (best < 0 || probs[e] > probs[best]) best = e;
    }
    chosen[j] = best;
    weight[j] = probs[best];
  }
  if (!renormalize) return;
  float sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += weight[j];
  for (int64_t j = 0; j < k; ++j) weight[j] /= sum;
}

namespace {

// Routes every token and gives each (token, rank) a row of its expert's block:
// experts in id order, each expert's tokens in batch order.
void route_and_group(ThreadPool& pool, const ModelConfig& c, const ExpertOptions& options, const ExpertWeights& w,
                     ExpertBuffers& b, const float* xn, int64_t n) {
  const int64_t n_expert = c.n_expert, k = c.n_expert_used;
  // probs = Wr (n_expert, n_embd) @ xn, then softmax and top-k per token
  multiply(pool, w.router, xn, n, b.probs.data());
  for (int64_t t = 0; t < n; ++t)
    route_token(&b.probs[t * n_expert], n_expert, k, options.renormalize, &b.chosen[t * k], &b.weight[t * k]);
  std::fill(b.first_slot.begin(), b.first_slot.end(), 0);
  for (int64_t i = 0; i < n * k; ++i) ++b.first_slot[b.chosen[i] + 1];
  for (int64_t e = 0; e < n_expert; ++e) b.first_slot[e + 1] += b.first_slot[e];
  std::copy_n(b.first_slot.begin(), n_expert, b.next_slot.begin());
  for (int64_t i = 0; i < n * k; ++i) b.slot[i] = b.next_slot[b.chosen[i]]++;  // token order within an expert
  const int64_t d = c.n_embd;
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      for (int64_t j = 0; j < k; ++j) std::copy_n(xn + t * d, d, &b.x[b.slot[t * k + j] * d]);
  });
}

// out[slot] = down(silu(gate x) * up x) for every slot, one expert at a time.
void run_experts(ThreadPool& pool, const ModelConfig& c, const ExpertWeights& w, ExpertBuffers& b, const float* xn,
                 int64_t n) {
  const int64_t d = c.n_embd, f = c.n_ff_exp, k = c.n_expert_used;
  auto swiglu_rows = [&](int64_t first, int64_t rows) {
    for_token_ranges(pool, rows, [&](int64_t begin, int64_t end) {
      float* gate = &b.gate[(first + begin) * f];
      kernels::swiglu(gate, gate, &b.up[(first + begin) * f], (end - begin) * f);
    });
  };
  if (n == 1 && k <= 4) {  // decode: every chosen expert's gate and up in one pool job
    kernels::MatmulPart parts[8];
    for (int64_t j = 0; j < k; ++j) {
      const int32_t e = b.chosen[j];
      const int64_t s = b.slot[j];
      const Matrix &g = w.gate[e], &u = w.up[e];
      parts[2 * j] = {g.data, g.rows, &b.gate[s * f], g.type, g.layout};
      parts[2 * j + 1] = {u.data, u.rows, &b.up[s * f], u.type, u.layout};
    }
    kernels::matmul_many(pool, d, xn, 1, parts, static_cast<int>(2 * k));
    swiglu_rows(0, k);
    for (int64_t j = 0; j < k; ++j)
      multiply(pool, w.down[b.chosen[j]], &b.gate[b.slot[j] * f], 1, &b.out[b.slot[j] * d]);
    return;
  }
  for (int64_t e = 0; e < c.n_expert; ++e) {
    const int64_t first = b.first_slot[e], rows = b.first_slot[e + 1] - first;
    if (rows == 0) continue;  // no token chose it: its weights are not read
    // gate, up = Wg, Wu (n_ff_exp, n_embd) @ x; out = Wd (n_embd, n_ff_exp) @ silu(gate) * up
    multiply_each(pool, {{&w.gate[e], &b.gate[first * f]}, {&w.up[e], &b.up[first * f]}}, &b.x[first * d], rows);
    swiglu_rows(first, rows);
    multiply(pool, w.down[e], &b.gate[first * f], rows, &b.out[first * d]);
  }
}

// delta += sigmoid(w . xn) * down(silu(gate xn) * up xn), the shared expert.
void add_shared_expert(ThreadPool& pool, const ModelConfig& c, const ExpertWeights& w, ForwardBuffers& buf,
                       int64_t n) {
  ExpertBuffers& b = buf.experts;
  const int64_t d = c.n_embd, f = c.n_ff_shexp;
  const Matrix gate_inp{DType::F32, w.shared_gate_inp, 1, d};
  multiply_each(pool,
                {{&w.shared_gate, b.shared_gate.data()}, {&w.shared_up, b.shared_up.data()},
                 {&gate_inp, b.shared_scale.data()}},
                buf.xn.data(), n);
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    float* gate = &b.shared_gate[begin * f];
    kernels::swiglu(gate, gate, &b.shared_up[begin * f], (end - begin) * f);
  });
  float* out = b.x.data();  // the gathered inputs are spent; n <= slots rows
  multiply(pool, w.shared_down, b.shared_gate.data(), n, out);
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float scale = 1.0f / (1.0f + std::exp(-b.shared_scale[t]));
      float* delta = &buf.delta[t * d];
      for (int64_t i = 0; i < d; ++i) delta[i] += scale * out[t * d + i];
    }
  });
}

}  // namespace

void moe_channel(ThreadPool& pool, const ModelConfig& c, const ExpertOptions& options, const ExpertWeights& w,
                 ForwardBuffers& buf, int64_t n) {
  ExpertBuffers& b = buf.experts;
  route_and_group(pool, c, options, w, b, buf.xn.data(), n);
  run_experts(pool, c, w, b, buf.xn.data(), n);
  // delta[t] = sum over ranks j of weight[t, j] * out[slot[t, j]], in rank order
  const int64_t d = c.n_embd, k = c.n_expert_used;
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* delta = &buf.delta[t * d];
      for (int64_t j = 0; j < k; ++j) {
        const float wj = b.weight[t * k + j];
        const float* y = &b.out[b.slot[t * k + j] * d];
        if (j == 0)
          for (int64_t i = 0; i < d; ++i) delta[i] = wj * y[i];
        else
          for (int64_t i = 0; i < d; ++i) delta[i] += wj * y[i];
      }
    }
  });
  if (options.shared) add_shared_expert(pool, c, w, buf, n);
}

}  // namespace tessera::model
