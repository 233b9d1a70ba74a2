// Architectures as data. A family (GGUF's general.architecture) is a schema of
// tensors (names and shapes, written once for weight binding, `tessera mkmodel`
// and the readers) plus the options of its building blocks; `block_schedule`
// turns it and the model's hyper-parameters into one LayerSpec per layer, which
// is all the forward pass looks at. Adding a family is mostly a new entry here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::model {

struct ModelConfig;

enum class MixerKind { Attention };
enum class ChannelKind {
  SwiGLU,   // down(silu(gate x) * up x)
  GeGLU,    // down(gelu(gate x) * up x)  (Gemma)
  GeluMlp,  // down(gelu(up x + b) ) + b  (GPT-2)
  MoE,      // each token's top-k experts, each a SwiGLU, weighted by the router (Mixtral, Qwen-MoE)
};
enum class NormKind {
  RMSNorm,    // x / rms(x) * w
  LayerNorm,  // (x - mean) / std * w + b
};
// Where a layer's two norms sit.
enum class NormPlacement {
  Pre,   // on each sub-layer's input: x += f(norm(x))  (Llama, GPT-2, ...)
  Post,  // after each residual add: x = norm(x + f(x))  (BERT)
};
// What a model's last hidden states become.
enum class ModelOutput {
  Logits,      // a head over the vocabulary: a text generator
  Embeddings,  // pooled per sequence: an embedding model (no head; it does not generate)
};

// What a tensor is for; the binder puts each into its slot of the weights.
enum class Role : uint8_t {
  // Whole model.
  TokenEmbd,
  PosEmbd,  // learned absolute positions (GPT-2)
  TokenTypes,          // token-type ("segment") embeddings; every token is type 0 (BERT)
  TokenEmbdNorm,       // LayerNorm of the summed embeddings (BERT)
  TokenEmbdNormBias,
  OutputNorm,
  OutputNormBias,
  Output,     // absent when optional: tied to TokenEmbd
  RopeFreqs,  // per-dimension rope factors
  // Per layer.
  AttnNorm,
  AttnNormBias,
  AttnQ,
  AttnK,
  AttnV,
  AttnQKV,  // q, k and v rows in one matrix (bound as three views)
  AttnQKVBias,
  AttnQBias,
  AttnKBias,
  AttnVBias,
  AttnQNorm,  // RMSNorm of each head's query (and key) before rope
  AttnKNorm,
  AttnOutput,
  AttnOutputBias,
  AttnPostNorm,  // RMSNorm of the mixer's output before the residual add (Gemma 2/3)
  FfnNorm,
  FfnNormBias,
  FfnGate,
  FfnUp,
  FfnUpBias,
  FfnGateUp,  // gate rows then up rows in one matrix (bound as two views)
  FfnDown,
  FfnDownBias,
  FfnPostNorm,
  FfnGateInp,    // the router: n_expert logits per token
  FfnGateExps,   // n_expert matrices in one 3-D tensor (bound as row views)
  FfnUpExps,
  FfnDownExps,
  FfnGateInpShexp,  // the shared expert's sigmoid gate (one row: a vector)
  FfnGateShexp,
  FfnUpShexp,
  FfnDownShexp,
  RopeFactorsLong,  // LongRoPE (Phi-3 128k, Phi-3.5): per-dim factors of long and short contexts
  RopeFactorsShort,
};

// A tensor dimension in terms of the hyper-parameters.
enum class Dim : uint8_t {
  None, Embd, Vocab, QDim, KvDim, QkvDim, Ff, Ff2, HeadDim, RopeHalf, CtxTrain, TokenTypes,
  Expert, FfExp, FfShexp,  // n_expert, an expert's and the shared expert's feed-forward dims
};

// Which models of a family have a tensor: all, or only those with (without) experts.
enum class When : uint8_t { Always, Dense, Experts };

struct TensorSpec {
  Role role;
  std::string_view name;  // per-layer names hold "{}" for the layer index
  Dim ne0, ne1 = Dim::None;  // GGUF order: ne0 is the row length; ne1 None for a vector
  bool optional = false;
  When when = When::Always;
  Dim ne2 = Dim::None;  // a stack of matrices (the experts); None for a vector or matrix
  bool per_layer() const { return name.find("{}") != std::string_view::npos; }
};

