#include "model/swiglu_channel.h"

#include "kernels/kernels.h"
#include "model/token_ranges.h"

namespace tessera::model {

void swiglu_channel(ThreadPool& pool, const ModelConfig& c, const SwigluWeights& w, ForwardBuffers& buf, int64_t n) {
  // gate, up = Wg, Wu (n_ff, n_embd) @ xn
  multiply_each(pool, {{&w.gate, buf.gate.data()}, {&w.up, buf.up.data()}}, buf.xn.data(), n);
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    float* gate = buf.gate.data() + begin * c.n_ff;
    kernels::swiglu(gate, gate, buf.up.data() + begin * c.n_ff, (end - begin) * c.n_ff);
  });
  // delta = Wd (n_embd, n_ff) @ silu(gate) * up
  multiply(pool, w.down, buf.gate.data(), n, buf.delta.data());
}

}  // namespace tessera::model
