#include "model/model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/kernels.h"
#include "model/attention_mixer.h"
#include "model/feed_forward.h"
#include "model/moe_channel.h"
#include "model/token_ranges.h"

namespace tessera::model {

Model::Model(std::shared_ptr<const io::ModelFile> file)
    : file_(std::move(file)),
      config_(read_model_config(file_->meta)),
      arch_(&find_architecture(config_.arch, file_->path)),
      layers_(block_schedule(*arch_, config_)),
      kv_groups_(model::kv_groups(layers_)),
      weights_(bind_weights(*file_, *arch_, config_)) {
  config_.rope_neox = arch_->rope_neox;
  repack_for_kernels(weights_, file_->mapping.get());
}

KvStorage Model::make_kv_storage(int64_t n_blocks, KvCacheTypes types) const {
  return KvStorage(kv_groups_.group_size, config_.n_head_kv, config_.head_dim, n_blocks, types);
}

size_t Model::kv_block_bytes(KvCacheTypes types) const {
  return KvStorage::block_bytes(kv_groups_.group_size, config_.n_head_kv, config_.head_dim, types);
}

namespace {

// Everything forward relies on, checked before anything is written.
void check_batch(const ModelConfig& c, const KvGroups& groups, const KvStorage& kv, const ForwardBuffers& buf,
                 const Batch& b) {
  if (b.n_tokens <= 0 || b.n_tokens > buf.max_batch)
    fail("internal error: batch of {} tokens (buffers hold {})", b.n_tokens, buf.max_batch);
  int64_t next_row = 0;
  for (int64_t i = 0; i < b.n_seqs; ++i) {
    const BatchSequence& s = b.seqs[i];
    if (s.row0 != next_row || s.n_tokens <= 0)
      fail("internal error: batch sequence {} holds rows {}..{} (expected to start at row {})", i, s.row0,
           s.row0 + s.n_tokens - 1, next_row);
    next_row += s.n_tokens;
    if (s.pos0 < 0 || s.n_blocks * KvStorage::kBlockSize < s.pos0 + s.n_tokens)
      fail("internal error: batch sequence {} at positions {}..{} has {} KV blocks", i, s.pos0,
           s.pos0 + s.n_tokens - 1, s.n_blocks);
    if (c.max_positions > 0 && s.pos0 + s.n_tokens > c.max_positions)
      fail("internal error: batch sequence {} reaches position {}, past the {} learned positions", i,
           s.pos0 + s.n_tokens - 1, c.max_positions);
    for (int64_t g = 0; g < groups.n_groups(); ++g) {
      const int32_t* table = s.block_tables[g];
      // What its rows read: from the first row's window on (all of it without a window).
      for (int64_t k = groups.first_block(g, s.pos0, KvStorage::kBlockSize); k < s.n_blocks; ++k)
        if (table[k] < 0 || table[k] >= kv.n_blocks())
          fail("internal error: batch sequence {} names KV block {} of {} (group {})", i, table[k], kv.n_blocks(), g);
    }
  }
  if (next_row != b.n_tokens) fail("internal error: the batch's sequences cover {} of its {} rows", next_row, b.n_tokens);
  for (int64_t t = 0; t < b.n_tokens; ++t)
    if (b.tokens[t] < 0 || b.tokens[t] >= c.n_vocab)
      fail("token id {} is outside the vocabulary (0..{})", b.tokens[t], c.n_vocab - 1);
  for (int64_t i = 0; i < b.n_logit_rows; ++i)
    if (b.logit_rows[i] < 0 || b.logit_rows[i] >= b.n_tokens)
      fail("internal error: logits asked for row {} of a batch of {}", b.logit_rows[i], b.n_tokens);
  if (b.n_logit_rows > buf.max_batch) fail("internal error: {} logit rows (buffers hold {})", b.n_logit_rows, buf.max_batch);
}

}  // namespace

void Model::run_blocks(ThreadPool& pool, KvStorage& kv, ForwardBuffers& buf, const Batch& batch) const {
  const ModelConfig& c = config_;
  check_batch(c, kv_groups_, kv, buf, batch);
  const int64_t n = batch.n_tokens;
  for (int64_t i = 0; i < batch.n_seqs; ++i) {
    const BatchSequence& s = batch.seqs[i];
    for (int64_t t = 0; t < s.n_tokens; ++t) {
      buf.pos[static_cast<size_t>(s.row0 + t)] = s.pos0 + t;
      buf.row_seq[static_cast<size_t>(s.row0 + t)] = i;
    }
    buf.attn_seqs[static_cast<size_t>(i)] = {s.row0, s.n_tokens, s.pos0, nullptr};  // tables: per layer
  }

  const int64_t d = c.n_embd;
  const size_t embd_row = row_bytes(weights_.token_embd.type, d);
  for (int64_t t = 0; t < n; ++t) {
    const auto* row =
        static_cast<const uint8_t*>(weights_.token_embd.data) + static_cast<size_t>(batch.tokens[t]) * embd_row;
    kernels::dequantize_row(weights_.token_embd.type, row, buf.x.data() + t * d, d);
  }
  if (arch_->embed_scale) {  // as the reference: times sqrt(n_embd) in float
    const float s = std::sqrt(static_cast<float>(d));
    for (int64_t i = 0; i < n * d; ++i) buf.x[static_cast<size_t>(i)] *= s;
  }
  if (weights_.token_types.data) {  // every token is of type 0: x += token_types[0]
    kernels::dequantize_row(weights_.token_types.type, weights_.token_types.data, buf.xn.data(), d);
    for (int64_t t = 0; t < n; ++t) kernels::add(buf.x.data() + t * d, buf.x.data() + t * d, buf.xn.data(), d);
  }
  if (weights_.pos_embd.data) {  // learned positions: x += pos_embd[pos]
    const size_t pos_row = row_bytes(weights_.pos_embd.type, d);
    for (int64_t t = 0; t < n; ++t) {
      const auto* row = static_cast<const uint8_t*>(weights_.pos_embd.data) +
                        static_cast<size_t>(buf.pos[static_cast<size_t>(t)]) * pos_row;
      kernels::dequantize_row(weights_.pos_embd.type, row, buf.delta.data() + t * d, d);
      kernels::add(buf.x.data() + t * d, buf.x.data() + t * d, buf.delta.data() + t * d, d);
    }
  }

  // MetaFormer block: x += mixer(norm1(x)); x += channel(norm2(x)).
  auto add_delta = [&] {
    for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
      kernels::add(&buf.x[begin * d], &buf.x[begin * d], &buf.delta[begin * d], (end - begin) * d);
    });
  };
  auto post_norm = [&](const float* weight) {  // delta = rmsnorm(delta)
    for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) kernels::rmsnorm(&buf.delta[t * d], &buf.delta[t * d], weight, d, c.norm_eps);
    });
  };
  // out = norm(x), row by row (out may be x).
  auto norm = [&](NormKind kind, float* out, const float* weight, const float* bias) {
    for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) norm_row(kind, &out[t * d], &buf.x[t * d], weight, bias);
    });
  };
  if (weights_.embd_norm) norm(arch_->norm, buf.x.data(), weights_.embd_norm, weights_.embd_norm_bias);
  // A sub-layer's input (xn) and what follows its residual add, by the layer's norm placement.
  auto enter = [&](const LayerSpec& layer, const float* weight, const float* bias) {
    if (layer.placement == NormPlacement::Pre) {
      norm(layer.norm, buf.xn.data(), weight, bias);
    } else {
      for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
        std::copy(buf.x.data() + begin * d, buf.x.data() + end * d, buf.xn.data() + begin * d);
      });
    }
  };
  auto leave = [&](const LayerSpec& layer, const float* weight, const float* bias) {
    add_delta();
    if (layer.placement == NormPlacement::Post) norm(layer.norm, buf.x.data(), weight, bias);
  };
  const float* rope_freqs = rope_factors(batch.n_ctx);  // the engine's context picks one set for every layer
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const BlockWeights& blk = weights_.blocks[static_cast<size_t>(l)];
    const LayerSpec& layer = layers_[static_cast<size_t>(l)];
    enter(layer, blk.mixer_norm, blk.mixer_norm_bias);
    switch (layer.mixer) {
      case MixerKind::Attention:
        attention_mixer(pool, c, layer.attention, blk.attention, rope_freqs,
                        {kv_groups_.layer_group[static_cast<size_t>(l)], kv_groups_.layer_slot[static_cast<size_t>(l)]},
                        kv, buf, batch);
        break;
    }
    if (layer.post_norms) post_norm(blk.attention.post_norm);
    leave(layer, blk.mixer_norm, blk.mixer_norm_bias);
    enter(layer, blk.channel_norm, blk.channel_norm_bias);
    switch (layer.channel) {
      case ChannelKind::SwiGLU:
        swiglu_channel(pool, c, blk.mlp, buf, n);
        break;
      case ChannelKind::GeGLU:
        geglu_channel(pool, c, blk.mlp, buf, n);
        break;
      case ChannelKind::GeluMlp:
        gelu_mlp_channel(pool, c, blk.mlp, buf, n);
        break;
      case ChannelKind::MoE:
        moe_channel(pool, c, layer.experts, blk.experts, buf, n);
        break;
    }
    if (layer.post_norms) post_norm(blk.mlp.post_norm);
    leave(layer, blk.channel_norm, blk.channel_norm_bias);
  }
}