// Does a model with (without) experts have this tensor?
inline bool present_in(const TensorSpec& spec, bool has_experts) {
  return spec.when == When::Always || (spec.when == When::Experts) == has_experts;
}

// Options of the attention mixer that a family fixes for all its layers.
struct AttentionOptions {
  bool qkv_bias = false;     // biases on the q, k and v projections (Qwen2, GPT-2)
  bool output_bias = false;  // bias on the output projection (GPT-2)
  bool qk_norm = false;      // per-head RMSNorm of q and k before rope (Qwen3)
  bool rope = true;          // rotary positions (GPT-2 has learned ones instead)
  int64_t window = 0;        // sliding window (positions a query sees); 0: all (set per layer)
  float softcap = 0;         // scores through softcap * tanh(s / softcap); 0: none (Gemma 2)
  bool causal = true;        // false: every token sees its whole sequence (an encoder, BERT)
  float rope_base = 0;       // rope frequency base and scale of this layer (set per layer)
  float rope_scale = 1;
};

// What a family's files may leave out, as llama.cpp (or ik_llama.cpp) fills it in.
struct ConfigDefaults {
  // <arch>.attention.sliding_window when the file lacks it; -1: the key is required.
  int64_t sliding_window = 0;
  bool softcap_keys = false;  // reads <arch>.attn_logit_softcapping / final_logit_softcapping
  float attn_softcap = 0;     // when those keys are absent
  float final_softcap = 0;
  // A model of exactly this many layers scales queries by 1 / sqrt(n_embd / n_head)
  // rather than by the head size (the 27B Gemma models, as llama.cpp recognises them); 0: none.
  int64_t embd_query_scale_layers = 0;
};

// Mixture of experts, where the family has it: <arch>.expert_count experts of
// which each token uses <arch>.expert_used_count, chosen by the router's softmax.
enum class Experts : uint8_t { None, Optional, Required };  // Optional: llama (Mixtral when expert_count > 0)
struct ExpertOptions {
  bool renormalize = false;  // top-k weights divided by their sum (Mixtral, Qwen3-MoE; not Qwen2-MoE)
  bool shared = false;       // a shared expert, gated by sigmoid(w . x), added to every token (Qwen2-MoE)
};

struct Architecture {
  std::string_view name;  // general.architecture
  MixerKind mixer = MixerKind::Attention;
  ChannelKind channel = ChannelKind::SwiGLU;
  NormKind norm = NormKind::RMSNorm;
  bool rope_neox = false;  // rotate (i, i+d/2) pairs instead of (2i, 2i+1)
  AttentionOptions attention;
  // Which layers attend through <arch>.attention.sliding_window: 0 none, 1 all,
  // N every layer but each N-th (Gemma 2: 2, Gemma 3: 6).
  int window_period = 0;
  // Windowed layers rotate with this base and no scaling, the others with the
  // file's rope.freq_base (Gemma 3: 10000); 0: every layer with the file's.
  float window_rope_base = 0;
  ConfigDefaults defaults;
  bool embed_scale = false;  // embeddings times sqrt(n_embd) (Gemma)
  bool post_norms = false;   // mixer and channel outputs RMS-normed before the residual add
  NormPlacement placement = NormPlacement::Pre;
  ModelOutput output = ModelOutput::Logits;
  Experts experts = Experts::None;  // a model with experts has ChannelKind::MoE layers
  ExpertOptions expert_options;
  std::vector<TensorSpec> tensors;
};

// One layer of the block schedule: x += mixer(norm(x)); x += channel(norm(x)),
// or with Post placement x = norm(x + mixer(x)); x = norm(x + channel(x)).
struct LayerSpec {
  NormKind norm;
  bool post_norms;
  NormPlacement placement;
  MixerKind mixer;
  AttentionOptions attention;
  ChannelKind channel;
  ExpertOptions experts;  // ChannelKind::MoE
};

// The description of a GGUF architecture name; throws Error naming `source` and the
// supported list when Tessera cannot run it.
const Architecture& find_architecture(const std::string& name, const std::string& source);
std::vector<std::string> architecture_names();

// One LayerSpec per layer of a model of this family.
std::vector<LayerSpec> block_schedule(const Architecture& arch, const ModelConfig& config);

// The tensor's shape (GGUF order) for these hyper-parameters: 1, 2 or 3 dims.
std::vector<int64_t> tensor_shape(const TensorSpec& spec, const ModelConfig& config);

}  // namespace tessera::model
