// Reading tokenizer.ggml.* metadata into a checked VocabSpec.
#include <fmt/format.h>

#include <array>
#include <limits>
#include <optional>
#include <string>

#include "core/error.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer_base.h"

namespace tessera {
namespace {

using io::MetaType;
using io::MetaValue;

// Typed access with messages that name the file and the key.
class Reader {
 public:
  explicit Reader(const io::Metadata& meta)
      : meta_(meta), where_(meta.source.empty() ? std::string("model metadata") : meta.source) {}

  const std::string& where() const { return where_; }

  const MetaValue* find(const std::string& key) const {
    const auto it = meta_.values.find(key);
    return it == meta_.values.end() ? nullptr : &it->second;
  }

  const MetaValue& require(const std::string& key, const char* why) const {
    const MetaValue* v = find(key);
    if (v == nullptr) fail("{}: {} is missing ({})", where_, key, why);
    return *v;
  }

  [[noreturn]] void wrong_type(const std::string& key, const MetaValue& v, const char* expected) const {
    fail("{}: {} has type {}, expected {}", where_, key, io::describe_meta_type(v), expected);
  }

  std::optional<std::string> string(const std::string& key) const {
    const MetaValue* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->type != MetaType::STRING) wrong_type(key, *v, "string");
    return v->s;
  }

  std::optional<bool> boolean(const std::string& key) const {
    const MetaValue* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->type != MetaType::BOOL) wrong_type(key, *v, "bool");
    return v->i != 0;
  }

  // A token id: an integer in [0, n_vocab).
  std::optional<int32_t> token_id(const std::string& key, size_t n_vocab) const {
    const MetaValue* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!io::meta_type_is_integer(v->type)) wrong_type(key, *v, "an integer token id");
    const bool in_range = v->type == MetaType::U64 ? v->u < n_vocab : (v->i >= 0 && static_cast<uint64_t>(v->i) < n_vocab);
    if (!in_range) {
      const std::string shown = v->type == MetaType::U64 ? std::to_string(v->u) : std::to_string(v->i);
      fail("{}: {} = {} is out of range (the vocabulary has {} tokens)", where_, key, shown, n_vocab);
    }
    return static_cast<int32_t>(v->i);
  }

  const std::vector<std::string>& strings(const std::string& key, const char* why) const {
    const MetaValue& v = require(key, why);
    if (v.type != MetaType::ARRAY || v.elem_type != MetaType::STRING) wrong_type(key, v, "array of string");
    return v.strings;
  }

 private:
  const io::Metadata& meta_;
  std::string where_;
};

constexpr const char* kModel = "tokenizer.ggml.model";
constexpr const char* kPre = "tokenizer.ggml.pre";
constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kScores = "tokenizer.ggml.scores";
constexpr const char* kTypes = "tokenizer.ggml.token_type";
constexpr const char* kMerges = "tokenizer.ggml.merges";
constexpr const char* kBos = "tokenizer.ggml.bos_token_id";
constexpr const char* kEos = "tokenizer.ggml.eos_token_id";
constexpr const char* kEot = "tokenizer.ggml.eot_token_id";
constexpr const char* kUnk = "tokenizer.ggml.unknown_token_id";
constexpr const char* kSep = "tokenizer.ggml.seperator_token_id";  // sic: llama.cpp's spelling
constexpr const char* kCls = "tokenizer.ggml.cls_token_id";
constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
constexpr const char* kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";

std::vector<float> read_scores(const Reader& r, size_t n) {
  const MetaValue* v = r.find(kScores);
  if (v == nullptr) return std::vector<float>(n, 0.0f);
  if (v->type != MetaType::ARRAY || !(io::meta_type_is_float(v->elem_type) || io::meta_type_is_integer(v->elem_type))) {
    r.wrong_type(kScores, *v, "array of f32");
  }
  const size_t count = io::meta_type_is_float(v->elem_type) ? v->floats.size() : v->ints.size();
  if (count != n) fail("{}: {} has {} entries but there are {} tokens", r.where(), kScores, count, n);
  std::vector<float> scores(n);
  for (size_t i = 0; i < n; ++i) {
    scores[i] = io::meta_type_is_float(v->elem_type) ? static_cast<float>(v->floats[i]) : static_cast<float>(v->ints[i]);
  }
  return scores;
}

