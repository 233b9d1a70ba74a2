// The tokenizer factory and what both tokenizer kinds share.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer_base.h"
#include "tokenizer/wpm_tokenizer.h"

namespace tessera {

std::unique_ptr<Tokenizer> Tokenizer::from_metadata(const io::Metadata& meta) {
  VocabSpec spec = read_vocab_spec(meta);
  if (spec.model == "llama") return std::make_unique<SpmTokenizer>(std::move(spec));
  if (spec.model == "bert") return std::make_unique<WpmTokenizer>(std::move(spec));
  return std::make_unique<BpeTokenizer>(std::move(spec));
}

bool Tokenizer::is_end_of_generation(int32_t id) const { return id >= 0 && (id == eos_ || id == eot_); }

TokenizerBase::TokenizerBase(VocabSpec&& spec) {
  source_ = std::move(spec.source);
  model_ = std::move(spec.model);
  pre_ = std::move(spec.pre);
  tokens_ = std::move(spec.tokens);
  types_ = std::move(spec.types);
  scores_ = std::move(spec.scores);
  bos_ = spec.bos;
  eos_ = spec.eos;
  eot_ = spec.eot;
  unk_ = spec.unk;
  add_bos_ = spec.add_bos;
  add_space_prefix_ = spec.add_space_prefix;

  // Keys view the strings in tokens_, which never change after this point.
  token_ids_.reserve(tokens_.size());
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (!tokens_[id].empty()) token_ids_.insert(tokens_[id], static_cast<int32_t>(id));  // first id wins
  }

  for (size_t id = 0; id < tokens_.size(); ++id) {
    const TokenType t = types_[id];
    if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) && !tokens_[id].empty()) {
      special_ids_.push_back(static_cast<int32_t>(id));
    }
  }
  std::stable_sort(special_ids_.begin(), special_ids_.end(),
                   [&](int32_t a, int32_t b) { return tokens_[a].size() > tokens_[b].size(); });
}

int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (const char c : text.substr(3, 2)) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

std::string marker_to_space(std::string_view text) {
  constexpr std::string_view kMarker = "\xE2\x96\x81";
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (text.compare(pos, kMarker.size(), kMarker) == 0) {
      out += ' ';
      pos += kMarker.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

void TokenizerBase::check_id(int32_t id) const {
  if (id < 0 || id >= n_vocab()) fail("{}: token id {} is out of range (the vocabulary has {} tokens)", source_, id, n_vocab());
}

std::vector<TextFragment> TokenizerBase::split_special(std::string_view text, bool parse_special) const {
  std::vector<TextFragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({text, -1});
  std::vector<TextFragment> next;
  for (const int32_t id : special_ids_) {
    if (!parse_special && types_[id] != TokenType::UserDefined) continue;
    const std::string& needle = tokens_[id];
    next.clear();
    for (const TextFragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t pos = 0;
      for (size_t hit; (hit = f.text.find(needle, pos)) != std::string_view::npos; pos = hit + needle.size()) {
        if (hit > pos) next.push_back({f.text.substr(pos, hit - pos), -1});
        next.push_back({{}, id});
      }
      if (pos < f.text.size()) next.push_back({f.text.substr(pos), -1});
    }
    fragments.swap(next);
  }
  return fragments;
}

std::string TokenizerBase::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  bool strip_space = add_space_prefix_;
  for (const int32_t id : ids) {
    std::string piece = token_to_piece(id);
    if (strip_space && !piece.empty()) {  // the first piece that shows is where the dummy prefix went
      if (piece[0] == ' ') piece.erase(0, 1);
      strip_space = false;
    }
    text += piece;
  }
  return text;
}

}  // namespace tessera
