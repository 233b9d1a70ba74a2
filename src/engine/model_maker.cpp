#include "engine/model_maker.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <variant>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/row_converter.h"
#include "kernels/kernels.h"
#include "model/architecture.h"
#include "model/model_config.h"
#include "tessera/tessera.h"

namespace tessera::engine {
namespace {

struct Preset {
  const char* name;
  ModelShape shape;
};

const Preset kPresets[] = {
    {"tiny", ModelShape{}},
    {"110m", ModelShape{32000, 768, 12, 12, 12, 2048, 1024}},
    {"tinyllama-1.1b", ModelShape{32000, 2048, 22, 32, 4, 5632, 2048}},
};

// splitmix64: fast, seedable, the same on every platform.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-24f * 2.0f - 1.0f; }  // [-1, 1)
};

std::string block_tensor(std::string_view pattern, int64_t layer) { return fmt::format(fmt::runtime(pattern), layer); }

// Token types of the encoders written (BERT's "sentence A" and "B").
constexpr int64_t kTokenTypes = 2;

// The first tokens of a synthetic WordPiece vocabulary, in this order.
const std::array<std::string, 5> kWpmSpecials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

}  // namespace

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

ModelShape model_preset(const std::string& name) {
  for (const auto& p : kPresets)
    if (name == p.name) return p.shape;
  throw UsageError(fmt::format("unknown model preset '{}' (presets: {})", name, fmt::join(model_preset_names(), ", ")));
}

std::vector<std::string> synthetic_vocab(int64_t n) {
  if (n < 259) fail("a vocabulary needs at least 259 tokens (3 specials + 256 bytes), got {}", n);
  std::vector<std::string> v = {"<unk>", "<s>", "</s>"};
  const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) v.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
  // Pieces of growing length over a-z, alternately with and without the word marker.
  const std::string marker = "\xe2\x96\x81";  // U+2581
  for (int64_t k = 0; static_cast<int64_t>(v.size()) < n; ++k) {
    std::string piece;
    for (int64_t x = k / 2; ; x = x / 26 - 1) {
      piece.insert(piece.begin(), static_cast<char>('a' + x % 26));
      if (x < 26) break;
    }
    v.push_back(k % 2 == 0 ? marker + piece : piece);
  }
  return v;
}

namespace {

// GPT-2's byte-to-character mapping: printable Latin-1 bytes stand for
// themselves, the others for U+0100 onwards in byte order.
std::string byte_symbol(int b) {
  const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  int code = b;
  if (!printable) {
    int k = 0;
    for (int x = 0; x < b; ++x)
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174)) ++k;
    code = 256 + k;
  }
  std::string out;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
  return out;
}

// How a family's real GGUF files name their tokenizer: SentencePiece-style
// ("llama") or byte-level BPE ("gpt2" with a pre-tokenizer).
struct FamilyFacts {
  const char* arch;
  const char* bpe_pre;  // BPE pre-tokenizer name, or null for a SentencePiece-style vocabulary
  float rope_base;      // 0: no rope keys
  float norm_eps;
  bool head_dim_keys;  // writes attention.key_length / value_length
  // Writes attention.sliding_window (n_window, by default the context: no
  // effect); a family without it writes the key only for a given n_window.
  bool window_key;
  bool softcap_keys;   // writes the attention and final logit softcaps (50, 30: Gemma 2's own values)
  bool wordpiece = false;  // a WordPiece vocabulary and an encoder's keys (BERT)
};

const FamilyFacts kFamilyFacts[] = {
    {"llama", nullptr, 10000.0f, 1e-5f, false, false, false},
    {"qwen2", "qwen2", 1000000.0f, 1e-6f, false, false, false},
    {"qwen3", "qwen2", 1000000.0f, 1e-6f, true, false, false},
    {"phi3", nullptr, 10000.0f, 1e-5f, false, true, false},
    {"gemma2", nullptr, 10000.0f, 1e-6f, false, true, true},
    {"gemma3", nullptr, 1000000.0f, 1e-6f, true, true, false},
    {"gpt2", "gpt-2", 0.0f, 1e-5f, false, false, false},
    {"bert", nullptr, 0.0f, 1e-12f, false, false, false, true},
    {"qwen2moe", "qwen2", 1000000.0f, 1e-6f, false, false, false},
    {"qwen3moe", "qwen2", 1000000.0f, 1e-6f, true, false, false},
};

