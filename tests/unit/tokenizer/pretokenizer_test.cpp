// Pre-tokenizer regexes, UTF-8 repair and the byte-level alphabet.
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/utf8.h"

namespace tessera {
namespace {

std::vector<std::string> split(const std::string& pre, const std::string& text) {
  const PreTokenizerSpec* spec = find_pretokenizer(pre);
  if (spec == nullptr) throw std::runtime_error("no pre-tokenizer " + pre);
  const PreTokenizer p(*spec);
  std::vector<std::string> out;
  for (const auto piece : p.split(text)) out.emplace_back(piece);
  return out;
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, Gpt2SplitsWordsContractionsAndSpaces) {
  EXPECT_EQ(split("gpt-2", "Hello world's  test\n"), (Pieces{"Hello", " world", "'s", " ", " test", "\n"}));
  EXPECT_EQ(split("gpt-2", "a\nb"), (Pieces{"a", "\n", "b"}));  // the unmatched newline is a piece too
  EXPECT_EQ(split("gpt-2", "3.14 abc123"), (Pieces{"3", ".", "14", " abc", "123"}));
  EXPECT_EQ(split("gpt-2", ""), Pieces{});
}

TEST(PreTokenizer, Llama3GroupsDigitsByThree) {
  EXPECT_EQ(split("llama3", "12345 I'M"), (Pieces{"123", "45", " I", "'M"}));
  EXPECT_EQ(split("qwen2", "123"), (Pieces{"1", "2", "3"}));
}

TEST(PreTokenizer, SequencesApplyEachRegexToThePiecesOfTheLast) {
  // deepseek-coder: newlines first, then letters, punctuation, CJK, single digits.
  EXPECT_EQ(split("deepseek-coder", "ab\ncd 12!"), (Pieces{"ab", "\n", "cd", " ", "1", "2", "!"}));
  // starcoder: every digit alone before the GPT-2 regex runs.
  EXPECT_EQ(split("starcoder", "x 123"), (Pieces{"x", " ", "1", "2", "3"}));
  // falcon: runs of punctuation are cut out first.
  EXPECT_EQ(split("falcon", "a...b"), (Pieces{"a", "...", "b"}));
}

TEST(PreTokenizer, NamesAreChecked) {
  EXPECT_EQ(find_pretokenizer("no-such-pre"), nullptr);
  for (const char* name : {"default", "gpt-2", "llama3", "llama-bpe", "qwen2", "starcoder", "refact", "command-r",
                           "smollm", "deepseek-llm", "deepseek-coder", "falcon"}) {
    EXPECT_NE(find_pretokenizer(name), nullptr) << name;
  }
  EXPECT_NE(supported_pretokenizer_names().find("deepseek-llm"), std::string::npos);
  EXPECT_TRUE(find_pretokenizer("llama3")->ignore_merges);
  EXPECT_FALSE(find_pretokenizer("gpt-2")->ignore_merges);
}

TEST(PreTokenizer, LongRunsDoNotExhaustTheMatcher) {
  const std::string spaces(200000, ' ');
  EXPECT_EQ(split("gpt-2", spaces), Pieces{spaces});
  const auto pieces = split("llama3", "a" + spaces + "b");
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[1].size(), spaces.size() - 1);
  EXPECT_EQ(pieces[2], " b");
}

TEST(Utf8, SanitizeReplacesEachBadByte) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::sanitize("abc"), "abc");
  EXPECT_EQ(utf8::sanitize("caf\xC3\xA9 \xF0\x9F\xA6\x99"), "caf\xC3\xA9 \xF0\x9F\xA6\x99");
  EXPECT_EQ(utf8::sanitize("\xFF"), fffd);
  EXPECT_EQ(utf8::sanitize("a\xE2\x96"), "a" + fffd + fffd);           // truncated sequence
  EXPECT_EQ(utf8::sanitize("\xC0\x80"), fffd + fffd);                  // overlong NUL
  EXPECT_EQ(utf8::sanitize("\xED\xA0\x80"), fffd + fffd + fffd);       // surrogate
  EXPECT_EQ(utf8::sanitize("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
}

TEST(ByteLevel, AlphabetIsABijection) {
  EXPECT_EQ(byte_level::byte_to_codepoint('!'), uint32_t{'!'});
  EXPECT_EQ(byte_level::byte_to_codepoint(' '), 0x120u);  // 'Ġ'
  EXPECT_EQ(byte_level::byte_to_codepoint('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(byte_level::byte_to_text(' '), "\xC4\xA0");
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(byte_level::codepoint_to_byte(byte_level::byte_to_codepoint(static_cast<uint8_t>(b))), b);
  }
  EXPECT_EQ(byte_level::codepoint_to_byte(0x20), -1);  // a space is not in the alphabet
  EXPECT_EQ(byte_level::codepoint_to_byte(0x1F600), -1);
}

}  // namespace
}  // namespace tessera
