// WordPiece on small hand-made vocabularies: the normalisation and word
// splitting llama.cpp applies to BERT text (accents, case, control characters,
// punctuation, ASCII symbols, CJK ideographs), greedy longest-first matching,
// a word no pieces spell becoming one [UNK], and the special-token ids.
// (The full check is llama.cpp's bert-bge vectors in llamacpp_vocab_test.cpp.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/wpm_tokenizer.h"
#include "tokenizer_test_util.h"

namespace tessera {
namespace {

using test::meta_string;
using test::meta_strings;
using test::meta_u32;
using testing::ElementsAre;
using Ids = std::vector<int32_t>;

const std::string kMark = "\xE2\x96\x81";  // U+2581

// [PAD] [UNK] [CLS] [SEP] [MASK], then the given pieces from id 5.
io::Metadata wpm_metadata(const std::vector<std::string>& pieces, bool with_ids = true) {
  std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  tokens.insert(tokens.end(), pieces.begin(), pieces.end());
  std::vector<int32_t> types(tokens.size(), 1);
  for (int i = 0; i < 5; ++i) types[static_cast<size_t>(i)] = 3;
  io::Metadata meta;
  meta.source = "wpm.gguf";
  meta.values["tokenizer.ggml.model"] = meta_string("bert");
  meta.values["tokenizer.ggml.tokens"] = meta_strings(tokens);
  meta.values["tokenizer.ggml.token_type"] = test::meta_i32s(types);
  if (with_ids) {
    meta.values["tokenizer.ggml.unknown_token_id"] = meta_u32(1);
    meta.values["tokenizer.ggml.cls_token_id"] = meta_u32(2);
    meta.values["tokenizer.ggml.seperator_token_id"] = meta_u32(3);
  }
  return meta;
}

TEST(WordPiece, WordsAreNormalisedAndSplit) {
  EXPECT_THAT(wordpiece_words("Héllo, WORLD!"), ElementsAre("hello", ",", "world", "!"));
  EXPECT_THAT(wordpiece_words("  a\tb\n\nc\xE3\x80\x80" "d"), ElementsAre("a", "b", "c", "d"));  // U+3000 is whitespace
  EXPECT_THAT(wordpiece_words("a\x01" "b\xE2\x80\x8B" "c"), ElementsAre("abc"));  // Cc and Cf (U+200B) dropped
  EXPECT_THAT(wordpiece_words("x$y 5\xE2\x82\xAC"), ElementsAre("x", "$", "y", "5\xE2\x82\xAC"));  // ASCII symbols only
  EXPECT_THAT(wordpiece_words("ab\xE4\xB8\x96\xE7\x95\x8C" "cd"), ElementsAre("ab", "\xE4\xB8\x96", "\xE7\x95\x8C", "cd"));
  EXPECT_THAT(wordpiece_words("\xC3\x85ngstr\xC3\xB6m \xE2\x80\x9Cq\xE2\x80\x9D"),  // Å -> a, “ ” are punctuation
              ElementsAre("angstrom", "\xE2\x80\x9C", "q", "\xE2\x80\x9D"));
  EXPECT_THAT(wordpiece_words("a\xFF" "b"), ElementsAre("ab"));  // a byte that is not UTF-8 is dropped
  EXPECT_THAT(wordpiece_words(" \t "), ElementsAre());
}

TEST(WordPiece, LongestPiecesFirstAndUnknownWords) {
  const auto tok = Tokenizer::from_metadata(
      wpm_metadata({kMark + "un", kMark + "unaff", "aff", "able", "ab", "le", kMark + "!", kMark + "x", "y"}));
  EXPECT_EQ(tok->model_name(), "bert");
  // ▁unaff|able (longest first, not ▁un|aff|ab|le), "!" its own word.
  EXPECT_EQ(tok->encode("Unaffable!", false), (Ids{6, 8, 11}));
  EXPECT_EQ(tok->encode("xy xz x", false), (Ids{12, 13, 1, 12}));  // "xz": no piece for "z": one [UNK]
  EXPECT_EQ(tok->encode("xy", true), (Ids{2, 12, 13, 3}));  // [CLS] ... [SEP]
  EXPECT_EQ(tok->encode("[MASK] xy", false, true), (Ids{4, 12, 13}));
  EXPECT_EQ(tok->decode({2, 6, 8, 11, 3}), "unaffable!");
}

TEST(WordPiece, LlamaCppDefaultSpecialIds) {
  // Without the keys: [UNK] 100, [CLS] 101, [SEP] 102 (BERT's own vocabulary's ids).
  std::vector<std::string> pieces;
  for (int i = 0; i < 120; ++i) pieces.push_back(kMark + "p" + std::to_string(i));
  const auto tok = Tokenizer::from_metadata(wpm_metadata(pieces, false));
  EXPECT_EQ(tok->bos_id(), 101);
  EXPECT_EQ(tok->encode("p7 zz", true), (Ids{101, 12, 100, 102}));
}

}  // namespace
}  // namespace tessera
