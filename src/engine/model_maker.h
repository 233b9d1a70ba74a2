// Random-weight models of any supported family, shape and weight format, with a
// valid synthetic vocabulary of the family's tokenizer kind (SentencePiece-style
// for llama, byte-level BPE for Qwen): benchmark and test models that need no
// download, with the keys and tensors llama.cpp expects of a converted model.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "engine/quant_mix.h"
#include "io/gguf_writer.h"

namespace tessera::engine {

struct ModelShape {
  int64_t n_vocab = 512, n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 96, n_ctx = 256;
  std::string arch = "llama";  // general.architecture (model::architecture_names())
  int64_t n_window = 0;        // sliding window of the families that have one; 0: n_ctx
  // Mixture of experts: expert count (0: dense, or 8 for families that always
  // have experts), experts per token (0: 2), an expert's feed-forward dim (llama:
  // n_ff; Qwen MoE families, 0: n_ff / experts per token) and the shared expert's
  // (qwen2moe; 0: n_ff).
  int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_ff_shexp = 0;
  int64_t longrope_orig_ctx = 0;  // LongRoPE's original context (< n_ctx), factors and keys; 0: none
};

// The shape with the expert defaults above filled in; throws UsageError for an
// expert setting the family cannot hold (experts for a dense-only family,
// more experts per token than experts, an expert dim for llama).
ModelShape with_expert_defaults(ModelShape shape);

// Named shapes: "tiny", "110m" (dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000),
// "tinyllama-1.1b" (dim 2048, 22 layers, 32 heads, 4 kv heads, ffn 5632, vocab 32000).
// Throws UsageError listing the names when `name` is unknown.
ModelShape model_preset(const std::string& name);
std::vector<std::string> model_preset_names();

// A SentencePiece-style vocabulary of exactly n tokens (n >= 259): <unk>, <s>, </s>,
// the 256 byte tokens, then distinct pieces (with and without the word marker).
std::vector<std::string> synthetic_vocab(int64_t n);

// A byte-level BPE vocabulary (GPT-2's byte-to-character mapping) of exactly n
// tokens (n >= 259): the 256 byte symbols, pieces made by `merges` (returned in
// rank order), then the control tokens <|endoftext|>, <|im_start|>, <|im_end|>.
struct BpeVocab {
  std::vector<std::string> tokens, merges;
};
BpeVocab synthetic_bpe_vocab(int64_t n);

// A WordPiece vocabulary as llama.cpp's converter writes BERT's (n >= 89 tokens):
// [PAD] [UNK] [CLS] [SEP] [MASK], each of a-z, 0-9 and . , ! ? ' - as a word's
// first piece ("▁a") and as a continuation ("a"), then longer pieces over a-z.
std::vector<std::string> synthetic_wpm_vocab(int64_t n);

// general.* / <arch>.* / tokenizer.ggml.* keys of a model of this shape, with a
// synthetic vocabulary of shape.n_vocab tokens. Throws Error for an unknown arch.
void add_model_metadata(io::GgufWriter& w, const ModelShape& shape);

// Calls add(name, ne) for every tensor of the family's schema (model/architecture.h)
// at this shape, in file order; the optional output head unless tied, LongRoPE's
// factors when the shape has an original context.
void for_each_model_tensor(const ModelShape& shape, bool tied_output,
                           const std::function<void(const std::string&, std::vector<int64_t>)>& add);

struct RandomModelOptions {
  ModelShape shape;
  DType weight_type = DType::F32;  // matrices; norms are F32
  std::optional<QuantMix> mix;     // instead of weight_type: each tensor by the mixture's rule
  bool tied_output = false;
  uint64_t seed = 1;
  std::string chat_template;  // written as tokenizer.chat_template when not empty
  std::function<void(size_t index, size_t count, const std::string& name)> on_tensor;
};

// Weights uniform with the variance of N(0, 1/fan_in) (norm weights near 1).
// Throws Error if a matrix's rows are not whole blocks of weight_type (a
// mixture falls back instead, and sets general.file_type).
void write_random_model(const std::string& path, const RandomModelOptions& options);

}  // namespace tessera::engine
