// SentencePiece-style BPE ("llama" vocabularies): pieces with scores, "▁" for
// spaces, byte fallback through "<0xXX>" tokens.
#pragma once

#include <array>

#include "tokenizer/tokenizer_base.h"

namespace tessera {

class SpmTokenizer final : public TokenizerBase {
 public:
  explicit SpmTokenizer(VocabSpec&& spec);

  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = false) const override;
  std::string token_to_piece(int32_t id) const override;

 private:
  // Merges the characters of one escaped text fragment and appends its ids.
  void encode_fragment(std::string_view escaped, std::vector<int32_t>& out) const;

  std::array<int32_t, 256> byte_tokens_{};  // "<0xXX>" (or the one-byte piece), else -1
};

}  // namespace tessera
