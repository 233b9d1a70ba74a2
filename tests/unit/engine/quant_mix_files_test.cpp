// Mixtures end to end: quantize a small F32 model to Q4_K_M / Q4_K_S, write one
// with mkmodel, then load the files and run them.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "engine/model_converter.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "io/model_file.h"
#include "model/model.h"
#include "tessera/tessera.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

// 8 layers of 256-wide rows, so every matrix takes the rule's own type
// (use_more_bits(i, 8): layers 0, 3, 6, 7).
test::TinyModelSpec eight_layers(bool tied) {
  test::TinyModelSpec s;
  s.n_embd = 256;
  s.n_ff = 512;
  s.n_layer = 8;
  s.tied_output = tied;
  return s;
}

std::vector<float> logits_of(const std::string& path, const std::vector<int32_t>& tokens) {
  model::Model m(std::make_shared<const io::ModelFile>(io::open_model_file(path)));
  engine::Engine e(m, test::engine_options(64, 8, 2));
  return test::all_logits(e, tokens);
}

// ||a - b|| / ||b||
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / norm);
}

std::string blk(int layer, const char* role) { return "blk." + std::to_string(layer) + "." + role + ".weight"; }

// An expert model quantizes like a dense one: each 3-D expert stack in the
// format asked for, the router kept F32 (as llama.cpp's quantize); and it runs
// close to its F32 original.
TEST(QuantMixFiles, QuantizeExpertModel) {
  test::TempDir dir;
  const std::string f32 = dir.file("f32.gguf"), q8 = dir.file("q8_0.gguf");
  test::TinyModelSpec moe;
  moe.n_expert = 4;
  moe.n_expert_used = 4;  // all: top-k of fewer would not be continuous in the rounding (forward_test.cpp)
  test::make_tiny_model(moe).write(f32);
  engine::ConvertOptions options;
  options.weight_type = DType::Q8_0;
  engine::convert_model(io::open_model_file(f32), q8, options);
  const auto f = io::open_model_file(q8);
  for (int i = 0; i < 2; ++i) {
    for (const char* role : {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps", "attn_q"})
      EXPECT_EQ(f.find_tensor(blk(i, role))->type, DType::Q8_0) << role << " " << i;
    EXPECT_EQ(f.find_tensor(blk(i, "ffn_gate_inp"))->type, DType::F32) << i;
    EXPECT_EQ(f.find_tensor(blk(i, "ffn_down_exps"))->ne, (std::vector<int64_t>{96, 64, 4}));
  }
  const std::vector<int32_t> tokens = {1, 50, 70, 90, 110, 130};
  // Q8_0 weights and int8 activations: the bound forward_test.cpp's
  // Int8ActivationErrorStaysSmall holds every format to.
  EXPECT_LT(relative_error(logits_of(q8, tokens), logits_of(f32, tokens)), 0.05);
}

TEST(QuantMixFiles, QuantizeToQ4_K_MThenRun) {
  test::TempDir dir;
  const std::string f32 = dir.file("f32.gguf"), mixed = dir.file("q4_k_m.gguf");
  test::make_tiny_model(eight_layers(false)).write(f32);
  engine::ConvertOptions options;
  options.mix = engine::QuantMix::Q4_K_M;
  engine::convert_model(io::open_model_file(f32), mixed, options);

  const auto f = io::open_model_file(mixed);
  EXPECT_EQ(f.meta.get_int("general.file_type"), 15);
  EXPECT_EQ(f.find_tensor("output.weight")->type, DType::Q6_K);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::Q4_K);
  EXPECT_EQ(f.find_tensor("output_norm.weight")->type, DType::F32);
  const std::set<int> more = {0, 3, 6, 7};
  for (int i = 0; i < 8; ++i) {
    const DType want = more.count(i) ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(f.find_tensor(blk(i, "attn_v"))->type, want) << i;
    EXPECT_EQ(f.find_tensor(blk(i, "ffn_down"))->type, want) << i;
    EXPECT_EQ(f.find_tensor(blk(i, "attn_q"))->type, DType::Q4_K) << i;
    EXPECT_EQ(f.find_tensor(blk(i, "ffn_up"))->type, DType::Q4_K) << i;
    EXPECT_EQ(f.find_tensor(blk(i, "attn_norm"))->type, DType::F32) << i;
  }

  // The mixed file runs, and its extra bits bring its logits closer to the F32
  // model's than every matrix in Q4_K does (about 0.29 against 0.37 here: a
  // random model passes rounding errors on almost undamped).
  const std::string q4_k = dir.file("q4_k.gguf");
  engine::ConvertOptions all_q4_k;
  all_q4_k.weight_type = DType::Q4_K;
  engine::convert_model(io::open_model_file(f32), q4_k, all_q4_k);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 12; ++i) tokens.push_back(1 + (i * 37) % 290);
  const auto reference = logits_of(f32, tokens), got = logits_of(mixed, tokens);
  for (float x : got) ASSERT_TRUE(std::isfinite(x));
  EXPECT_LT(relative_error(got, reference), relative_error(logits_of(q4_k, tokens), reference));
}

