// Byte-level BPE ("gpt2" vocabularies): regex pre-tokenizer, GPT-2's byte ->
// character alphabet, merges applied by rank.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer_base.h"

namespace tessera {

class BpeTokenizer final : public TokenizerBase {
 public:
  explicit BpeTokenizer(VocabSpec&& spec);

  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = false) const override;
  std::string token_to_piece(int32_t id) const override;

 private:
  struct Merge {
    int32_t rank;    // position in tokenizer.ggml.merges: lower merges first
    int32_t result;  // symbol of the merged pair
  };

  // Symbols are token ids, plus ids past the vocabulary for merge operands that
  // are not tokens themselves, so merging compares integers, not strings.
  int32_t intern(std::string_view text);
  int32_t find_symbol(std::string_view text) const;

  // Appends the ids of one pre-tokenized word (raw UTF-8 bytes).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  PairIndex<Merge> merges_;  // (left symbol, right symbol) -> merge
  std::deque<std::string> extra_texts_;  // a deque keeps the strings the keys below view in place
  StringIndex extra_ids_;
  std::array<int32_t, 256> byte_symbols_{};  // symbol of each byte's alphabet character, or -1
  std::array<int32_t, 256> byte_tokens_{};   // token of each byte's alphabet character, or -1
};

}  // namespace tessera
