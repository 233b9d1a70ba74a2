// The bundled demo model (models/tessera-demo.gguf): it loads, its held-out
// perplexity matches the training recipe's own PyTorch evaluation, Q8_0 keeps its
// quality, and seeded generation is deterministic.
#include <gtest/gtest.h>

#include "tessera/tessera.h"
#include "test_util.h"

namespace tessera {
namespace {

const std::string kModel = std::string(TESSERA_SOURCE_DIR) + "/models/tessera-demo.gguf";
const std::string kHeldout = std::string(TESSERA_SOURCE_DIR) + "/tests/data/demo_heldout_sample.txt";

double perplexity(const std::string& model_path) {
  auto model = LoadedModel::open(model_path);
  PerplexityOptions o;
  o.n_ctx = 128;
  o.n_threads = 2;
  return model->perplexity(test::read_file(kHeldout), o, {}).ppl;
}

TEST(DemoModel, LoadsWithTheShapeOfItsModelCard) {
  auto model = LoadedModel::open(kModel);
  const ModelSummary s = model->summary();
  EXPECT_EQ(s.architecture, "llama");
  EXPECT_EQ(s.n_vocab, 4096);
  EXPECT_EQ(s.tokenizer_model, "llama");
  EXPECT_LT(s.n_params, 6'000'000u);
  bool gqa = false;
  for (const auto& [k, v] : s.hyper_parameters) gqa |= k == "kv heads" && v == "4";
  EXPECT_TRUE(gqa);
}

// Reference: tools/train/perplexity.py (the recipe's PyTorch model, same method)
// on tests/data/demo_heldout_sample.txt (the first 75 lines of the held-out text)
// with --ctx 128: "9 chunks, 567 predictions scored, PPL = 7.4558 +/- 0.76208".
TEST(DemoModel, HeldOutPerplexityMatchesTrainingRecipe) {
  const double ppl = perplexity(kModel);
  EXPECT_NEAR(ppl, 7.4558, 7.4558 * 1e-3);
  EXPECT_LT(ppl, 4096.0 / 100);  // far below the uniform baseline (vocabulary size)
}

TEST(DemoModel, Q8_0StaysWithinTwoPercentOfF32) {
  test::TempDir dir;
  const std::string q8 = dir.file("demo-q8_0.gguf");
  ConvertOptions o;
  o.weight_type = "q8_0";
  convert_model_file(kModel, q8, o);
  const double f32 = perplexity(kModel), q8_ppl = perplexity(q8);
  EXPECT_LT(std::abs(q8_ppl - f32) / f32, 0.02) << "F32 " << f32 << ", Q8_0 " << q8_ppl;
}

TEST(DemoModel, SeededGenerationIsDeterministic) {
  auto model = LoadedModel::open(kModel);
  auto generate = [&](uint64_t seed) {
    GenerateOptions o;
    o.n_predict = 40;
    o.sampling.seed = seed;
    o.sampling.temperature = 0.8f;
    o.engine.n_threads = 2;
    return model->generate("The economy of", o, [](std::string_view) { return true; }).generated_tokens;
  };
  const auto a = generate(7);
  EXPECT_EQ(a.size(), 40u);
  EXPECT_EQ(a, generate(7));
  EXPECT_NE(a, generate(8));
}

}  // namespace
}  // namespace tessera
