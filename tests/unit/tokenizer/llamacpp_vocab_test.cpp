// llama.cpp's tokenizer test vectors (models/ggml-vocab-*.gguf + .inp/.out):
// ids from the upstream Hugging Face tokenizers, encoded without BOS and
// without parsing special-token text.
#include <gtest/gtest.h>

#include <chrono>

#include "tokenizer_test_util.h"

namespace tessera {
namespace {

using test::escaped;

class LlamaCppVocab : public ::testing::TestWithParam<std::string> {
 protected:
  static std::string file(const std::string& suffix) { return "llamacpp-vocab/ggml-vocab-" + GetParam() + ".gguf" + suffix; }
};

TEST_P(LlamaCppVocab, EncodesEveryVectorExactly) {
  TESSERA_REQUIRE_TESTDATA(gguf, file(""));
  TESSERA_REQUIRE_TESTDATA(inp, file(".inp"));
  TESSERA_REQUIRE_TESTDATA(out, file(".out"));
  const auto cases = test::read_vocab_cases(inp, out);
  ASSERT_EQ(cases.size(), 46u);
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  int passed = 0;
  for (const auto& c : cases) {
    const std::vector<int32_t> ids = tok.encode(c.text, /*add_bos=*/false, /*parse_special=*/false);
    EXPECT_EQ(ids, c.ids) << "text: '" << escaped(c.text) << "'";
    passed += ids == c.ids;
  }
  RecordProperty("vectors_passed", passed);
  std::printf("[ %s ] %d/%zu vectors encode exactly\n", GetParam().c_str(), passed, cases.size());
}

// Vocabularies whose encoding keeps the text (WordPiece lowercases and strips accents).
class LlamaCppVocabRoundTrip : public LlamaCppVocab {};

TEST_P(LlamaCppVocabRoundTrip, DecodeInvertsEncode) {
  TESSERA_REQUIRE_TESTDATA(gguf, file(""));
  TESSERA_REQUIRE_TESTDATA(inp, file(".inp"));
  TESSERA_REQUIRE_TESTDATA(out, file(".out"));
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  for (const auto& c : test::read_vocab_cases(inp, out)) {
    EXPECT_EQ(tok.decode(tok.encode(c.text, false)), c.text) << "text: '" << escaped(c.text) << "'";
    // The expected ids decode to the text too (they are the same ids when encoding passes).
    EXPECT_EQ(tok.decode(c.ids), c.text) << "text: '" << escaped(c.text) << "'";
  }
}

TEST_P(LlamaCppVocab, LoadsQuickly) {
  TESSERA_REQUIRE_TESTDATA(gguf, file(""));
  const auto start = std::chrono::steady_clock::now();
  const io::ModelFile model = io::open_model_file(gguf);
  const auto read = std::chrono::steady_clock::now();
  const auto tok = Tokenizer::from_metadata(model.meta);
  const auto built = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  // Reported, not asserted: timing belongs to benchmarks, not tests.
  std::printf("[ %s ] %d tokens: read %.0f ms, tokenizer built in %.0f ms\n", GetParam().c_str(), tok->n_vocab(),
              ms(read - start).count(), ms(built - read).count());
  EXPECT_GT(tok->n_vocab(), 0);
}

std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, LlamaCppVocab,
                         ::testing::Values("llama-spm", "gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "starcoder",
                                           "bert-bge"),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Vocabularies, LlamaCppVocabRoundTrip,
                         ::testing::Values("llama-spm", "gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "starcoder"),
                         param_name);

// WordPiece: [CLS] and [SEP] around a text encoded with special tokens, and
// decoding gives the normalised text back, spaces before punctuation dropped.
TEST(LlamaCppVocabBertBge, SpecialTokensAndDecode) {
  TESSERA_REQUIRE_TESTDATA(gguf, "llamacpp-vocab/ggml-vocab-bert-bge.gguf");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  EXPECT_EQ(tok.encode("Hello world", true), (std::vector<int32_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(tok.encode("Hello world", false), (std::vector<int32_t>{7592, 2088}));
  EXPECT_EQ(tok.decode(tok.encode(" Hello, World!", true)), "hello, world!");
  EXPECT_EQ(tok.decode(tok.encode("Führer's CAFÉ", false)), "fuhrer's cafe");
  EXPECT_EQ(tok.encode("[CLS]", false, /*parse_special=*/true), (std::vector<int32_t>{101}));
}

}  // namespace
}  // namespace tessera