TEST(QuantMixFiles, TiedModelQuantizesTheEmbeddingAsTheOutput) {
  test::TempDir dir;
  test::make_tiny_model(eight_layers(true)).write(dir.file("f32.gguf"));
  tessera::ConvertOptions options;
  options.weight_type = "Q4_K_S";
  convert_model_file(dir.file("f32.gguf"), dir.file("q4_k_s.gguf"), options);
  const auto f = io::open_model_file(dir.file("q4_k_s.gguf"));
  EXPECT_EQ(f.meta.get_int("general.file_type"), 14);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::Q6_K);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(f.find_tensor(blk(i, "attn_v"))->type, i < 4 ? DType::Q5_K : DType::Q4_K) << i;
    EXPECT_EQ(f.find_tensor(blk(i, "ffn_down"))->type, i < 1 ? DType::Q5_K : DType::Q4_K) << i;
  }
  for (float x : logits_of(dir.file("q4_k_s.gguf"), {1, 5, 9})) ASSERT_TRUE(std::isfinite(x));
}

TEST(QuantMixFiles, MakeRandomModelWithAMixture) {
  test::TempDir dir;
  RandomModelSpec spec;
  spec.n_embd = 256;
  spec.n_ff = 512;
  spec.n_layer = 8;
  spec.weight_type = "q4_k_m";
  make_random_model(dir.file("m.gguf"), spec);
  const auto f = io::open_model_file(dir.file("m.gguf"));
  EXPECT_EQ(f.meta.get_int("general.file_type"), 15);
  EXPECT_EQ(f.find_tensor("output.weight")->type, DType::Q6_K);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::Q4_K);
  EXPECT_EQ(f.find_tensor(blk(3, "ffn_down"))->type, DType::Q6_K);
  EXPECT_EQ(f.find_tensor(blk(4, "ffn_down"))->type, DType::Q4_K);
  EXPECT_EQ(f.find_tensor(blk(4, "ffn_norm"))->type, DType::F32);
  auto model = LoadedModel::open(dir.file("m.gguf"));
  auto engine = model->new_engine();
  const float* logits = engine->eval(engine->add_sequence(), {1, 300, 301});
  for (int i = 0; i < 512; ++i) ASSERT_TRUE(std::isfinite(logits[i]));
}

TEST(QuantMixFiles, UnknownTypeNameIsAUsageError) {
  test::TempDir dir;
  test::make_tiny_model({}).write(dir.file("f32.gguf"));
  tessera::ConvertOptions options;
  options.weight_type = "q4_k_l";
  try {
    convert_model_file(dir.file("f32.gguf"), dir.file("out.gguf"), options);
    FAIL() << "no error for q4_k_l";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'q4_k_l'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("q4_k_m"), std::string::npos) << e.what();
  }
  RandomModelSpec spec;
  spec.weight_type = "Q4_K_XL";
  EXPECT_THROW(make_random_model(dir.file("m.gguf"), spec), UsageError);
}

}  // namespace
}  // namespace tessera
