// Edge cases of both tokenizers on small hand-made vocabularies and the test
// data files, and the errors bad metadata gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/error.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace tessera {
namespace {

using ::testing::HasSubstr;
using Ids = std::vector<int32_t>;
using test::meta_bool;
using test::meta_f32s;
using test::meta_i32s;
using test::meta_string;
using test::meta_strings;
using test::meta_u32;

const std::string kSpace = "\xE2\x96\x81";  // "▁"

// A SentencePiece-style vocabulary: <unk> <s> </s>, then `pieces` with their scores.
io::Metadata spm_metadata(const std::vector<std::pair<std::string, float>>& pieces, bool add_space_prefix = false) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  for (const auto& [text, score] : pieces) {
    tokens.push_back(text);
    scores.push_back(score);
    types.push_back(text.rfind("<0x", 0) == 0 ? 6 : text.rfind("<user", 0) == 0 ? 4 : 1);
  }
  io::Metadata meta;
  meta.source = "spm-test";
  meta.values["tokenizer.ggml.model"] = meta_string("llama");
  meta.values["tokenizer.ggml.tokens"] = meta_strings(tokens);
  meta.values["tokenizer.ggml.scores"] = meta_f32s(scores);
  meta.values["tokenizer.ggml.token_type"] = meta_i32s(types);
  meta.values["tokenizer.ggml.add_space_prefix"] = meta_bool(add_space_prefix);
  return meta;
}

// A byte-level BPE vocabulary: the 256 alphabet characters (id = byte), then
// `extra` tokens, with the given merges.
io::Metadata bpe_metadata(const std::vector<std::string>& extra, const std::vector<std::string>& merges,
                          const std::string& pre = "gpt-2") {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(byte_level::byte_to_text(static_cast<uint8_t>(b)));
  tokens.insert(tokens.end(), extra.begin(), extra.end());
  io::Metadata meta;
  meta.source = "bpe-test";
  meta.values["tokenizer.ggml.model"] = meta_string("gpt2");
  meta.values["tokenizer.ggml.pre"] = meta_string(pre);
  meta.values["tokenizer.ggml.tokens"] = meta_strings(tokens);
  meta.values["tokenizer.ggml.merges"] = meta_strings(merges);
  return meta;
}

std::string error_of(const io::Metadata& meta) {
  try {
    Tokenizer::from_metadata(meta);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// --- SentencePiece-style -----------------------------------------------------

TEST(SpmTokenizer, HighestScoreMergesFirstAndTiesGoLeft) {
  // ids: a=3 b=4 ab=5 ba=6
  const auto tie = Tokenizer::from_metadata(spm_metadata({{"a", 0}, {"b", 0}, {"ab", -1}, {"ba", -1}}));
  EXPECT_EQ(tie->encode("aba", false), (Ids{5, 3}));
  const auto ba_first = Tokenizer::from_metadata(spm_metadata({{"a", 0}, {"b", 0}, {"ab", -2}, {"ba", -1}}));
  EXPECT_EQ(ba_first->encode("aba", false), (Ids{3, 6}));
}

TEST(SpmTokenizer, DummyPrefixAndSpaces) {
  const auto tok = Tokenizer::from_metadata(
      spm_metadata({{kSpace, 0}, {"a", 0}, {kSpace + "a", -1}, {kSpace + kSpace, -2}}, /*add_space_prefix=*/true));
  // ids: ▁=3 a=4 ▁a=5 ▁▁=6
  EXPECT_EQ(tok->encode("", false), Ids{});
  EXPECT_EQ(tok->encode("", true), Ids{1});
  EXPECT_EQ(tok->encode("a", true), (Ids{1, 5}));
  EXPECT_EQ(tok->encode(" ", false), (Ids{6}));
  EXPECT_EQ(tok->encode("   ", false), (Ids{6, 6}));
  for (const std::string s : {"", " ", "   ", "a", " a", "a a  "}) {
    EXPECT_EQ(tok->decode(tok->encode(s, true)), s) << "'" << s << "'";
    EXPECT_EQ(tok->decode(tok->encode(s, false)), s) << "'" << s << "'";
  }
}

TEST(SpmTokenizer, UnknownCharactersFallBackToBytesOrUnk) {
  // No byte tokens: one <unk> per unknown character.
  const auto no_bytes = Tokenizer::from_metadata(spm_metadata({{"a", 0}}));
  EXPECT_EQ(no_bytes->encode("a\xC3\xA9" "a", false), (Ids{3, 0, 3}));

  TESSERA_REQUIRE_TESTDATA(gguf, "gguf/stories260K-f32.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);  // 512 tokens: no emoji
  const std::string llama = "\xF0\x9F\xA6\x99";        // U+1F999
  const Ids ids = tok.encode(llama, false);
  ASSERT_EQ(ids.size(), 5u);  // "▁" then the four bytes
  EXPECT_EQ(tok.decode({ids[0]}), "");
  EXPECT_EQ(tok.token_to_piece(ids[0]), " ");
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(tok.token_type(ids[1 + i]), TokenType::Byte);
    EXPECT_EQ(ids[1 + i], static_cast<uint8_t>(llama[i]) + 3);
  }
  EXPECT_EQ(tok.decode(ids), llama);
}

TEST(SpmTokenizer, ParseSpecialTurnsControlTextIntoIds) {
  TESSERA_REQUIRE_TESTDATA(gguf, "gguf/stories260K-f32.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  const Ids special = tok.encode("<s>Once</s>", false, /*parse_special=*/true);
  ASSERT_GE(special.size(), 3u);
  EXPECT_EQ(special.front(), tok.bos_id());
  EXPECT_EQ(special.back(), tok.eos_id());
  EXPECT_EQ(Ids(special.begin() + 1, special.end() - 1), tok.encode("Once", false));  // dummy prefix after <s>
  const Ids plain = tok.encode("<s>Once</s>", false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), tok.bos_id()), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), tok.eos_id()), 0);
  EXPECT_EQ(tok.decode(plain), "<s>Once</s>");
}

