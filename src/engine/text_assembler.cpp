#include "engine/text_assembler.h"

#include <algorithm>

namespace tessera::engine {
namespace {

// Bytes at the end of s that begin a UTF-8 character not yet complete.
size_t incomplete_utf8_tail(std::string_view s) {
  for (size_t back = 1; back <= std::min<size_t>(3, s.size()); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace

TextAssembler::TextAssembler(std::vector<std::string> stop) : stop_(std::move(stop)) {
  stop_.erase(std::remove(stop_.begin(), stop_.end(), std::string()), stop_.end());
}

std::string TextAssembler::push(std::string_view piece) {
  if (stopped_) return {};
  const size_t before = text_.size();
  text_ += piece;
  // A stop string may end in this piece but start in text already held back.
  size_t longest = 0;
  for (const auto& s : stop_) longest = std::max(longest, s.size());
  const size_t from = before >= longest ? before - longest + 1 : 0;
  size_t cut = std::string::npos;
  for (const auto& s : stop_) cut = std::min(cut, text_.find(s, from));
  if (cut != std::string::npos) {
    text_.resize(cut);
    stopped_ = true;
    std::string out = text_.substr(std::min(sent_, text_.size()));
    sent_ = text_.size();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const auto& s : stop_)
    for (size_t k = std::min(s.size() - 1, text_.size()); k > hold; --k)
      if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  const size_t safe_end = text_.size() - std::max(hold, incomplete_utf8_tail(text_));
  if (safe_end <= sent_) return {};
  std::string out = text_.substr(sent_, safe_end - sent_);
  sent_ = safe_end;
  return out;
}

std::string TextAssembler::finish() {
  std::string out = sent_ < text_.size() ? text_.substr(sent_) : std::string();
  sent_ = text_.size();
  return out;
}

}  // namespace tessera::engine