const FamilyFacts& family_facts(const std::string& arch) {
  for (const auto& f : kFamilyFacts)
    if (arch == f.arch) return f;
  model::find_architecture(arch, "model maker");  // names the supported ones
  fail("internal error: the model maker has no facts for architecture '{}'", arch);
}

model::ModelConfig shape_config(const ModelShape& s) {
  model::ModelConfig c;
  c.arch = s.arch;
  c.n_vocab = s.n_vocab;
  c.n_ctx_train = s.n_ctx;
  c.n_embd = s.n_embd;
  c.n_layer = s.n_layer;
  c.n_head = s.n_head;
  c.n_head_kv = s.n_head_kv;
  c.head_dim = s.n_embd / s.n_head;
  c.n_ff = s.n_ff;
  c.rope_dim = c.head_dim;
  c.n_expert = s.n_expert;
  c.n_expert_used = s.n_expert_used;
  c.n_ff_exp = s.n_ff_exp;
  c.n_ff_shexp = s.n_ff_shexp;
  c.n_token_types = kTokenTypes;  // read only by schemas that have token types
  return c;
}

// <arch>.expert_* keys as llama.cpp's converter writes them: counts for every
// family with experts, feed-forward dims for the Qwen MoE families.
void add_expert_metadata(io::GgufWriter& w, const ModelShape& s) {
  if (s.n_expert == 0) return;
  const model::Architecture& arch = model::find_architecture(s.arch, "model maker");
  const std::string p = s.arch + ".";
  w.set_u32(p + "expert_count", static_cast<uint32_t>(s.n_expert));
  w.set_u32(p + "expert_used_count", static_cast<uint32_t>(s.n_expert_used));
  if (arch.experts == model::Experts::Required)
    w.set_u32(p + "expert_feed_forward_length", static_cast<uint32_t>(s.n_ff_exp));
  if (arch.expert_options.shared)
    w.set_u32(p + "expert_shared_feed_forward_length", static_cast<uint32_t>(s.n_ff_shexp));
}

void add_spm_vocab(io::GgufWriter& w, const std::vector<std::string>& vocab) {
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (size_t i = 0; i < vocab.size(); ++i) {
    scores.push_back(i < 259 ? 0.0f : -static_cast<float>(i));
    types.push_back(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", vocab);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
}

// As Qwen's and GPT-2's files: no BOS added, <|endoftext|> ends a text.
void add_bpe_vocab(io::GgufWriter& w, const BpeVocab& v, const char* pre) {
  const auto n = static_cast<int32_t>(v.tokens.size());
  std::vector<int32_t> types(v.tokens.size(), 1);
  for (int32_t i = n - 3; i < n; ++i) types[static_cast<size_t>(i)] = 3;  // control
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_string_array("tokenizer.ggml.tokens", v.tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", v.merges);
  w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(n - 3));
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(n - 3));
  w.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(n - 3));
  w.set_bool("tokenizer.ggml.add_bos_token", false);
}

// As BERT's converted files: [CLS] text [SEP], mean pooling, two token types,
// bidirectional attention. llama.cpp (c392e5094) takes [CLS] from bos_token_id
// (cls_token_id it ignores), so both are written.
void add_wpm_vocab(io::GgufWriter& w, const std::string& arch, const std::vector<std::string>& vocab) {
  std::vector<int32_t> types(vocab.size(), 1);
  for (size_t i = 0; i < kWpmSpecials.size(); ++i) types[i] = 3;  // control
  w.set_string("tokenizer.ggml.model", "bert");
  w.set_string_array("tokenizer.ggml.tokens", vocab);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.token_type_count", static_cast<uint32_t>(kTokenTypes));
  w.set_u32("tokenizer.ggml.padding_token_id", 0);
  w.set_u32("tokenizer.ggml.unknown_token_id", 1);
  w.set_u32("tokenizer.ggml.cls_token_id", 2);
  w.set_u32("tokenizer.ggml.bos_token_id", 2);
  w.set_u32("tokenizer.ggml.seperator_token_id", 3);  // sic: llama.cpp's key
  w.set_u32("tokenizer.ggml.mask_token_id", 4);
  w.set_u32(arch + ".pooling_type", static_cast<uint32_t>(model::Pooling::Mean));
  w.set_bool(arch + ".attention.causal", false);
}

}  // namespace

