// Tokenizers built from GGUF tokenizer metadata (tokenizer.ggml.*).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_file.h"

namespace tessera {

// GGUF token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer that tokenizer.ggml.model names ("llama": SentencePiece-style
  // BPE with scores and byte fallback; "gpt2": byte-level BPE with merges and the
  // pre-tokenizer tokenizer.ggml.pre names; "bert": WordPiece). Throws Error naming
  // the key at fault.
  static std::unique_ptr<Tokenizer> from_metadata(const io::Metadata& meta);

  // Token ids for `text`. add_bos prepends BOS when the vocabulary has one and
  // wants it; parse_special turns control-token text (e.g. "<s>") into its id.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                      bool parse_special = false) const = 0;

  // The bytes one token stands for in output text: byte tokens become their raw
  // byte, "▁" / byte-level markers become spaces and bytes, control tokens "".
  virtual std::string token_to_piece(int32_t id) const = 0;

  // Text for a whole sequence; drops the leading space that encode's dummy prefix
  // added, so decode(encode(s, false)) == s for every s the vocabulary can spell.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;

  int32_t n_vocab() const { return static_cast<int32_t>(tokens_.size()); }
  const std::string& token_text(int32_t id) const { return tokens_.at(id); }  // vocabulary string
  TokenType token_type(int32_t id) const { return types_.at(id); }
  int32_t bos_id() const { return bos_; }  // -1 when none
  int32_t eos_id() const { return eos_; }
  bool add_bos_default() const { return add_bos_; }
  const std::string& model_name() const { return model_; }  // "llama", "gpt2"
  const std::string& pre_name() const { return pre_; }      // pre-tokenizer, "" if none
  bool is_end_of_generation(int32_t id) const;              // EOS / EOT

 protected:
  std::vector<std::string> tokens_;
  std::vector<TokenType> types_;
  int32_t bos_ = -1, eos_ = -1, eot_ = -1, unk_ = -1;
  bool add_bos_ = true;
  std::string model_, pre_;
};

}  // namespace tessera
