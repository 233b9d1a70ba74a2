// WordPiece ("bert" vocabularies), as llama.cpp tokenizes GGUF BERT files: text
// normalised (accents stripped, lowercased, control characters dropped), split
// at whitespace, punctuation and CJK ideographs, then each word matched greedily,
// longest piece first. llama.cpp's converter spells a word-initial piece with
// "▁" in front and a continuation without HF's "##".
#pragma once

#include "tokenizer/tokenizer_base.h"

namespace tessera {

class WpmTokenizer final : public TokenizerBase {
 public:
  explicit WpmTokenizer(VocabSpec&& spec);

  // add_bos puts [CLS] first and [SEP] last, as BERT's "add special tokens".
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = false) const override;
  std::string token_to_piece(int32_t id) const override;
  // Pieces joined, the first word's space dropped, and the spaces the splitter
  // put before punctuation taken out again (llama.cpp's clean_spaces).
  std::string decode(const std::vector<int32_t>& ids) const override;

 private:
  void encode_words(std::string_view text, std::vector<int32_t>& out) const;
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  int32_t sep_ = -1;
  size_t max_token_bytes_ = 0;
};

// The words WordPiece matches, from raw text: each code point replaced by the
// first of its canonical decomposition and lowercased; whitespace ends a word;
// control characters, NUL and U+FFFD (also for bytes that are not UTF-8) are
// dropped; punctuation, ASCII symbols and CJK ideographs are words of their own.
std::vector<std::string> wordpiece_words(std::string_view text);

}  // namespace tessera