const float* Model::rope_factors(int64_t n_ctx) const {
  if (weights_.rope_freqs) return weights_.rope_freqs;
  return n_ctx > config_.rope_orig_ctx ? weights_.rope_factors_long : weights_.rope_factors_short;
}

void Model::norm_row(NormKind kind, float* out, const float* x, const float* weight, const float* bias) const {
  if (kind == NormKind::LayerNorm)
    kernels::layernorm(out, x, weight, bias, config_.n_embd, config_.norm_eps);
  else
    kernels::rmsnorm(out, x, weight, config_.n_embd, config_.norm_eps);
}

void Model::forward(ThreadPool& pool, KvStorage& kv, ForwardBuffers& buf, const Batch& batch, float* logits) const {
  if (arch_->output != ModelOutput::Logits)
    fail("{}: a '{}' model is an embedding model: it computes embeddings, not next-token logits", file_->path,
         config_.arch);
  run_blocks(pool, kv, buf, batch);
  const ModelConfig& c = config_;
  const int64_t d = c.n_embd;

  // logits = Wout (n_vocab, n_embd) @ norm(x), for the rows asked for.
  const int64_t rows = batch.n_logit_rows;
  if (rows == 0) return;
  for (int64_t i = 0; i < rows; ++i)
    norm_row(arch_->norm, &buf.xn[i * d], &buf.x[batch.logit_rows[i] * d], weights_.output_norm,
             weights_.output_norm_bias);
  multiply(pool, weights_.output, buf.xn.data(), rows, logits);
  if (c.final_softcap > 0)
    for (int64_t i = 0; i < rows * c.n_vocab; ++i) logits[i] = c.final_softcap * std::tanh(logits[i] / c.final_softcap);
}

