#include "model/model_config.h"

#include <cmath>

#include "core/error.h"
#include "model/architecture.h"

namespace tessera::model {
namespace {

int64_t positive(const io::Metadata& meta, const std::string& key, int64_t value, int64_t limit) {
  if (value <= 0 || value > limit)
    fail("{}: metadata key '{}' = {} is out of range (1..{})", meta.source, key, value, limit);
  return value;
}

// Experts: how many, how many per token, and their feed-forward dims, with
// llama.cpp's defaults (llama: n_ff per expert; Qwen-MoE: the expert_* keys,
// else n_ff / n_expert_used and n_ff).
void read_expert_config(const io::Metadata& meta, const Architecture& arch, ModelConfig& c) {
  const std::string p = c.arch + ".";
  const bool has_count = meta.has(p + "expert_count") && meta.get_int(p + "expert_count") != 0;
  if (!has_count) {
    if (arch.experts == Experts::Required) fail("{}: {}expert_count is missing or 0", meta.source, p);
    return;
  }
  if (arch.experts == Experts::None)
    fail("{}: {}expert_count is set, but Tessera has no experts for {} models", meta.source, p, c.arch);
  c.n_expert = positive(meta, p + "expert_count", meta.get_int(p + "expert_count"), 256);
  c.n_expert_used = positive(meta, p + "expert_used_count", meta.get_int(p + "expert_used_count"), 256);
  if (c.n_expert_used > c.n_expert)
    fail("{}: {}expert_used_count ({}) exceeds expert_count ({})", meta.source, p, c.n_expert_used, c.n_expert);
  const bool qwen_keys = arch.experts == Experts::Required;
  c.n_ff_exp = qwen_keys ? c.n_ff / c.n_expert_used : c.n_ff;
  if (qwen_keys && meta.has(p + "expert_feed_forward_length"))
    c.n_ff_exp = positive(meta, p + "expert_feed_forward_length", meta.get_int(p + "expert_feed_forward_length"), 1 << 22);
  if (c.n_ff_exp <= 0) fail("{}: {}expert feed-forward dim is 0", meta.source, p);
  if (!arch.expert_options.shared) return;
  c.n_ff_shexp = c.n_ff;
  if (meta.has(p + "expert_shared_feed_forward_length"))
    c.n_ff_shexp = positive(meta, p + "expert_shared_feed_forward_length",
                            meta.get_int(p + "expert_shared_feed_forward_length"), 1 << 22);
}

// An embedding model's pooling, and its token types when its schema has them.
void read_encoder_keys(const io::Metadata& meta, const Architecture& arch, ModelConfig& c) {
  const std::string p = c.arch + ".";
  if (meta.has(p + "attention.causal") && meta.get_bool(p + "attention.causal") != arch.attention.causal)
    fail("{}: {}attention.causal differs from what Tessera's '{}' computes", meta.source, p, c.arch);
  if (meta.has(p + "pooling_type")) {
    const int64_t t = meta.get_int(p + "pooling_type");
    if (t < 0 || t > 3)
      fail("{}: {}pooling_type = {} is not supported (0 none, 1 mean, 2 cls, 3 last)", meta.source, p, t);
    c.pooling = static_cast<Pooling>(t);
  }
  for (const TensorSpec& t : arch.tensors)
    if (t.role == Role::TokenTypes) {
      const std::string key = "tokenizer.ggml.token_type_count";
      c.n_token_types = meta.has(key) ? positive(meta, key, meta.get_int(key), 1 << 16) : 1;
    }
}

// Phi-3 files converted before phi3.attention.sliding_window existed: the
// windows of the released models, by shape, as llama.cpp assigns them
// (Phi-3-mini/medium-4k: 2047; mini-128k: 262144; medium-128k: 131072); 0 if
// the file is none of them.
int64_t legacy_phi3_window(const ModelConfig& c) {
  if (c.arch != "phi3") return 0;
  if ((c.n_layer == 32 || c.n_layer == 40) && c.n_ctx_train == 4096) return 2047;
  if (c.n_layer == 32 && c.n_head_kv == 32 && c.n_ctx_train == 131072) return 262144;
  if (c.n_layer == 40 && c.n_ctx_train == 131072) return 131072;
  return 0;
}

}  // namespace

ModelConfig read_model_config(const io::Metadata& meta) {
  ModelConfig c;
  c.arch = meta.get_string("general.architecture");
  const Architecture& arch = find_architecture(c.arch, meta.source);  // throws for architectures we cannot run
  c.name = meta.get_string_opt("general.name").value_or("");
  const std::string p = c.arch + ".";
  auto int_key = [&](const std::string& key, int64_t limit) {
    return positive(meta, p + key, meta.get_int(p + key), limit);
  };

  c.n_embd = int_key("embedding_length", 1 << 20);
  c.n_layer = int_key("block_count", 4096);
  c.n_ff = int_key("feed_forward_length", 1 << 22);
  c.n_head = int_key("attention.head_count", 4096);
  c.n_head_kv = meta.has(p + "attention.head_count_kv") ? int_key("attention.head_count_kv", 4096) : c.n_head;
  c.n_ctx_train = meta.has(p + "context_length") ? int_key("context_length", 1 << 24) : 2048;
  if (c.n_head % c.n_head_kv != 0)
    fail("{}: {}attention.head_count ({}) is not a multiple of head_count_kv ({})", meta.source, p, c.n_head,
         c.n_head_kv);
  if (meta.has(p + "attention.key_length")) {
    c.head_dim = int_key("attention.key_length", 1 << 16);
  } else {
    if (c.n_embd % c.n_head != 0)
      fail("{}: {}embedding_length ({}) is not a multiple of attention.head_count ({})", meta.source, p,
           c.n_embd, c.n_head);
    c.head_dim = c.n_embd / c.n_head;
  }
  if (meta.has(p + "attention.value_length") && meta.get_int(p + "attention.value_length") != c.head_dim)
    fail("{}: {}attention.value_length differs from key_length; Tessera needs them equal", meta.source, p);

  const std::string eps_key =
      p + (arch.norm == NormKind::LayerNorm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon");
  const double eps = meta.get_float_opt(eps_key).value_or(1e-5);
  if (!(eps > 0 && eps < 1)) fail("{}: {} = {} is out of range", meta.source, eps_key, eps);
  c.norm_eps = static_cast<float>(eps);

  c.rope_dim = meta.has(p + "rope.dimension_count") ? int_key("rope.dimension_count", c.head_dim) : c.head_dim;
  if (c.rope_dim % 2 != 0) fail("{}: {}rope.dimension_count ({}) must be even", meta.source, p, c.rope_dim);
  const double base = meta.get_float_opt(p + "rope.freq_base").value_or(10000.0);
  if (!(base > 1)) fail("{}: {}rope.freq_base = {} must be > 1", meta.source, p, base);
  c.rope_freq_base = static_cast<float>(base);
  c.rope_orig_ctx = meta.has(p + "rope.scaling.original_context_length")
                        ? int_key("rope.scaling.original_context_length", 1 << 30)
                        : c.n_ctx_train;
  const double attn_factor = meta.get_float_opt(p + "rope.scaling.attn_factor").value_or(1.0);
  if (!(attn_factor > 0 && attn_factor <= 16))
    fail("{}: {}rope.scaling.attn_factor = {} is out of range (0, 16]", meta.source, p, attn_factor);
  c.rope_attn_factor = static_cast<float>(attn_factor);

  // Linear scaling stretches positions; other scaling types change the model and
  // are refused rather than silently ignored.
  const std::string scaling = meta.get_string_opt(p + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    const double factor = meta.get_float(p + "rope.scaling.factor");
    if (!(factor >= 1)) fail("{}: {}rope.scaling.factor = {} must be >= 1", meta.source, p, factor);
    c.rope_freq_scale = static_cast<float>(1.0 / factor);
  } else if (scaling != "none") {
    fail("{}: {}rope.scaling.type '{}' is not supported (only none and linear)", meta.source, p, scaling);
  } else if (auto factor = meta.get_float_opt(p + "rope.scale_linear")) {
    if (!(*factor >= 1)) fail("{}: {}rope.scale_linear = {} must be >= 1", meta.source, p, *factor);
    c.rope_freq_scale = static_cast<float>(1.0 / *factor);
  }

  for (const TensorSpec& t : arch.tensors)
    if (t.role == Role::PosEmbd) c.max_positions = c.n_ctx_train;
  read_expert_config(meta, arch, c);
  const ConfigDefaults& d = arch.defaults;
  // 0 says "no window": Phi-4's files are phi3 ones without a window.
  if (meta.has(p + "attention.sliding_window"))
    c.sliding_window = meta.get_int(p + "attention.sliding_window") == 0 ? 0 : int_key("attention.sliding_window", 1 << 30);
  else if (const int64_t legacy = legacy_phi3_window(c); legacy > 0)
    c.sliding_window = legacy;
  else if (d.sliding_window < 0)
    fail("{}: metadata key '{}attention.sliding_window' is missing ({} files need it)", meta.source, p, c.arch);
  else
    c.sliding_window = d.sliding_window;
  if (d.softcap_keys) {
    c.attn_softcap = static_cast<float>(meta.get_float_opt(p + "attn_logit_softcapping").value_or(d.attn_softcap));
    c.final_softcap = static_cast<float>(meta.get_float_opt(p + "final_logit_softcapping").value_or(d.final_softcap));
  }
  const bool embd_scale = d.embd_query_scale_layers > 0 && c.n_layer == d.embd_query_scale_layers;
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(embd_scale ? c.n_embd / c.n_head : c.head_dim));
  if (!(c.attn_softcap >= 0 && c.final_softcap >= 0))
    fail("{}: {}attn_logit_softcapping / final_logit_softcapping must not be negative", meta.source, p);

  if (arch.output == ModelOutput::Embeddings) read_encoder_keys(meta, arch, c);

  const auto& tokens = meta.get_string_array("tokenizer.ggml.tokens");
  c.n_vocab = static_cast<int64_t>(tokens.size());
  if (c.n_vocab == 0) fail("{}: tokenizer.ggml.tokens is empty", meta.source);
  return c;
}

}  // namespace tessera::model