std::vector<std::string> synthetic_wpm_vocab(int64_t n) {
  const std::string marker = "\xe2\x96\x81";  // U+2581: a word's first piece
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-";
  const int64_t minimum = static_cast<int64_t>(kWpmSpecials.size() + 2 * alphabet.size());
  if (n < minimum) fail("a WordPiece vocabulary needs at least {} tokens (specials and every character), got {}", minimum, n);
  std::vector<std::string> v(kWpmSpecials.begin(), kWpmSpecials.end());
  for (const char c : alphabet) {
    v.push_back(marker + c);
    v.emplace_back(1, c);
  }
  // Longer pieces over a-z from two letters on, alternately word-initial and not.
  for (int64_t k = 0; static_cast<int64_t>(v.size()) < n; ++k) {
    std::string piece;
    for (int64_t x = 26 + k / 2; ; x = x / 26 - 1) {
      piece.insert(piece.begin(), static_cast<char>('a' + x % 26));
      if (x < 26) break;
    }
    v.push_back(k % 2 == 0 ? marker + piece : piece);
  }
  return v;
}

BpeVocab synthetic_bpe_vocab(int64_t n) {
  if (n < 259) fail("a vocabulary needs at least 259 tokens (256 bytes + 3 controls), got {}", n);
  BpeVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_symbol(b));
  // Merged pieces: a space (Ġ) or letter followed by a letter, then longer
  // pieces grown from those by one more letter, in that rank order.
  const std::string space = byte_symbol(' ');
  std::vector<std::string> firsts = {space};
  for (char c = 'a'; c <= 'z'; ++c) firsts.emplace_back(1, c);
  const int64_t pieces = n - 256 - 3;
  std::vector<std::string> grown;
  for (size_t level = 0; static_cast<int64_t>(v.merges.size()) < pieces; ++level) {
    const std::vector<std::string>& lefts = level == 0 ? firsts : grown;
    std::vector<std::string> next;
    for (const std::string& left : lefts) {
      for (char c = 'a'; c <= 'z' && static_cast<int64_t>(v.merges.size()) < pieces; ++c) {
        v.merges.push_back(left + " " + std::string(1, c));
        v.tokens.push_back(left + c);
        next.push_back(left + c);
      }
    }
    grown = std::move(next);
  }
  for (const char* control : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) v.tokens.emplace_back(control);
  return v;
}

ModelShape with_expert_defaults(ModelShape s) {
  const model::Architecture& arch = model::find_architecture(s.arch, "model maker");
  if (arch.experts == model::Experts::None) {
    if (s.n_expert > 0 || s.n_expert_used > 0 || s.n_ff_exp > 0 || s.n_ff_shexp > 0)
      throw UsageError(fmt::format("architecture '{}' has no experts", s.arch));
    return s;
  }
  if (arch.experts == model::Experts::Required && s.n_expert == 0) s.n_expert = 8;
  if (s.n_expert == 0) {
    if (s.n_expert_used > 0 || s.n_ff_exp > 0 || s.n_ff_shexp > 0)
      throw UsageError("expert settings without --experts");
    return s;
  }
  if (s.n_expert_used == 0) s.n_expert_used = std::min<int64_t>(2, s.n_expert);
  if (s.n_expert > 256 || s.n_expert_used > s.n_expert)
    throw UsageError(fmt::format("{} experts per token of {} experts (at most 256 experts)", s.n_expert_used, s.n_expert));
  if (arch.experts == model::Experts::Optional) {
    if (s.n_ff_exp > 0 && s.n_ff_exp != s.n_ff)
      throw UsageError(fmt::format("{}'s experts have the feed-forward dim (--ffn)", s.arch));
    s.n_ff_exp = s.n_ff;
  } else if (s.n_ff_exp == 0) {
    s.n_ff_exp = std::max<int64_t>(1, s.n_ff / s.n_expert_used);
  }
  if (!arch.expert_options.shared && s.n_ff_shexp > 0)
    throw UsageError(fmt::format("architecture '{}' has no shared expert", s.arch));
  if (arch.expert_options.shared && s.n_ff_shexp == 0) s.n_ff_shexp = s.n_ff;
  return s;
}

