#include "model/architecture.h"

#include <fmt/format.h>

#include "core/error.h"
#include "model/model_config.h"

namespace tessera::model {
namespace {

// Building blocks of the schemas: embedding and head, pre-norm attention with
// separate or fused q/k/v, and a gated feed-forward with separate or fused gate/up.
std::vector<TensorSpec> embedding_and_head(bool output_optional) {
  return {
      {Role::TokenEmbd, "token_embd.weight", Dim::Embd, Dim::Vocab},
      {Role::OutputNorm, "output_norm.weight", Dim::Embd},
      {Role::Output, "output.weight", Dim::Embd, Dim::Vocab, output_optional},
      {Role::RopeFreqs, "rope_freqs.weight", Dim::RopeHalf, Dim::None, true},
  };
}

// GPT-2: LayerNorms with biases, learned positions, fused qkv, GELU MLP, biases everywhere.
std::vector<TensorSpec> gpt2_tensors() {
  return {
      {Role::TokenEmbd, "token_embd.weight", Dim::Embd, Dim::Vocab},
      {Role::PosEmbd, "position_embd.weight", Dim::Embd, Dim::CtxTrain},
      {Role::OutputNorm, "output_norm.weight", Dim::Embd},
      {Role::OutputNormBias, "output_norm.bias", Dim::Embd},
      {Role::Output, "output.weight", Dim::Embd, Dim::Vocab},
      {Role::AttnNorm, "blk.{}.attn_norm.weight", Dim::Embd},
      {Role::AttnNormBias, "blk.{}.attn_norm.bias", Dim::Embd},
      {Role::AttnQKV, "blk.{}.attn_qkv.weight", Dim::Embd, Dim::QkvDim},
      {Role::AttnQKVBias, "blk.{}.attn_qkv.bias", Dim::QkvDim},
      {Role::AttnOutput, "blk.{}.attn_output.weight", Dim::QDim, Dim::Embd},
      {Role::AttnOutputBias, "blk.{}.attn_output.bias", Dim::Embd},
      {Role::FfnNorm, "blk.{}.ffn_norm.weight", Dim::Embd},
      {Role::FfnNormBias, "blk.{}.ffn_norm.bias", Dim::Embd},
      {Role::FfnUp, "blk.{}.ffn_up.weight", Dim::Embd, Dim::Ff},
      {Role::FfnUpBias, "blk.{}.ffn_up.bias", Dim::Ff},
      {Role::FfnDown, "blk.{}.ffn_down.weight", Dim::Ff, Dim::Embd},
      {Role::FfnDownBias, "blk.{}.ffn_down.bias", Dim::Embd},
  };
}

// BERT: token, type and position embeddings under a LayerNorm; post-norm layers
// (the norms after the residual adds) with biases everywhere; no head.
std::vector<TensorSpec> bert_tensors() {
  return {
      {Role::TokenEmbd, "token_embd.weight", Dim::Embd, Dim::Vocab},
      {Role::TokenTypes, "token_types.weight", Dim::Embd, Dim::TokenTypes},
      {Role::PosEmbd, "position_embd.weight", Dim::Embd, Dim::CtxTrain},
      {Role::TokenEmbdNorm, "token_embd_norm.weight", Dim::Embd},
      {Role::TokenEmbdNormBias, "token_embd_norm.bias", Dim::Embd},
      {Role::AttnQ, "blk.{}.attn_q.weight", Dim::Embd, Dim::QDim},
      {Role::AttnQBias, "blk.{}.attn_q.bias", Dim::QDim},
      {Role::AttnK, "blk.{}.attn_k.weight", Dim::Embd, Dim::KvDim},
      {Role::AttnKBias, "blk.{}.attn_k.bias", Dim::KvDim},
      {Role::AttnV, "blk.{}.attn_v.weight", Dim::Embd, Dim::KvDim},
      {Role::AttnVBias, "blk.{}.attn_v.bias", Dim::KvDim},
      {Role::AttnOutput, "blk.{}.attn_output.weight", Dim::QDim, Dim::Embd},
      {Role::AttnOutputBias, "blk.{}.attn_output.bias", Dim::Embd},
      {Role::AttnNorm, "blk.{}.attn_output_norm.weight", Dim::Embd},  // the mixer's norm, after its residual add
      {Role::AttnNormBias, "blk.{}.attn_output_norm.bias", Dim::Embd},
      {Role::FfnUp, "blk.{}.ffn_up.weight", Dim::Embd, Dim::Ff},
      {Role::FfnUpBias, "blk.{}.ffn_up.bias", Dim::Ff},
      {Role::FfnDown, "blk.{}.ffn_down.weight", Dim::Ff, Dim::Embd},
      {Role::FfnDownBias, "blk.{}.ffn_down.bias", Dim::Embd},
      {Role::FfnNorm, "blk.{}.layer_output_norm.weight", Dim::Embd},  // the channel's norm, likewise
      {Role::FfnNormBias, "blk.{}.layer_output_norm.bias", Dim::Embd},
  };
}

std::vector<TensorSpec> attention_tensors(bool fused_qkv) {
  std::vector<TensorSpec> t = {{Role::AttnNorm, "blk.{}.attn_norm.weight", Dim::Embd}};
  if (fused_qkv) {
    t.push_back({Role::AttnQKV, "blk.{}.attn_qkv.weight", Dim::Embd, Dim::QkvDim});
  } else {
    t.push_back({Role::AttnQ, "blk.{}.attn_q.weight", Dim::Embd, Dim::QDim});
    t.push_back({Role::AttnK, "blk.{}.attn_k.weight", Dim::Embd, Dim::KvDim});
    t.push_back({Role::AttnV, "blk.{}.attn_v.weight", Dim::Embd, Dim::KvDim});
  }
  t.push_back({Role::AttnOutput, "blk.{}.attn_output.weight", Dim::QDim, Dim::Embd});
  return t;
}

std::vector<TensorSpec> swiglu_tensors(bool fused_gate_up) {
  std::vector<TensorSpec> t = {{Role::FfnNorm, "blk.{}.ffn_norm.weight", Dim::Embd}};
  if (fused_gate_up) {
    t.push_back({Role::FfnGateUp, "blk.{}.ffn_up.weight", Dim::Embd, Dim::Ff2});
  } else {
    t.push_back({Role::FfnGate, "blk.{}.ffn_gate.weight", Dim::Embd, Dim::Ff});
    t.push_back({Role::FfnUp, "blk.{}.ffn_up.weight", Dim::Embd, Dim::Ff});
  }
  t.push_back({Role::FfnDown, "blk.{}.ffn_down.weight", Dim::Ff, Dim::Embd});
  return t;
}

// Mixture of experts (llama.cpp's names): the router, then each projection of all
// experts in one 3-D tensor, ne = [cols, rows, n_expert].
std::vector<TensorSpec> expert_tensors() {
  return {
      {Role::FfnGateInp, "blk.{}.ffn_gate_inp.weight", Dim::Embd, Dim::Expert, false, When::Experts},
      {Role::FfnGateExps, "blk.{}.ffn_gate_exps.weight", Dim::Embd, Dim::FfExp, false, When::Experts, Dim::Expert},
      {Role::FfnUpExps, "blk.{}.ffn_up_exps.weight", Dim::Embd, Dim::FfExp, false, When::Experts, Dim::Expert},
      {Role::FfnDownExps, "blk.{}.ffn_down_exps.weight", Dim::FfExp, Dim::Embd, false, When::Experts, Dim::Expert},
  };
}

// Qwen2-MoE's shared expert: a SwiGLU every token goes through, gated by sigmoid(w . x).
std::vector<TensorSpec> shared_expert_tensors() {
  return {
      {Role::FfnGateInpShexp, "blk.{}.ffn_gate_inp_shexp.weight", Dim::Embd},
      {Role::FfnGateShexp, "blk.{}.ffn_gate_shexp.weight", Dim::Embd, Dim::FfShexp},
      {Role::FfnUpShexp, "blk.{}.ffn_up_shexp.weight", Dim::Embd, Dim::FfShexp},
      {Role::FfnDownShexp, "blk.{}.ffn_down_shexp.weight", Dim::FfShexp, Dim::Embd},
  };
}

// A gated feed-forward without experts, experts instead when the model has them.
std::vector<TensorSpec> swiglu_or_expert_tensors() {
  std::vector<TensorSpec> t = swiglu_tensors(false);
  for (TensorSpec& spec : t)
    if (spec.role != Role::FfnNorm) spec.when = When::Dense;
  for (const TensorSpec& spec : expert_tensors()) t.push_back(spec);
  return t;
}

std::vector<TensorSpec> concat(std::initializer_list<std::vector<TensorSpec>> parts) {
  std::vector<TensorSpec> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

// The llama layout: separate q/k/v and gate/up, optional (tied) head.
std::vector<TensorSpec> decoder_tensors() {
  return concat({embedding_and_head(true), attention_tensors(false), swiglu_tensors(false)});
}

std::vector<TensorSpec> qkv_bias_tensors() {
  return {{Role::AttnQBias, "blk.{}.attn_q.bias", Dim::QDim},
          {Role::AttnKBias, "blk.{}.attn_k.bias", Dim::KvDim},
          {Role::AttnVBias, "blk.{}.attn_v.bias", Dim::KvDim}};
}

std::vector<TensorSpec> qk_norm_tensors() {
  return {{Role::AttnQNorm, "blk.{}.attn_q_norm.weight", Dim::HeadDim},
          {Role::AttnKNorm, "blk.{}.attn_k_norm.weight", Dim::HeadDim}};
}

std::vector<TensorSpec> gemma_post_norms() {
  return {{Role::AttnPostNorm, "blk.{}.post_attention_norm.weight", Dim::Embd},
          {Role::FfnPostNorm, "blk.{}.post_ffw_norm.weight", Dim::Embd}};
}

Architecture family(std::string_view name, std::vector<TensorSpec> tensors) {
  Architecture a;
  a.name = name;
  a.tensors = std::move(tensors);
  return a;
}

// Qwen2-MoE (Qwen1.5-MoE, Qwen2-57B-A14B): Qwen2's attention, experts whose top-k
// weights are not renormalised, and a shared expert. The head is never tied.
void add_moe_families(std::vector<Architecture>& all) {
  Architecture& qwen2moe = all.emplace_back(family(
      "qwen2moe", concat({embedding_and_head(false), attention_tensors(false), qkv_bias_tensors(),
                          {{Role::FfnNorm, "blk.{}.ffn_norm.weight", Dim::Embd}}, expert_tensors(),
                          shared_expert_tensors()})));
  qwen2moe.rope_neox = true;
  qwen2moe.attention.qkv_bias = true;
  qwen2moe.channel = ChannelKind::MoE;
  qwen2moe.experts = Experts::Required;
  qwen2moe.expert_options.shared = true;

  // Qwen3-MoE (Qwen3-30B-A3B, 235B-A22B): Qwen3's attention (per-head q/k RMSNorm,
  // no biases), experts with renormalised top-k weights, no shared expert.
  Architecture& qwen3moe = all.emplace_back(family(
      "qwen3moe", concat({embedding_and_head(true), attention_tensors(false), qk_norm_tensors(),
                          {{Role::FfnNorm, "blk.{}.ffn_norm.weight", Dim::Embd}}, expert_tensors()})));
  qwen3moe.rope_neox = true;
  qwen3moe.attention.qk_norm = true;
  qwen3moe.channel = ChannelKind::MoE;
  qwen3moe.experts = Experts::Required;
  qwen3moe.expert_options.renormalize = true;
}

std::vector<Architecture> make_architectures() {
  std::vector<Architecture> all;
  // Llama 1/2/3, TinyLlama, SmolLM, Mistral. A file that has
  // llama.attention.sliding_window (Mistral 7B v0.1: 4096) windows every layer;
  // without the key (the default 0) every layer sees every position. Mixtral
  // when llama.expert_count > 0 (experts instead of the dense feed-forward, top-k
  // weights renormalised: llama.cpp's llm_build_moe_ffn with norm_w).
  Architecture& llama = all.emplace_back(
      family("llama", concat({embedding_and_head(true), attention_tensors(false), swiglu_or_expert_tensors()})));
  llama.window_period = 1;
  llama.experts = Experts::Optional;
  llama.expert_options.renormalize = true;

  // Qwen2 / 2.5 (and their coder models): biases on q, k, v; NeoX rope.
  Architecture& qwen2 = all.emplace_back(family("qwen2", concat({decoder_tensors(), qkv_bias_tensors()})));
  qwen2.rope_neox = true;
  qwen2.attention.qkv_bias = true;

  // Qwen3: per-head RMSNorm of q and k; no biases.
  Architecture& qwen3 = all.emplace_back(family("qwen3", concat({decoder_tensors(), qk_norm_tensors()})));
  qwen3.rope_neox = true;
  qwen3.attention.qk_norm = true;

  // Phi-3 / 3.5 / 4: fused qkv and gate/up, NeoX rope, separate head; LongRoPE
  // factors (128k models) are bound so that they are refused, not ignored.
  Architecture& phi3 = all.emplace_back(family(
      "phi3", concat({embedding_and_head(false), attention_tensors(true), swiglu_tensors(true),
                      {{Role::RopeFactorsLong, "rope_factors_long.weight", Dim::RopeHalf, Dim::None, true},
                       {Role::RopeFactorsShort, "rope_factors_short.weight", Dim::RopeHalf, Dim::None, true}}})));
  phi3.rope_neox = true;
  phi3.window_period = 1;
  // The key is required, except in files converted before it existed (the
  // released Phi-3 models, recognised by shape in model_config.cpp).
  phi3.defaults = {.sliding_window = -1};

  // Gemma 2: GeGLU, RMS post-norms, embeddings scaled by sqrt(n_embd), tied head,
  // attention and final logit softcapping, sliding window on every other layer.
  // Where a file omits them, llama.cpp assumes a 4096 window and caps 50 / 30;
  // its 27B model (46 layers) scales queries by n_embd / n_head.
  Architecture& gemma2 = all.emplace_back(family("gemma2", concat({decoder_tensors(), gemma_post_norms()})));
  gemma2.rope_neox = true;
  gemma2.channel = ChannelKind::GeGLU;
  gemma2.embed_scale = true;
  gemma2.post_norms = true;
  gemma2.window_period = 2;
  gemma2.defaults = {.sliding_window = 4096, .softcap_keys = true, .attn_softcap = 50, .final_softcap = 30,
                     .embd_query_scale_layers = 46};

  // Gemma 3: Gemma 2 with per-head q/k RMSNorm instead of softcaps, the window on
  // five of every six layers, which rotate with base 10000 (the global layers
  // with the file's base and scaling). ik_llama.cpp requires the window key; its
  // 27B model (62 layers) scales queries by n_embd / n_head.
  Architecture& gemma3 = all.emplace_back(family("gemma3", concat({decoder_tensors(), qk_norm_tensors(), gemma_post_norms()})));
  gemma3.rope_neox = true;
  gemma3.channel = ChannelKind::GeGLU;
  gemma3.embed_scale = true;
  gemma3.post_norms = true;
  gemma3.attention.qk_norm = true;
  gemma3.window_period = 6;
  gemma3.window_rope_base = 10000;
  gemma3.defaults = {.sliding_window = -1, .embd_query_scale_layers = 62};

  // GPT-2: LayerNorm, learned positions, GELU MLP, biases.
  Architecture& gpt2 = all.emplace_back(family("gpt2", gpt2_tensors()));
  gpt2.channel = ChannelKind::GeluMlp;
  gpt2.norm = NormKind::LayerNorm;
  gpt2.attention.qkv_bias = true;
  gpt2.attention.output_bias = true;
  gpt2.attention.rope = false;

  // BERT (and its embedding models: BGE, MiniLM, E5): a bidirectional encoder.
  Architecture& bert = all.emplace_back(family("bert", bert_tensors()));
  bert.channel = ChannelKind::GeluMlp;
  bert.norm = NormKind::LayerNorm;
  bert.placement = NormPlacement::Post;
  bert.output = ModelOutput::Embeddings;
  bert.attention.qkv_bias = true;
  bert.attention.output_bias = true;
  bert.attention.rope = false;
  bert.attention.causal = false;

  add_moe_families(all);
  return all;
}

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> all = make_architectures();
  return all;
}

}  // namespace

std::vector<std::string> architecture_names() {
  std::vector<std::string> names;
  for (const auto& a : architectures()) names.emplace_back(a.name);
  return names;
}

const Architecture& find_architecture(const std::string& name, const std::string& source) {
  for (const auto& a : architectures())
    if (a.name == name) return a;
  fail("{}: architecture '{}' is not supported (supported: {})", source, name, fmt::join(architecture_names(), ", "));
}

std::vector<LayerSpec> block_schedule(const Architecture& arch, const ModelConfig& c) {
  const ChannelKind channel = c.n_expert > 0 ? ChannelKind::MoE : arch.channel;
  std::vector<LayerSpec> layers(
      static_cast<size_t>(c.n_layer),
      LayerSpec{arch.norm, arch.post_norms, arch.placement, arch.mixer, arch.attention, channel, arch.expert_options});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    AttentionOptions& a = layers[static_cast<size_t>(l)].attention;
    a.softcap = c.attn_softcap;
    a.rope_base = c.rope_freq_base;
    a.rope_scale = c.rope_freq_scale;
    const bool windowed = arch.window_period == 1 || (arch.window_period > 1 && (l + 1) % arch.window_period != 0);
    if (!windowed) continue;
    a.window = c.sliding_window;
    if (arch.window_rope_base > 0) {
      a.rope_base = arch.window_rope_base;
      a.rope_scale = 1;
    }
  }
  return layers;
}

