#include "tokenizer/spm_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

#include "tokenizer/utf8.h"

namespace tessera {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

// A run of the fragment being merged; symbols form a doubly linked list and a
// merged-away symbol keeps size 0.
struct Symbol {
  uint32_t begin = 0, size = 0;
  int32_t prev = -1, next = -1;
};

// Two adjacent symbols whose concatenation is a token with this score.
struct Candidate {
  float score;
  int32_t left, right;
  uint32_t size;  // left.size + right.size when the candidate was made
};

// Highest score first; on ties the leftmost pair.
struct LowerPriority {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(VocabSpec&& spec) : TokenizerBase(std::move(spec)) {
  for (int b = 0; b < 256; ++b) {
    int32_t id = find_token(fmt::format("<0x{:02X}>", b));
    if (id < 0) id = find_token(std::string(1, static_cast<char>(b)));
    byte_tokens_[b] = id;
  }
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> ids;
  if (wants_bos(add_bos)) ids.push_back(bos_);
  bool after_special = true;  // the dummy prefix goes at the start and after each special token
  std::string escaped;
  for (const TextFragment& fragment : split_special(text, parse_special)) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      after_special = true;
      continue;
    }
    escaped.clear();
    if (add_space_prefix_ && after_special) escaped += kSpaceMarker;
    for (const char c : fragment.text) {
      if (c == ' ') {
        escaped += kSpaceMarker;
      } else {
        escaped += c;
      }
    }
    encode_fragment(escaped, ids);
    after_special = false;
  }
  return ids;
}

void SpmTokenizer::encode_fragment(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  // One symbol per UTF-8 character. A byte that starts no well-formed sequence is
  // a symbol of its own (llama.cpp would let it swallow the next bytes, "▁" included,
  // which then come back as bytes instead of a space).
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  uint32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = std::max<size_t>(utf8::decode(text, pos, &cp), 1);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), index - 1, index + 1});
    pos += len;
  }
  symbols.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
  const auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t size = symbols[left].size + symbols[right].size;
    const int32_t id = find_token(text.substr(symbols[left].begin, size));
    if (id >= 0) queue.push({scores_[id], left, right, size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) consider(i - 1, i);

  while (!queue.empty()) {
    const Candidate best = queue.top();
    queue.pop();
    Symbol& left = symbols[best.left];
    Symbol& right = symbols[best.right];
    // Stale when either side has merged with something else since.
    if (left.size == 0 || right.size == 0 || left.next != best.right || left.size + right.size != best.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = best.left;
    consider(left.prev, best.left);
    consider(best.left, left.next);
  }

  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].begin, symbols[i].size);
    const int32_t id = find_token(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Not in the vocabulary: its bytes, or one <unk> when byte tokens are missing.
    const bool all_bytes = std::all_of(piece.begin(), piece.end(),
                                       [&](char c) { return byte_tokens_[static_cast<uint8_t>(c)] >= 0; });
    if (all_bytes) {
      for (const char c : piece) out.push_back(byte_tokens_[static_cast<uint8_t>(c)]);
    } else if (unk_ >= 0) {
      out.push_back(unk_);
    }
  }
}

std::string SpmTokenizer::token_to_piece(int32_t id) const {
  check_id(id);
  const std::string& text = tokens_[id];
  switch (types_[id]) {
    case TokenType::Normal:
      return marker_to_space(text);
    case TokenType::Byte: {
      const int value = parse_byte_token(text);
      return value >= 0 ? std::string(1, static_cast<char>(value)) : text;  // else spelled as its byte
    }
    case TokenType::UserDefined:
      return text;
    default:  // control, unknown, unused: nothing to show
      return {};
  }
}

}  // namespace tessera
