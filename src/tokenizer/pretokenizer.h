// Pre-tokenizers of byte-level BPE vocabularies: the regexes that cut text into
// words before merges run, one table entry per tokenizer.ggml.pre family.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

// What a tokenizer.ggml.pre name stands for.
struct PreTokenizerSpec {
  std::vector<std::string_view> names;     // tokenizer.ggml.pre values
  std::vector<std::string_view> patterns;  // applied in order, each to the pieces of the last
  bool ignore_merges = false;  // a word that is itself a token is emitted without merging
  bool add_bos = false;        // add_bos_token default when the key is absent
};

// The spec for a name, or nullptr when the name is not supported.
const PreTokenizerSpec* find_pretokenizer(std::string_view name);

// Every supported name, for messages.
std::string supported_pretokenizer_names();

class PreTokenizer {
 public:
  explicit PreTokenizer(const PreTokenizerSpec& spec);  // compiles the regexes (Error on failure)
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Cuts valid UTF-8 text into words. Each regex is run over every piece left by
  // the previous one; both its matches and the text between them become pieces
  // (Hugging Face's "isolated" split), so the words always cover the text.
  std::vector<std::string_view> split(std::string_view text) const;

  bool ignore_merges() const { return spec_.ignore_merges; }

 private:
  class Regex;
  const PreTokenizerSpec& spec_;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace tessera