void add_model_metadata(io::GgufWriter& w, const ModelShape& shape) {
  const ModelShape s = with_expert_defaults(shape);
  const FamilyFacts& f = family_facts(s.arch);
  const model::Architecture& arch = model::find_architecture(s.arch, "model maker");
  const std::string p = s.arch + ".";
  w.set_string("general.architecture", s.arch);
  w.set_string("general.name", "tessera-random");
  w.set_u32(p + "context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(p + "embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32(p + "block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32(p + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32(p + "attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32(p + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  if (f.head_dim_keys) {
    w.set_u32(p + "attention.key_length", static_cast<uint32_t>(s.n_embd / s.n_head));
    w.set_u32(p + "attention.value_length", static_cast<uint32_t>(s.n_embd / s.n_head));
  }
  if (f.softcap_keys) {
    w.set_f32(p + "attn_logit_softcapping", 50.0f);
    w.set_f32(p + "final_logit_softcapping", 30.0f);
  }
  add_expert_metadata(w, s);
  if (s.n_window > 0 && arch.window_period == 0)
    fail("model maker: architecture '{}' has no sliding window (--window)", s.arch);
  if (f.window_key || s.n_window > 0)
    w.set_u32(p + "attention.sliding_window", static_cast<uint32_t>(s.n_window > 0 ? s.n_window : s.n_ctx));
  if (f.rope_base > 0) {
    w.set_u32(p + "rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
    w.set_f32(p + "rope.freq_base", f.rope_base);
  }
  if (s.longrope_orig_ctx > 0) {
    if (std::none_of(arch.tensors.begin(), arch.tensors.end(),
                     [](const model::TensorSpec& t) { return t.role == model::Role::RopeFactorsLong; }))
      fail("model maker: architecture '{}' has no LongRoPE factors (--longrope-orig-ctx)", s.arch);
    if (s.longrope_orig_ctx >= s.n_ctx)
      fail("model maker: LongRoPE's original context {} must be less than the context {}", s.longrope_orig_ctx, s.n_ctx);
    const double scale = static_cast<double>(s.n_ctx) / static_cast<double>(s.longrope_orig_ctx);
    w.set_u32(p + "rope.scaling.original_context_length", static_cast<uint32_t>(s.longrope_orig_ctx));
    w.set_f32(p + "rope.scaling.attn_factor",
              static_cast<float>(std::sqrt(1.0 + std::log(scale) / std::log(static_cast<double>(s.longrope_orig_ctx)))));
  }
  if (arch.norm == model::NormKind::LayerNorm)
    w.set_f32(p + "attention.layer_norm_epsilon", f.norm_eps);
  else
    w.set_f32(p + "attention.layer_norm_rms_epsilon", f.norm_eps);
  if (f.wordpiece)
    add_wpm_vocab(w, s.arch, synthetic_wpm_vocab(s.n_vocab));
  else if (f.bpe_pre)
    add_bpe_vocab(w, synthetic_bpe_vocab(s.n_vocab), f.bpe_pre);
  else
    add_spm_vocab(w, synthetic_vocab(s.n_vocab));
}

void for_each_model_tensor(const ModelShape& shape, bool tied_output,
                           const std::function<void(const std::string&, std::vector<int64_t>)>& add) {
  const ModelShape s = with_expert_defaults(shape);
  const model::Architecture& arch = model::find_architecture(s.arch, "model maker");
  const model::ModelConfig c = shape_config(s);
  auto wanted = [&](const model::TensorSpec& t) {
    if (!model::present_in(t, s.n_expert > 0)) return false;
    if (!t.optional) return true;
    if (t.role == model::Role::RopeFactorsLong || t.role == model::Role::RopeFactorsShort) return s.longrope_orig_ctx > 0;
    return t.role == model::Role::Output && !tied_output;
  };
  // File order as converters write it: model tensors before the blocks, the
  // final norm and head after them, each block's tensors together.
  for (const auto& t : arch.tensors)
    if (t.role == model::Role::TokenEmbd) add(std::string(t.name), model::tensor_shape(t, c));
  for (int64_t l = 0; l < s.n_layer; ++l)
    for (const auto& t : arch.tensors)
      if (t.per_layer() && wanted(t)) add(block_tensor(t.name, l), model::tensor_shape(t, c));
  for (const auto& t : arch.tensors)
    if (!t.per_layer() && t.role != model::Role::TokenEmbd && wanted(t))
      add(std::string(t.name), model::tensor_shape(t, c));
}

void write_random_model(const std::string& path, const RandomModelOptions& o) {
  const ModelShape& s = o.shape;
  if (s.n_embd % s.n_head != 0 || s.n_head % s.n_head_kv != 0)
    fail("model shape: dim {} must be a multiple of heads {}, and heads of kv heads {}", s.n_embd, s.n_head,
         s.n_head_kv);
  if (!kernels::supports(o.weight_type)) fail("cannot write weights as {}: no kernels for it", dtype_name(o.weight_type));
  io::GgufWriter w;
  add_model_metadata(w, s);
  if (!o.chat_template.empty()) w.set_string("tokenizer.chat_template", o.chat_template);
  // llama.cpp's tools name a mixture by this key; without it they guess from the
  // commonest tensor type, which cannot tell Q4_K_S from Q4_K_M.
  if (o.mix) w.set_u32("general.file_type", quant_mix_file_type(*o.mix));
  const MixedModel mixed{s.n_layer, !o.tied_output, s.n_head / s.n_head_kv, with_expert_defaults(s).n_expert};
  size_t count = 0, index = 0;
  for_each_model_tensor(s, o.tied_output, [&](const std::string&, std::vector<int64_t>) { ++count; });
  Rng rng{o.seed};
  std::vector<float> values;
  ThreadPool pool(default_thread_count());
  for_each_model_tensor(s, o.tied_output, [&](const std::string& name, std::vector<int64_t> ne) {
    if (o.on_tensor) o.on_tensor(index++, count, name);
    const bool is_vector = ne.size() == 1;
    const DType type = o.mix                                  ? tensor_type_for(*o.mix, name, ne, mixed)
                       : is_vector || is_expert_router(name) ? DType::F32
                                                             : o.weight_type;
    const int64_t cols = ne[0], rows = is_vector ? 1 : ne[1] * (ne.size() == 3 ? ne[2] : 1);
    const size_t stride = row_bytes(type, cols);
    // Uniform on [-a, a] has variance a^2 / 3: a = sqrt(3 / fan_in) matches N(0, 1/fan_in).
    const float scale = is_vector ? 0.1f : std::sqrt(3.0f / static_cast<float>(cols));
    // Values drawn in order from one generator (the file depends only on the
    // seed), then quantized on all threads.
    values.resize(static_cast<size_t>(rows * cols));
    const bool norm_weight = name.find("norm.weight") != std::string::npos;  // near 1; biases near 0
    const float center = is_vector && norm_weight ? 1.0f : 0.0f;
    for (auto& x : values) x = center + scale * rng.uniform();
    // LongRoPE's factors divide the angles: short ones near 1, long ones up to 8, as real files' ranges.
    const bool long_factors = name == "rope_factors_long.weight";
    if (long_factors || name == "rope_factors_short.weight")
      for (auto& x : values) x = 1.0f + (long_factors ? 3.5f : 0.05f) * (1.0f + rng.uniform());
    std::vector<uint8_t> bytes(stride * static_cast<size_t>(rows));
    convert_rows(pool, type, rows, cols, bytes.data(), [&](int64_t r, float* row) {
      std::copy_n(values.data() + r * cols, cols, row);
    });
    w.add_tensor(name, type, ne, std::move(bytes));
  });
  w.write(path);
}

}  // namespace tessera::engine

namespace tessera {

void make_random_model(const std::string& path, const RandomModelSpec& spec) {
  engine::RandomModelOptions o;
  o.shape = engine::model_preset(spec.preset);
  auto over = [](int64_t& field, int64_t value) {
    if (value > 0) field = value;
  };
  over(o.shape.n_vocab, spec.n_vocab);
  over(o.shape.n_embd, spec.n_embd);
  over(o.shape.n_layer, spec.n_layer);
  over(o.shape.n_head, spec.n_head);
  over(o.shape.n_head_kv, spec.n_head_kv);
  over(o.shape.n_ff, spec.n_ff);
  over(o.shape.n_ctx, spec.n_ctx);
  o.shape.arch = spec.arch;
  over(o.shape.n_window, spec.sliding_window);
  over(o.shape.longrope_orig_ctx, spec.longrope_orig_ctx);
  over(o.shape.n_expert, spec.n_expert);
  over(o.shape.n_expert_used, spec.n_expert_used);
  over(o.shape.n_ff_exp, spec.n_ff_exp);
  over(o.shape.n_ff_shexp, spec.n_ff_shexp);
  const auto choice = engine::parse_weight_type(spec.weight_type);
  if (const auto* mix = std::get_if<engine::QuantMix>(&choice))
    o.mix = *mix;
  else
    o.weight_type = std::get<DType>(choice);
  o.tied_output = spec.tied_output;
  o.seed = spec.seed;
  o.chat_template = spec.chat_template;
  o.on_tensor = spec.on_tensor;
  engine::write_random_model(path, o);
}

}  // namespace tessera
