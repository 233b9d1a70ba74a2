#include "model/attention_mixer.h"

#include <cmath>

#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "model/token_ranges.h"

namespace tessera::model {

void attention_mixer(ThreadPool& pool, const ModelConfig& c, const AttentionOptions& options,
                     const AttentionWeights& w, const float* rope_freqs, KvPlace place, KvStorage& kv,
                     ForwardBuffers& buf, const Batch& batch) {
  const int64_t d = c.head_dim, n = batch.n_tokens;
  // q = Wq (q_dim, n_embd) @ xn;  k, v = Wk, Wv (kv_dim, n_embd) @ xn
  multiply_each(pool, {{&w.q, buf.q.data()}, {&w.k, buf.k.data()}, {&w.v, buf.v.data()}}, buf.xn.data(), n);

  kernels::RopeParams rope{d, c.rope_dim, options.rope_base, options.rope_scale, rope_freqs, c.rope_neox};
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t pos = buf.pos[static_cast<size_t>(t)];
      float* q = buf.q.data() + t * c.q_dim();
      float* k = buf.k.data() + t * c.kv_dim();
      float* v = buf.v.data() + t * c.kv_dim();
      if (options.qkv_bias) {
        kernels::add(q, q, w.q_bias, c.q_dim());
        kernels::add(k, k, w.k_bias, c.kv_dim());
        kernels::add(v, v, w.v_bias, c.kv_dim());
      }
      if (options.qk_norm) {
        for (int64_t h = 0; h < c.n_head; ++h) kernels::rmsnorm(q + h * d, q + h * d, w.q_norm, d, c.norm_eps);
        for (int64_t h = 0; h < c.n_head_kv; ++h) kernels::rmsnorm(k + h * d, k + h * d, w.k_norm, d, c.norm_eps);
      }
      if (options.rope) {
        kernels::rope(q, c.n_head, pos, rope);
        kernels::rope(k, c.n_head_kv, pos, rope);
      }
      // In the storage's types, in the row's own sequence's block.
      const BatchSequence& s = batch.seqs[buf.row_seq[static_cast<size_t>(t)]];
      const int32_t block = s.block_tables[place.group][pos / KvStorage::kBlockSize];
      kv.store(place.slot, block, pos % KvStorage::kBlockSize, k, v);
    }
  });

  for (int64_t i = 0; i < batch.n_seqs; ++i)
    buf.attn_seqs[static_cast<size_t>(i)].block_table = batch.seqs[i].block_tables[place.group];
  kernels::attention(pool, buf.q.data(), c.n_head, kv.layer_view(place.slot), buf.attn_seqs.data(), batch.n_seqs,
                     c.attn_scale, buf.attn.data(),
                     kernels::AttentionVariant{options.window, options.softcap, options.causal});
  // delta = Wo (n_embd, q_dim) @ attn
  multiply(pool, w.o, buf.attn.data(), n, buf.delta.data());
  if (options.output_bias) add_row_bias(pool, buf.delta.data(), w.o_bias, n, c.n_embd);
}

}  // namespace tessera::model