std::vector<int64_t> tensor_shape(const TensorSpec& spec, const ModelConfig& c) {
  auto dim = [&](Dim d) -> int64_t {
    switch (d) {
      case Dim::None: return 0;
      case Dim::Embd: return c.n_embd;
      case Dim::Vocab: return c.n_vocab;
      case Dim::QDim: return c.q_dim();
      case Dim::KvDim: return c.kv_dim();
      case Dim::QkvDim: return c.q_dim() + 2 * c.kv_dim();
      case Dim::Ff: return c.n_ff;
      case Dim::Ff2: return 2 * c.n_ff;
      case Dim::HeadDim: return c.head_dim;
      case Dim::RopeHalf: return c.rope_dim / 2;
      case Dim::CtxTrain: return c.n_ctx_train;
      case Dim::TokenTypes: return c.n_token_types;
      case Dim::Expert: return c.n_expert;
      case Dim::FfExp: return c.n_ff_exp;
      case Dim::FfShexp: return c.n_ff_shexp;
    }
    return 0;
  };
  if (spec.ne1 == Dim::None) return {dim(spec.ne0)};
  if (spec.ne2 == Dim::None) return {dim(spec.ne0), dim(spec.ne1)};
  return {dim(spec.ne0), dim(spec.ne1), dim(spec.ne2)};
}

}  // namespace tessera::model