std::vector<TokenType> read_types(const Reader& r, size_t n) {
  const MetaValue* v = r.find(kTypes);
  if (v == nullptr) return std::vector<TokenType>(n, TokenType::Normal);
  if (v->type != MetaType::ARRAY || !io::meta_type_is_integer(v->elem_type)) r.wrong_type(kTypes, *v, "array of i32");
  if (v->ints.size() != n) {
    fail("{}: {} has {} entries but there are {} tokens", r.where(), kTypes, v->ints.size(), n);
  }
  std::vector<TokenType> types(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = v->ints[i];
    if (t < 0 || t > static_cast<int64_t>(TokenType::Byte)) {
      fail("{}: {}[{}] = {} is not a token type (0..6)", r.where(), kTypes, i, t);
    }
    types[i] = static_cast<TokenType>(t);
  }
  return types;
}

// Chat and base models name their end-of-turn token in text only, often; these
// are the spellings llama.cpp also recognises.
int32_t guess_eot(const VocabSpec& spec) {
  static constexpr std::array<std::string_view, 6> kNames = {"<|eot_id|>", "<|im_end|>", "<|end|>",
                                                             "<end_of_turn>", "<|endoftext|>", "<EOT>"};
  for (size_t id = 0; id < spec.tokens.size(); ++id) {
    for (const auto name : kNames) {
      if (spec.tokens[id] == name && static_cast<int32_t>(id) != spec.eos) return static_cast<int32_t>(id);
    }
  }
  return -1;
}

}  // namespace

VocabSpec read_vocab_spec(const io::Metadata& meta) {
  const Reader r(meta);
  VocabSpec spec;
  spec.source = r.where();

  const auto model = r.string(kModel);
  if (!model) fail("{}: {} is missing (the file carries no tokenizer)", r.where(), kModel);
  spec.model = *model;
  const bool is_llama = spec.model == "llama", is_bert = spec.model == "bert";
  if (!is_llama && !is_bert && spec.model != "gpt2") {
    fail("{}: {} = '{}' is not supported (supported: 'llama' SentencePiece-style BPE, 'gpt2' byte-level BPE, "
         "'bert' WordPiece)",
         r.where(), kModel, spec.model);
  }

  const PreTokenizerSpec* pre = nullptr;
  if (is_bert) {
    spec.pre = r.string(kPre).value_or("");  // informative only: WordPiece has one pre-tokenizer
  } else if (!is_llama) {
    spec.pre = r.string(kPre).value_or("default");
    pre = find_pretokenizer(spec.pre);
    if (pre == nullptr) {
      fail("{}: {} = '{}' is not a supported pre-tokenizer (supported: {})", r.where(), kPre, spec.pre,
           supported_pretokenizer_names());
    }
  }

  spec.tokens = r.strings(kTokens, "the vocabulary");
  const size_t n = spec.tokens.size();
  if (n == 0) fail("{}: {} is empty", r.where(), kTokens);
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) fail("{}: {} is too large", r.where(), kTokens);
  spec.scores = read_scores(r, n);
  spec.types = read_types(r, n);
  if (!is_llama && !is_bert) spec.merges = &r.strings(kMerges, "byte-level BPE needs its merge list");

  // llama.cpp's defaults: SentencePiece vocabularies put <unk> <s> </s> first.
  if (is_llama) {
    spec.unk = 0;
    spec.bos = n > 1 ? 1 : -1;
    spec.eos = n > 2 ? 2 : -1;
  }
  // llama.cpp's defaults for BERT vocabularies: [UNK] 100, [CLS] 101, [SEP] 102.
  if (is_bert) {
    if (n > 100) spec.unk = 100;
    if (n > 101) spec.bos = 101;
    if (n > 102) spec.sep = 102;
    if (auto id = r.token_id(kCls, n)) spec.bos = *id;
    if (auto id = r.token_id(kSep, n)) spec.sep = *id;
  }
  if (auto id = r.token_id(kBos, n)) spec.bos = *id;
  if (auto id = r.token_id(kEos, n)) spec.eos = *id;
  if (auto id = r.token_id(kUnk, n)) spec.unk = *id;
  if (auto id = r.token_id(kEot, n)) {
    spec.eot = *id;
  } else {
    spec.eot = guess_eot(spec);
  }

  spec.add_bos = r.boolean(kAddBos).value_or(is_llama ? true : is_bert ? spec.bos >= 0 : pre->add_bos);
  if (spec.add_bos && spec.bos < 0) {
    fail("{}: {} is true but there is no BOS token ({} is not set)", r.where(), kAddBos, kBos);
  }
  spec.add_space_prefix = is_llama && r.boolean(kAddSpacePrefix).value_or(true);
  return spec;
}

}  // namespace tessera
