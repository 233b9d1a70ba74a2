#include "tokenizer/wpm_tokenizer.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace tessera {
namespace {

constexpr std::string_view kWordMarker = "\xE2\x96\x81";  // U+2581, the converter's word-start mark
constexpr uint32_t kReplacement = 0xFFFD;

// The first code point of c's canonical decomposition (c itself when it has
// none): "é" -> "e". Marks already in the text stay (they are letters of the word).
uint32_t nfd_first(uint32_t c) {
  if (c < 0xC0) return c;  // nothing below U+00C0 decomposes
  UErrorCode status = U_ZERO_ERROR;
  static const UNormalizer2* nfd = unorm2_getNFDInstance(&status);
  if (nfd == nullptr) fail("the ICU NFD normaliser is unavailable");
  UChar buf[32];
  status = U_ZERO_ERROR;
  const int32_t n = unorm2_getDecomposition(nfd, static_cast<UChar32>(c), buf, 32, &status);
  if (n <= 0 || U_FAILURE(status)) return c;
  UChar32 first;
  int32_t i = 0;
  U16_NEXT(buf, i, n, first);
  return static_cast<uint32_t>(first);
}

// Unicode general categories, as llama.cpp's flags: control is C but unassigned
// (Cc, Cf, Co, Cs), punctuation P, symbol S.
bool in_categories(uint32_t c, uint32_t mask) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & mask) != 0; }
constexpr uint32_t kControl = U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK;

// The CJK ideograph blocks BERT's basic tokenizer isolates (Hugging Face's
// ranges, 0x2B920 start included as it has it).
bool is_cjk(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

}  // namespace

std::vector<std::string> wordpiece_words(std::string_view text) {
  std::vector<std::string> words(1);
  for (size_t pos = 0; pos < text.size();) {
    uint32_t c = 0;
    const size_t len = utf8::decode(text, pos, &c);
    if (len == 0) c = kReplacement;  // a byte that is not UTF-8, dropped below
    pos += std::max<size_t>(len, 1);
    c = nfd_first(c);
    if (u_isUWhiteSpace(static_cast<UChar32>(c))) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (c == 0 || c == kReplacement || in_categories(c, kControl)) continue;
    const auto lower = static_cast<uint32_t>(u_tolower(static_cast<UChar32>(c)));
    if (in_categories(c, U_GC_P_MASK) || (c < 0x7F && in_categories(c, U_GC_S_MASK)) || is_cjk(c)) {
      if (!words.back().empty()) words.emplace_back();
      utf8::append(words.back(), lower);
      words.emplace_back();
    } else {
      utf8::append(words.back(), lower);
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

WpmTokenizer::WpmTokenizer(VocabSpec&& spec) : TokenizerBase(std::move(spec)) {
  sep_ = spec.sep;
  for (const std::string& t : tokens_) max_token_bytes_ = std::max(max_token_bytes_, t.size());
}

std::vector<int32_t> WpmTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> ids;
  const bool special = wants_bos(add_bos);
  if (special) ids.push_back(bos_);
  for (const TextFragment& fragment : split_special(text, parse_special)) {
    if (fragment.token >= 0)
      ids.push_back(fragment.token);
    else
      encode_words(fragment.text, ids);
  }
  if (special && sep_ >= 0) ids.push_back(sep_);
  return ids;
}

void WpmTokenizer::encode_words(std::string_view text, std::vector<int32_t>& out) const {
  std::string marked;
  for (const std::string& word : wordpiece_words(text)) {
    marked.assign(kWordMarker);
    marked += word;
    encode_word(marked, out);
  }
}

// Longest piece first from each position; a word with a position no piece
// starts at becomes one unknown token.
void WpmTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  const size_t start = out.size();
  for (size_t i = 0; i < word.size();) {
    int32_t id = -1;
    size_t j = std::min(word.size(), i + max_token_bytes_);
    for (; j > i; --j)
      if ((id = find_token(word.substr(i, j - i))) >= 0) break;
    if (id < 0) {
      out.resize(start);
      break;
    }
    out.push_back(id);
    i = j;
  }
  if (out.size() == start && unk_ >= 0) out.push_back(unk_);
}

std::string WpmTokenizer::token_to_piece(int32_t id) const {
  check_id(id);
  const std::string& text = tokens_[id];
  switch (types_[id]) {
    case TokenType::Normal:
      return marker_to_space(text);
    case TokenType::UserDefined:
      return text;
    default:  // [CLS], [SEP], [UNK], ...: nothing to show
      return {};
  }
}

std::string WpmTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string joined;
  for (const int32_t id : ids) joined += token_to_piece(id);
  if (!joined.empty() && joined[0] == ' ') joined.erase(0, 1);
  // " ." -> "." (also ? ! ,), " ' " -> "'", " 's" / " 'm" / " 're" / " 've" -> "'s" ...
  std::string text;
  text.reserve(joined.size());
  for (size_t i = 0; i < joined.size(); ++i) {
    const char x = joined[i];
    const bool after_space = !text.empty() && text.back() == ' ';
    auto next = [&](size_t k) { return i + k < joined.size() ? joined[i + k] : '\0'; };
    if (after_space && (x == '?' || x == '!' || x == '.' || x == ',')) text.pop_back();
    if (after_space && x == '\'' && next(1) == ' ') {
      text.pop_back();
      text += x;
      ++i;  // and the space after it
      continue;
    }
    if (after_space && x == '\'' &&
        (next(1) == 's' || next(1) == 'm' || (next(1) == 'r' && next(2) == 'e') || (next(1) == 'v' && next(2) == 'e')))
      text.pop_back();
    text += x;
  }
  return text;
}

}  // namespace tessera
