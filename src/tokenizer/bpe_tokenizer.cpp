#include "tokenizer/bpe_tokenizer.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace tessera {
namespace {

struct Symbol {
  int32_t id = -1;           // symbol id, -1 for a byte outside every token and merge
  uint32_t begin = 0, size = 0;  // raw bytes of the word it covers; size 0 once merged away
  int32_t prev = -1, next = -1;
};

// A mergeable adjacent pair, as it was when queued.
struct Candidate {
  int32_t rank;
  int32_t left, right;        // symbol positions
  int32_t left_id, right_id;  // their ids then; a mismatch later means the pair is stale
  int32_t result;
};

// Lowest rank first; on ties the leftmost pair.
struct LowerPriority {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

BpeTokenizer::BpeTokenizer(VocabSpec&& spec) : TokenizerBase(std::move(spec)) {
  const PreTokenizerSpec* pre = find_pretokenizer(pre_);
  if (pre == nullptr) fail("{}: unknown pre-tokenizer '{}'", source_, pre_);  // read_vocab_spec checked it
  pre_tokenizer_ = std::make_unique<PreTokenizer>(*pre);

  const std::vector<std::string>& merges = *spec.merges;  // a pointer into the Metadata: not moved from
  merges_.reserve(merges.size());
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& line = merges[rank];
    const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string::npos;
    if (space == std::string::npos) {
      fail("{}: tokenizer.ggml.merges[{}] = '{}' is not two symbols separated by a space", source_, rank, line);
    }
    const std::string_view left(line.data(), space), right(line.data() + space + 1, line.size() - space - 1);
    joined.assign(left).append(right);
    const Merge merge{static_cast<int32_t>(rank), intern(joined)};
    merges_.insert(intern(left), intern(right), merge);  // the first (lowest) rank of a pair wins
  }

  for (int b = 0; b < 256; ++b) {
    const std::string& text = byte_level::byte_to_text(static_cast<uint8_t>(b));
    byte_symbols_[b] = find_symbol(text);
    byte_tokens_[b] = find_token(text);
  }
}

int32_t BpeTokenizer::find_symbol(std::string_view text) const {
  const int32_t id = find_token(text);
  if (id >= 0) return id;
  return extra_ids_.find(text);
}

int32_t BpeTokenizer::intern(std::string_view text) {
  const int32_t found = find_symbol(text);
  if (found >= 0) return found;
  const auto id = static_cast<int32_t>(tokens_.size() + extra_texts_.size());
  extra_texts_.emplace_back(text);
  extra_ids_.insert(extra_texts_.back(), id);
  return id;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> ids;
  if (wants_bos(add_bos)) ids.push_back(bos_);
  for (const TextFragment& fragment : split_special(text, parse_special)) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      continue;
    }
    // Invalid UTF-8 becomes U+FFFD first, as llama.cpp does, so the regexes see valid text.
    const std::string valid = utf8::sanitize(fragment.text);
    for (const std::string_view word : pre_tokenizer_->split(valid)) encode_word(word, ids);
  }
  return ids;
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (pre_tokenizer_->ignore_merges()) {
    std::string mapped;
    for (const char c : word) mapped += byte_level::byte_to_text(static_cast<uint8_t>(c));
    if (const int32_t id = find_token(mapped); id >= 0) {
      out.push_back(id);
      return;
    }
  }

  // One symbol per byte: each byte is one character of the byte-level alphabet.
  std::vector<Symbol> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    const auto pos = static_cast<int32_t>(i);
    symbols[i] = {byte_symbols_[static_cast<uint8_t>(word[i])], static_cast<uint32_t>(i), 1, pos - 1, pos + 1};
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
  const auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t a = symbols[left].id, b = symbols[right].id;
    if (a < 0 || b < 0) return;
    if (const Merge* m = merges_.find(a, b)) queue.push({m->rank, left, right, a, b, m->result});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) consider(i - 1, i);

  while (!queue.empty()) {
    const Candidate best = queue.top();
    queue.pop();
    Symbol& left = symbols[best.left];
    Symbol& right = symbols[best.right];
    if (left.size == 0 || right.size == 0 || left.next != best.right || left.id != best.left_id ||
        right.id != best.right_id) {
      continue;
    }
    left.id = best.result;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = best.left;
    consider(left.prev, best.left);
    consider(best.left, left.next);
  }

  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    if (s.id >= 0 && s.id < n_vocab()) {
      out.push_back(s.id);
      continue;
    }
    // A merge result or byte with no token of its own: fall back to per-byte tokens where they exist.
    for (uint32_t k = s.begin; k < s.begin + s.size; ++k) {
      const int32_t id = byte_tokens_[static_cast<uint8_t>(word[k])];
      if (id >= 0) out.push_back(id);
    }
  }
}

std::string BpeTokenizer::token_to_piece(int32_t id) const {
  check_id(id);
  const std::string& text = tokens_[id];
  switch (types_[id]) {
    case TokenType::Normal: {
      // Undo the byte-level alphabet; characters outside it are kept as they are.
      std::string bytes;
      bytes.reserve(text.size());
      uint32_t cp = 0;
      for (size_t pos = 0; pos < text.size();) {
        const size_t n = utf8::decode(text, pos, &cp);
        if (n == 0) {
          bytes += text[pos++];
          continue;
        }
        const int b = byte_level::codepoint_to_byte(cp);
        if (b >= 0) {
          bytes += static_cast<char>(b);
        } else {
          bytes.append(text, pos, n);
        }
        pos += n;
      }
      return bytes;
    }
    case TokenType::Byte: {
      const int value = parse_byte_token(text);
      return value >= 0 ? std::string(1, static_cast<char>(value)) : text;
    }
    case TokenType::UserDefined:
      return text;
    default:  // control, unknown, unused: nothing to show
      return {};
  }
}

}  // namespace tessera
