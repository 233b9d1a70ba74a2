#include "model/feed_forward.h"

#include "kernels/kernels.h"
#include "model/token_ranges.h"

namespace tessera::model {

void swiglu_channel(ThreadPool& pool, const ModelConfig& c, const FeedForwardWeights& w, ForwardBuffers& buf,
                    int64_t n) {
  // gate, up = Wg, Wu (n_ff, n_embd) @ xn
  multiply_each(pool, {{&w.gate, buf.gate.data()}, {&w.up, buf.up.data()}}, buf.xn.data(), n);
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    float* gate = buf.gate.data() + begin * c.n_ff;
    kernels::swiglu(gate, gate, buf.up.data() + begin * c.n_ff, (end - begin) * c.n_ff);
  });
  // delta = Wd (n_embd, n_ff) @ silu(gate) * up
  multiply(pool, w.down, buf.gate.data(), n, buf.delta.data());
}

void geglu_channel(ThreadPool& pool, const ModelConfig& c, const FeedForwardWeights& w, ForwardBuffers& buf,
                   int64_t n) {
  // gate, up = Wg, Wu (n_ff, n_embd) @ xn
  multiply_each(pool, {{&w.gate, buf.gate.data()}, {&w.up, buf.up.data()}}, buf.xn.data(), n);
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    float* gate = buf.gate.data() + begin * c.n_ff;
    const int64_t count = (end - begin) * c.n_ff;
    kernels::gelu(gate, gate, count);
    kernels::mul(gate, gate, buf.up.data() + begin * c.n_ff, count);
  });
  // delta = Wd (n_embd, n_ff) @ gelu(gate) * up
  multiply(pool, w.down, buf.gate.data(), n, buf.delta.data());
}

void gelu_mlp_channel(ThreadPool& pool, const ModelConfig& c, const FeedForwardWeights& w, ForwardBuffers& buf,
                      int64_t n) {
  // up = Wu (n_ff, n_embd) @ xn + b_up; then gelu, per row
  multiply(pool, w.up, buf.xn.data(), n, buf.up.data());
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* up = buf.up.data() + t * c.n_ff;
      kernels::add(up, up, w.up_bias, c.n_ff);
      kernels::gelu(up, up, c.n_ff);
    }
  });
  // delta = Wd (n_embd, n_ff) @ gelu(...) + b_down
  multiply(pool, w.down, buf.up.data(), n, buf.delta.data());
  add_row_bias(pool, buf.delta.data(), w.down_bias, n, c.n_embd);
}

}  // namespace tessera::model