TEST(SpmTokenizer, UserDefinedTokensAreAlwaysWhole) {
  const auto tok = Tokenizer::from_metadata(spm_metadata({{"a", 0}, {"<user>", 0}}));  // a=3 <user>=4
  EXPECT_EQ(tok->encode("a<user>a", false), (Ids{3, 4, 3}));
  EXPECT_EQ(tok->decode({3, 4, 3}), "a<user>a");
}

TEST(SpmTokenizer, InvalidUtf8RoundTripsThroughByteTokens) {
  TESSERA_REQUIRE_TESTDATA(gguf, "gguf/stories260K-f32.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  for (const std::string s : {"\xFF", "a\xE2\x96", "\xC0\x80 x", "\xF0\x9F\xA6"}) {
    EXPECT_EQ(tok.decode(tok.encode(s, true)), s) << test::escaped(s);
  }
}

TEST(SpmTokenizer, PiecesAndEndOfGeneration) {
  TESSERA_REQUIRE_TESTDATA(gguf, "gguf/stories260K-f32.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  EXPECT_EQ(tok.token_to_piece(tok.bos_id()), "");
  EXPECT_EQ(tok.token_to_piece(0), "");  // <unk>
  EXPECT_EQ(tok.token_to_piece(13), "\n");  // <0x0A>
  EXPECT_TRUE(tok.is_end_of_generation(tok.eos_id()));
  EXPECT_FALSE(tok.is_end_of_generation(tok.bos_id()));
  EXPECT_FALSE(tok.is_end_of_generation(-1));
  EXPECT_THROW(tok.token_to_piece(512), Error);
  EXPECT_THROW(tok.token_to_piece(-1), Error);
  EXPECT_THROW(tok.decode({5, 100000}), Error);
}

// --- byte-level BPE --------------------------------------------------------------

TEST(BpeTokenizer, LowerRankMergesFirst) {
  // ids: ab=256 bc=257
  const auto bc_first = Tokenizer::from_metadata(bpe_metadata({"ab", "bc"}, {"b c", "a b"}));
  EXPECT_EQ(bc_first->encode("abc", false), (Ids{'a', 257}));
  const auto ab_first = Tokenizer::from_metadata(bpe_metadata({"ab", "bc"}, {"a b", "b c"}));
  EXPECT_EQ(ab_first->encode("abc", false), (Ids{256, 'c'}));
  EXPECT_EQ(ab_first->decode({256, 'c'}), "abc");
}

TEST(BpeTokenizer, IgnoreMergesTakesWholeWordTokens) {
  // "abc" is a token no merge reaches; Llama 3's pre-tokenizer emits such words whole.
  const std::vector<std::string> extra = {"ab", "abc"};
  const std::vector<std::string> merges = {"a b"};
  EXPECT_EQ(Tokenizer::from_metadata(bpe_metadata(extra, merges, "gpt-2"))->encode("abc", false), (Ids{256, 'c'}));
  auto meta = bpe_metadata(extra, merges, "llama3");
  meta.values["tokenizer.ggml.bos_token_id"] = meta_u32(0);
  const auto llama3 = Tokenizer::from_metadata(meta);
  EXPECT_EQ(llama3->encode("abc", false), (Ids{257}));
  EXPECT_TRUE(llama3->add_bos_default());  // llama3's default
  EXPECT_EQ(llama3->encode("abc", true), (Ids{0, 257}));
}

TEST(BpeTokenizer, SpacesAndBytesUseTheByteAlphabet) {
  const auto tok = Tokenizer::from_metadata(bpe_metadata({}, {}));
  EXPECT_FALSE(tok->add_bos_default());
  EXPECT_EQ(tok->encode("", true), Ids{});
  EXPECT_EQ(tok->encode(" a", false), (Ids{' ', 'a'}));
  EXPECT_EQ(tok->token_to_piece(' '), " ");
  EXPECT_EQ(tok->token_to_piece(0xE9), "\xE9");  // a lone byte
  // Invalid UTF-8 becomes U+FFFD before pre-tokenizing, as llama.cpp does.
  EXPECT_EQ(tok->encode("x\xFF", false), tok->encode("x\xEF\xBF\xBD", false));
  EXPECT_EQ(tok->decode(tok->encode("caf\xC3\xA9  !\n", false)), "caf\xC3\xA9  !\n");
}

TEST(BpeTokenizer, ParseSpecialOnGpt2) {
  TESSERA_REQUIRE_TESTDATA(gguf, "llamacpp-vocab/ggml-vocab-gpt-2.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  const int32_t eot = 50256;  // <|endoftext|>
  ASSERT_EQ(tok.token_text(eot), "<|endoftext|>");
  EXPECT_EQ(tok.encode("Hi<|endoftext|>", false, true).back(), eot);
  const Ids plain = tok.encode("Hi<|endoftext|>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
  EXPECT_EQ(tok.decode(plain), "Hi<|endoftext|>");
  EXPECT_TRUE(tok.is_end_of_generation(eot));
  EXPECT_EQ(tok.token_to_piece(eot), "");
  EXPECT_EQ(tok.model_name(), "gpt2");
  EXPECT_EQ(tok.pre_name(), "gpt-2");
}

// --- arbitrary input ---------------------------------------------------------------

// Random byte strings, biased towards UTF-8 lead / continuation bytes, spaces and specials.
std::vector<std::string> random_inputs() {
  std::mt19937 rng(1234);
  const std::string alphabet = " \n\ta<s>|\x80\xBF\xC3\xA9\xE2\x96\x81\xF0\x9F\xFF";
  std::vector<std::string> out;
  for (int i = 0; i < 300; ++i) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = (rng() % 3 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    out.push_back(std::move(s));
  }
  return out;
}

TEST(ArbitraryInput, SpmRoundTripsEveryByteString) {
  TESSERA_REQUIRE_TESTDATA(gguf, "llamacpp-vocab/ggml-vocab-llama-spm.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  for (const auto& s : random_inputs()) {
    for (const bool parse_special : {false, true}) {
      const Ids ids = tok.encode(s, true, parse_special);
      for (const int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.n_vocab());
      if (!parse_special) {
        EXPECT_EQ(tok.decode(ids), s) << test::escaped(s);
      }
    }
  }
}

TEST(ArbitraryInput, BpeRoundTripsUpToUtf8Repair) {
  TESSERA_REQUIRE_TESTDATA(gguf, "llamacpp-vocab/ggml-vocab-gpt-2.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  for (const auto& s : random_inputs()) {
    for (const bool parse_special : {false, true}) {
      const Ids ids = tok.encode(s, false, parse_special);
      for (const int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.n_vocab());
      if (!parse_special) {
        EXPECT_EQ(tok.decode(ids), utf8::sanitize(s)) << test::escaped(s);
      }
    }
  }
}

// --- metadata errors ------------------------------------------------------------

TEST(TokenizerMetadata, MissingOrUnknownModel) {
  io::Metadata empty;
  empty.source = "empty.gguf";
  EXPECT_THAT(error_of(empty), HasSubstr("empty.gguf: tokenizer.ggml.model is missing"));
  auto meta = spm_metadata({{"a", 0}});
  meta.values["tokenizer.ggml.model"] = meta_string("t5");
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.model = 't5' is not supported"));
  meta.values["tokenizer.ggml.model"] = meta_u32(3);
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.model has type u32, expected string"));
}

TEST(TokenizerMetadata, BadPreTokenizerOrMerges) {
  auto meta = bpe_metadata({}, {});
  meta.values["tokenizer.ggml.pre"] = meta_string("klingon");
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.pre = 'klingon' is not a supported pre-tokenizer"));
  meta = bpe_metadata({}, {});
  meta.values.erase("tokenizer.ggml.merges");
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.merges is missing"));
  meta = bpe_metadata({}, {"a b", "ab"});
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.merges[1] = 'ab'"));
  meta = bpe_metadata({}, {});
  meta.values.erase("tokenizer.ggml.pre");
  EXPECT_EQ(Tokenizer::from_metadata(meta)->pre_name(), "default");  // llama.cpp's fallback
}

TEST(TokenizerMetadata, ArraysMustMatchTheVocabulary) {
  auto meta = spm_metadata({{"a", 0}});
  meta.values["tokenizer.ggml.token_type"] = meta_i32s({2, 3, 3});
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.token_type has 3 entries but there are 4 tokens"));
  meta = spm_metadata({{"a", 0}});
  meta.values["tokenizer.ggml.token_type"] = meta_i32s({2, 3, 3, 9});
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.token_type[3] = 9 is not a token type"));
  meta = spm_metadata({{"a", 0}});
  meta.values["tokenizer.ggml.scores"] = meta_f32s({0, 0});
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.scores has 2 entries but there are 4 tokens"));
  meta = spm_metadata({});
  meta.values["tokenizer.ggml.tokens"] = meta_strings({});
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.tokens is empty"));
  meta.values["tokenizer.ggml.tokens"] = meta_f32s({1.0f});
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.tokens has type array of f32, expected array of string"));
}

TEST(TokenizerMetadata, TokenIdsMustBeInRange) {
  auto meta = spm_metadata({{"a", 0}});
  meta.values["tokenizer.ggml.bos_token_id"] = meta_u32(4);
  EXPECT_THAT(error_of(meta), HasSubstr("spm-test: tokenizer.ggml.bos_token_id = 4 is out of range"));
  meta = spm_metadata({{"a", 0}});
  meta.values["tokenizer.ggml.eot_token_id"] = meta_u32(99);
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.eot_token_id = 99 is out of range"));
  meta = bpe_metadata({}, {});
  meta.values["tokenizer.ggml.add_bos_token"] = meta_bool(true);
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.add_bos_token is true but there is no BOS token"));
  meta.values["tokenizer.ggml.add_bos_token"] = meta_u32(1);
  EXPECT_THAT(error_of(meta), HasSubstr("tokenizer.ggml.add_bos_token has type u32, expected bool"));
}

TEST(TokenizerMetadata, DefaultsFollowLlamaCpp) {
  const auto spm = Tokenizer::from_metadata(spm_metadata({{"a", 0}}));
  EXPECT_EQ(spm->bos_id(), 1);
  EXPECT_EQ(spm->eos_id(), 2);
  EXPECT_TRUE(spm->add_bos_default());
  EXPECT_EQ(spm->pre_name(), "");
  auto meta = spm_metadata({{"a", 0}});
  meta.values["tokenizer.ggml.add_bos_token"] = meta_bool(false);
  EXPECT_EQ(Tokenizer::from_metadata(meta)->encode("a", true), Ids{3});  // the vocabulary does not want BOS

  const auto bpe = Tokenizer::from_metadata(bpe_metadata({"<|im_end|>"}, {}));
  EXPECT_EQ(bpe->bos_id(), -1);
  EXPECT_EQ(bpe->eos_id(), -1);
  EXPECT_TRUE(bpe->is_end_of_generation(256));  // an end-of-turn token recognised by its text
}

}  // namespace
}  // namespace tessera