void Model::embed(ThreadPool& pool, KvStorage& kv, ForwardBuffers& buf, const Batch& batch, Pooling pooling,
                  float* out) const {
  if (arch_->output != ModelOutput::Embeddings)
    fail("{}: a '{}' model is a text generator, not an embedding model", file_->path, config_.arch);
  run_blocks(pool, kv, buf, batch);
  const int64_t d = config_.n_embd;
  for (int64_t i = 0; i < batch.n_seqs; ++i) {
    const BatchSequence& s = batch.seqs[i];
    float* o = out + i * d;
    const float* x = buf.x.data() + s.row0 * d;
    switch (pooling) {
      case Pooling::Mean: {
        std::fill(o, o + d, 0.0f);
        for (int64_t t = 0; t < s.n_tokens; ++t) kernels::add(o, o, x + t * d, d);
        const float inv = 1.0f / static_cast<float>(s.n_tokens);
        for (int64_t j = 0; j < d; ++j) o[j] *= inv;
        break;
      }
      case Pooling::Cls:
        std::copy(x, x + d, o);
        break;
      case Pooling::Last:
        std::copy(x + (s.n_tokens - 1) * d, x + s.n_tokens * d, o);
        break;
      case Pooling::None:
        fail("internal error: embeddings asked for without pooling");
    }
  }
}

}  // namespace tessera::model
