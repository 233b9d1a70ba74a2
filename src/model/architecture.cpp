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

std::vector<TensorSpec> concat(std::initializer_list<std::vector<TensorSpec>> parts) {
  std::vector<TensorSpec> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

// The llama layout: separate q/k/v and gate/up, optional (tied) head.
std::vector<TensorSpec> decoder_tensors() {
  return concat({embedding_and_head(true), attention_tensors(false), swiglu_tensors(false)});
}

std::vector<TensorSpec> qk_norms() {
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

std::vector<Architecture> make_architectures() {
  std::vector<Architecture> all;
  // Llama 1/2/3, TinyLlama, SmolLM, Mistral. A file that has
  // llama.attention.sliding_window (Mistral 7B v0.1: 4096) windows every layer;
  // without the key (the default 0) every layer sees every position.
  Architecture& llama = all.emplace_back(family("llama", decoder_tensors()));
  llama.window_period = 1;

  // Qwen2 / 2.5 (and their coder models): biases on q, k, v; NeoX rope.
  Architecture& qwen2 = all.emplace_back(family(
      "qwen2", concat({decoder_tensors(), {{Role::AttnQBias, "blk.{}.attn_q.bias", Dim::QDim},
                                        {Role::AttnKBias, "blk.{}.attn_k.bias", Dim::KvDim},
                                        {Role::AttnVBias, "blk.{}.attn_v.bias", Dim::KvDim}}})));
  qwen2.rope_neox = true;
  qwen2.attention.qkv_bias = true;

  // Qwen3: per-head RMSNorm of q and k; no biases.
  Architecture& qwen3 = all.emplace_back(family("qwen3", concat({decoder_tensors(), qk_norms()})));
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
  Architecture& gemma3 = all.emplace_back(family("gemma3", concat({decoder_tensors(), qk_norms(), gemma_post_norms()})));
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
  std::vector<LayerSpec> layers(static_cast<size_t>(c.n_layer),
                                LayerSpec{arch.norm, arch.post_norms, arch.placement, arch.mixer, arch.attention, arch.channel});
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
    }
    return 0;
  };
  if (spec.ne1 == Dim::None) return {dim(spec.ne0)};
  return {dim(spec.ne0), dim(spec.ne1)};
}

}  // namespace tessera::model
