#include "model/model.h"

#include "core/error.h"
#include "kernels/kernels.h"
#include "model/attention_mixer.h"
#include "model/swiglu_channel.h"
#include "model/token_ranges.h"

namespace tessera::model {

Model::Model(std::shared_ptr<const io::ModelFile> file)
    : file_(std::move(file)),
      config_(read_model_config(file_->meta)),
      arch_(&find_architecture(config_.arch, file_->path)),
      weights_(bind_weights(*file_, *arch_, config_)) {
  config_.rope_neox = arch_->rope_neox;
  repack_for_kernels(weights_, file_->mapping.get());
}

KvCache Model::make_cache(int64_t n_ctx, KvCacheTypes types) const {
  return KvCache(config_.n_layer, config_.n_head_kv, config_.head_dim, n_ctx, types);
}

void Model::forward(ThreadPool& pool, KvCache& cache, ForwardBuffers& buf, const int32_t* tokens, int64_t n,
                    int64_t pos0, float* logits, bool all_logits) const {
  const ModelConfig& c = config_;
  if (n <= 0 || n > buf.max_batch) fail("internal error: batch of {} tokens (buffers hold {})", n, buf.max_batch);
  if (pos0 < 0 || pos0 + n > cache.capacity())
    fail("positions {}..{} exceed the context size ({} tokens)", pos0, pos0 + n - 1, cache.capacity());

  const int64_t d = c.n_embd;
  const size_t embd_row = row_bytes(weights_.token_embd.type, d);
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.n_vocab) fail("token id {} is outside the vocabulary (0..{})", tokens[t], c.n_vocab - 1);
    const auto* row = static_cast<const uint8_t*>(weights_.token_embd.data) + static_cast<size_t>(tokens[t]) * embd_row;
    kernels::dequantize_row(weights_.token_embd.type, row, buf.x.data() + t * d, d);
  }

  // MetaFormer block: x += mixer(norm1(x)); x += channel(norm2(x)).
  auto add_delta = [&] {
    for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin * d; i < end * d; ++i) buf.x[static_cast<size_t>(i)] += buf.delta[static_cast<size_t>(i)];
    });
  };
  auto norm = [&](const float* weight) {
    for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) kernels::rmsnorm(&buf.xn[t * d], &buf.x[t * d], weight, d, c.rms_eps);
    });
  };
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const BlockWeights& blk = weights_.blocks[static_cast<size_t>(l)];
    norm(blk.mixer_norm);
    switch (arch_->mixer) {
      case MixerKind::Attention:
        attention_mixer(pool, c, blk.attention, weights_.rope_freqs, l, cache, buf, n, pos0);
        break;
    }
    add_delta();
    norm(blk.channel_norm);
    switch (arch_->channel) {
      case ChannelKind::SwiGLU:
        swiglu_channel(pool, c, blk.mlp, buf, n);
        break;
    }
    add_delta();
  }

  // logits = Wout (n_vocab, n_embd) @ norm(x), for the rows asked for.
  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t rows = n - first;
  for (int64_t t = first; t < n; ++t)
    kernels::rmsnorm(&buf.xn[(t - first) * d], &buf.x[t * d], weights_.output_norm, d, c.rms_eps);
  multiply(pool, weights_.output, buf.xn.data(), rows, logits);
}

}  // namespace tessera::model
