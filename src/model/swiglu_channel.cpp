#include "model/swiglu_channel.h"

#include "kernels/kernels.h"

namespace tessera::model {

void swiglu_channel(ThreadPool& pool, const ModelConfig& c, const SwigluWeights& w, ForwardBuffers& buf, int64_t n) {
  // gate, up = Wg, Wu (n_ff, n_embd) @ xn
  kernels::matmul(pool, w.gate.type, w.gate.data, w.gate.rows, w.gate.cols, buf.xn.data(), n, buf.gate.data());
  kernels::matmul(pool, w.up.type, w.up.data, w.up.rows, w.up.cols, buf.xn.data(), n, buf.up.data());
  kernels::swiglu(buf.gate.data(), buf.gate.data(), buf.up.data(), n * c.n_ff);
  // delta = Wd (n_embd, n_ff) @ silu(gate) * up
  kernels::matmul(pool, w.down.type, w.down.data, w.down.rows, w.down.cols, buf.gate.data(), n, buf.delta.data());
}

}  // namespace tessera::model
