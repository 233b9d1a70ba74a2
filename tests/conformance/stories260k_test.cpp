// stories260K, greedy: Tessera's tokens and text against llama2.c's and llama.cpp's
// recorded outputs (../shared/testdata), from the llama2.c checkpoint and from GGUF.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "core/dtype.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "io/model_file.h"
#include "model/model.h"
#include "tessera/tessera.h"
#include "test_util.h"

namespace tessera {
namespace {

using nlohmann::json;

json load_json(const std::string& path) { return json::parse(test::read_file(path)); }

struct Source {
  const char* name;
  const char* model;      // under testdata
  const char* tokenizer;  // under testdata, or ""
  int64_t max_steps;      // the file's context length
};

const Source kSources[] = {
    {"llama2c_checkpoint", "llama2c/stories260K.bin", "llama2c/tok512.bin", 512},
    {"gguf_ctx128", "gguf/stories260K-f32.gguf", "", 128},
    {"gguf_ctx512", "gguf/stories260K-f32-ctx512.gguf", "", 512},
};

class Stories260K : public testing::TestWithParam<Source> {
 protected:
  std::unique_ptr<LoadedModel> open_model() {
    const Source& s = GetParam();
    const std::string model = test::testdata_file(s.model);
    const std::string tok = *s.tokenizer ? test::testdata_file(s.tokenizer) : "";
    if (model.empty() || (*s.tokenizer && tok.empty())) return nullptr;
    return LoadedModel::open(model, {tok, false});
  }

