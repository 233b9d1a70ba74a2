// What SentencePiece-style and byte-level BPE tokenizers share: the vocabulary
// read from metadata, text -> id lookup, and splitting out special tokens.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_file.h"
#include "tokenizer/flat_index.h"
#include "tokenizer/tokenizer.h"

namespace tessera {

// The tokenizer.ggml.* keys, checked, with llama.cpp's defaults filled in.
struct VocabSpec {
  std::string source;  // file the metadata came from, for messages
  std::string model;   // "llama" | "gpt2" | "bert"
  std::string pre;     // gpt2 only; "default" when the key is absent
  std::vector<std::string> tokens;
  std::vector<TokenType> types;
  std::vector<float> scores;                            // 0 when absent
  const std::vector<std::string>* merges = nullptr;     // gpt2 only; points into the Metadata
  int32_t bos = -1, eos = -1, eot = -1, unk = -1;
  int32_t sep = -1;  // bert: [SEP], closing a text encoded with special tokens
  bool add_bos = false;
  bool add_space_prefix = false;
};

// Reads and checks the tokenizer keys; throws Error naming the key at fault.
VocabSpec read_vocab_spec(const io::Metadata& meta);

// The byte a "<0xXX>" token stands for, or -1 when `text` is not spelled so.
int parse_byte_token(std::string_view text);

// `text` with every U+2581 ("▁", SentencePiece's space and the BERT converter's
// word start) as a space.
std::string marker_to_space(std::string_view text);

// A piece of input text, or a special token found in it.
struct TextFragment {
  std::string_view text;  // empty for a token
  int32_t token = -1;     // >= 0: a special token's id
};

class TokenizerBase : public Tokenizer {
 public:
  std::string decode(const std::vector<int32_t>& ids) const override;

 protected:
  explicit TokenizerBase(VocabSpec&& spec);

  // Id of the token spelled `text` (of any type), or -1.
  int32_t find_token(std::string_view text) const { return token_ids_.find(text); }

  // Splits out special-token text: user-defined tokens always (as Hugging Face
  // and llama.cpp do), control and unknown tokens only when parse_special.
  // Longer tokens are matched first.
  std::vector<TextFragment> split_special(std::string_view text, bool parse_special) const;

  bool wants_bos(bool add_bos) const { return add_bos && add_bos_ && bos_ >= 0; }
  void check_id(int32_t id) const;  // Error when id is not a token

  std::string source_;
  bool add_space_prefix_ = false;  // encode puts "▁" before the text; decode drops that space
  std::vector<float> scores_;
  StringIndex token_ids_;  // keys view tokens_
  std::vector<int32_t> special_ids_;  // control, user-defined, unknown; longest text first
};

}  // namespace tessera
