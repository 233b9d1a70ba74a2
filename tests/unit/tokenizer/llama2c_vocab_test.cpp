// llama2.c's encoder on its own vocabularies (tok512.bin, the Llama 2
// tokenizer.bin) and the stories260K GGUF tokenizer on the greedy prompts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer_test_util.h"

namespace tessera {
namespace {

using test::escaped;

class Llama2cVocab : public ::testing::TestWithParam<std::string> {};

TEST_P(Llama2cVocab, MatchesRunCEncode) {
  TESSERA_REQUIRE_TESTDATA(json_path, "llama2c/tokenizer_encode.json");
  const std::string vocab_rel = "llama2c/" + GetParam();
  TESSERA_REQUIRE_TESTDATA(vocab_path, vocab_rel);
  const auto json = nlohmann::json::parse(test::read_file(json_path));
  const size_t n_vocab = json.at("vocab_files").at(GetParam()).get<size_t>();
  const auto tok = Tokenizer::from_metadata(test::llama2c_tokenizer_metadata(vocab_path, n_vocab));
  ASSERT_EQ(tok->n_vocab(), static_cast<int32_t>(n_vocab));

  const auto& cases = json.at("cases").at(GetParam());
  ASSERT_FALSE(cases.empty());
  int passed = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const std::vector<int32_t> expected = c.at("ids").get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = tok->encode(text, /*add_bos=*/true);
    EXPECT_EQ(ids, expected) << "text: '" << escaped(text) << "'";
    passed += ids == expected;
    // llama2.c's decoding drops the dummy-prefix space after BOS; so does ours.
    EXPECT_EQ(tok->decode(ids), text) << "text: '" << escaped(text) << "'";
  }
  std::printf("[ %s ] %d/%zu llama2.c vectors encode exactly\n", GetParam().c_str(), passed, cases.size());
}

INSTANTIATE_TEST_SUITE_P(Files, Llama2cVocab, ::testing::Values("tok512.bin", "tokenizer.bin"),
                         [](const auto& info) { return info.param == "tok512.bin" ? std::string("tok512") : std::string("llama2"); });

TEST(Stories260KGguf, EncodesGreedyPromptsLikeLlama2c) {
  TESSERA_REQUIRE_TESTDATA(gguf, "gguf/stories260K-f32.gguf");
  TESSERA_REQUIRE_TESTDATA(json_path, "llama2c/stories260K_greedy.json");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  EXPECT_EQ(tok.n_vocab(), 512);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_TRUE(tok.add_bos_default());
  EXPECT_EQ(tok.model_name(), "llama");
  const auto json = nlohmann::json::parse(test::read_file(json_path));
  for (const auto& c : json.at("cases")) {
    const std::string prompt = c.at("prompt").get<std::string>();
    EXPECT_EQ(tok.encode(prompt, true), c.at("prompt_token_ids").get<std::vector<int32_t>>())
        << "prompt: '" << prompt << "'";
  }
}

TEST(Stories260KGguf, DecodesGreedyOutputLikeLlama2c) {
  TESSERA_REQUIRE_TESTDATA(gguf, "gguf/stories260K-f32.gguf");
  TESSERA_REQUIRE_TESTDATA(json_path, "llama2c/stories260K_greedy.json");
  const Tokenizer& tok = test::cached_tokenizer(gguf);
  const auto json = nlohmann::json::parse(test::read_file(json_path));
  for (const auto& c : json.at("cases")) {
    const auto ids = c.at("all_token_ids").get<std::vector<int32_t>>();
    // decoded_text is the lossless decoding of all_token_ids[1:], i.e. after BOS.
    EXPECT_EQ(tok.decode({ids.begin() + 1, ids.end()}), c.at("decoded_text").get<std::string>())
        << "prompt: '" << c.at("prompt").get<std::string>() << "'";
    EXPECT_EQ(tok.decode(ids), c.at("decoded_text").get<std::string>()) << "BOS renders as nothing";
  }
}

}  // namespace
}  // namespace tessera