  // Greedy decoding within this source's context.
  GenerateOptions greedy_options(int n_threads) const {
    GenerateOptions opt;
    opt.sampling.temperature = 0;
    opt.engine.n_ctx = GetParam().max_steps;
    opt.engine.n_threads = n_threads;
    return opt;
  }
};

// Every case of llama2.c's greedy reference: same prompt ids, same generated ids
// (up to a recorded near-tie, where an independent float implementation may
// legitimately pick the other token), same decoded text.
TEST_P(Stories260K, GreedyMatchesLlama2c) {
  TESSERA_REQUIRE_TESTDATA(ref_path, "llama2c/stories260K_greedy.json");
  auto model = open_model();
  if (!model) GTEST_SKIP() << "test data absent: " << GetParam().model;
  const json ref = load_json(ref_path);
  int checked = 0;
  for (const auto& c : ref["cases"]) {
    const int64_t steps = c["steps"];
    if (steps > GetParam().max_steps) continue;
    const std::string prompt = c["prompt"];
    SCOPED_TRACE("prompt '" + prompt + "', " + std::to_string(steps) + " steps");
    const auto want_prompt = c["prompt_token_ids"].get<std::vector<int32_t>>();
    const auto want_all = c["all_token_ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(c["stop_reason"], "steps");

    GenerateOptions opt = greedy_options(2);
    opt.engine.cache_type_k = opt.engine.cache_type_v = "f32";  // llama2.c keeps its cache in float32
    opt.n_predict = steps + 1 - static_cast<int64_t>(want_prompt.size());
    std::string text = prompt;
    const auto stats = model->generate(prompt, opt, [&](std::string_view piece) {
      text += piece;
      return true;
    });
    ASSERT_EQ(stats.prompt_tokens, want_prompt);
    std::vector<int32_t> all = stats.prompt_tokens;
    all.insert(all.end(), stats.generated_tokens.begin(), stats.generated_tokens.end());

    // Position p's logits choose all[p + 1]; a near tie at p frees all[p + 1..].
    size_t exact = want_all.size();
    if (!c["first_near_tie_pos"].is_null()) exact = c["first_near_tie_pos"].get<size_t>() + 1;
    ASSERT_GE(all.size(), exact);
    EXPECT_EQ(std::vector<int32_t>(all.begin(), all.begin() + exact),
              std::vector<int32_t>(want_all.begin(), want_all.begin() + exact));
    if (exact == want_all.size()) {
      EXPECT_EQ(all.size(), want_all.size());
      EXPECT_EQ(text, c["decoded_text"].get<std::string>());
      EXPECT_EQ(model->detokenize(std::vector<int32_t>(all.begin() + 1, all.end())), c["decoded_text"]);
    }
    ++checked;
  }
  EXPECT_GE(checked, 6);
}

// llama.cpp's llama-simple output on the GGUF conversion, as normalised text.
TEST_P(Stories260K, GreedyTextMatchesLlamaCpp) {
  TESSERA_REQUIRE_TESTDATA(ref_path, "gguf/stories260K_llamacpp_greedy.json");
  auto model = open_model();
  if (!model) GTEST_SKIP() << "test data absent: " << GetParam().model;
  const json ref = load_json(ref_path);
  int checked = 0;
  for (const auto& c : ref["cases"]) {
    const int64_t steps = c["steps"];
    if (steps > GetParam().max_steps || !c["equals_llama2c_decoded_text"].get<bool>()) continue;
    const std::string prompt = c["prompt"];
    SCOPED_TRACE("prompt '" + prompt + "'");
    GenerateOptions opt = greedy_options(1);
    opt.n_predict = c["n_predict"];
    std::string text = prompt;
    const auto stats = model->generate(prompt, opt, [&](std::string_view piece) {
      text += piece;
      return true;
    });
    EXPECT_EQ(stats.prompt_tokens, c["prompt_token_ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(text, c["text_normalized"].get<std::string>());
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

// The default F16 cache rounds keys and values to 11 significant bits; on the
// conformance prompts that must not change a single greedy choice.
TEST_P(Stories260K, F16CacheGivesTheF32CacheGreedyIds) {
  TESSERA_REQUIRE_TESTDATA(ref_path, "llama2c/stories260K_greedy.json");
  auto model = open_model();
  if (!model) GTEST_SKIP() << "test data absent: " << GetParam().model;
  const json ref = load_json(ref_path);
  int checked = 0;
  for (const auto& c : ref["cases"]) {
    const int64_t steps = c["steps"];
    if (steps > GetParam().max_steps) continue;
    const std::string prompt = c["prompt"];
    SCOPED_TRACE("prompt '" + prompt + "'");
    auto greedy = [&](const char* cache_type) {
      GenerateOptions opt = greedy_options(2);
      opt.engine.cache_type_k = opt.engine.cache_type_v = cache_type;
      opt.n_predict = steps + 1 - static_cast<int64_t>(c["prompt_token_ids"].size());
      return model->generate(prompt, opt, [](std::string_view) { return true; }).generated_tokens;
    };
    const auto f32 = greedy("f32");
    EXPECT_EQ(greedy("f16"), f32);
    EXPECT_FALSE(f32.empty());
    ++checked;
  }
  EXPECT_GE(checked, 6);
}

INSTANTIATE_TEST_SUITE_P(Sources, Stories260K, testing::ValuesIn(kSources),
                         [](const auto& info) { return std::string(info.param.name); });

// Full logits of the first three positions against llama2.c's float32 values.
TEST(Stories260KLogits, FirstPositionsMatchLlama2c) {
  TESSERA_REQUIRE_TESTDATA(ref_path, "llama2c/stories260K_logits.json");
  TESSERA_REQUIRE_TESTDATA(model_path, "gguf/stories260K-f32.gguf");
  auto file = std::make_shared<const io::ModelFile>(io::open_model_file(model_path));
  model::Model m(file);
  const json ref = load_json(ref_path);
  for (const auto& c : ref["cases"]) {
    SCOPED_TRACE("prompt '" + c["prompt"].get<std::string>() + "'");
    engine::Engine session(m, test::engine_options(128, 8, 1, {DType::F32, DType::F32}));
    const engine::SeqId seq = session.add_sequence();
    for (const auto& p : c["positions"]) {
      const int32_t id = p["input_token_id"];
      const float* logits = session.eval(seq, &id, 1);
      const auto want = p["logits"].get<std::vector<float>>();
      ASSERT_EQ(want.size(), static_cast<size_t>(m.config().n_vocab));
      float max_err = 0;
      for (size_t i = 0; i < want.size(); ++i) max_err = std::max(max_err, std::fabs(logits[i] - want[i]));
      EXPECT_LT(max_err, 1e-4f) << "position " << p["pos"];
    }
  }
}

}  // namespace
}  // namespace tessera
