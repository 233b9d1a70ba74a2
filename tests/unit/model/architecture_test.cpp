// What a family's description makes of a file's hyper-parameters: the defaults
// a family fills in for keys its files may omit, and the per-layer block
// schedule (which layers are windowed, with which rope base).
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "core/error.h"
#include "io/model_file.h"
#include "model/architecture.h"
#include "model/model_config.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

// The metadata of a tiny model of `arch` (as the model maker writes it).
io::ModelFile tiny_file(test::TempDir& dir, const std::string& arch, int64_t n_layer) {
  test::TinyModelSpec s;
  s.arch = arch;
  s.n_layer = n_layer;
  const std::string path = dir.file(arch + ".gguf");
  test::make_tiny_model(s).write(path);
  return io::open_model_file(path);
}

TEST(ConfigDefaults, Gemma2FillsWhatItsFilesOmit) {
  test::TempDir dir;
  io::ModelFile f = tiny_file(dir, "gemma2", 2);
  for (const char* key : {"gemma2.attention.sliding_window", "gemma2.attn_logit_softcapping",
                          "gemma2.final_logit_softcapping"})
    f.meta.values.erase(key);
  const model::ModelConfig c = model::read_model_config(f.meta);
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_EQ(c.attn_softcap, 50.0f);
  EXPECT_EQ(c.final_softcap, 30.0f);
  EXPECT_EQ(c.attn_scale, 1.0f / std::sqrt(static_cast<float>(c.head_dim)));
}

TEST(ConfigDefaults, TwentySevenBGemmaScalesQueriesByEmbeddingPerHead) {
  test::TempDir dir;
  for (auto [arch, layers] : {std::pair{"gemma2", 46}, std::pair{"gemma3", 62}}) {
    io::ModelFile f = tiny_file(dir, arch, 2);
    f.meta.values[std::string(arch) + ".attention.key_length"] = io::meta_u32(8);
    f.meta.values[std::string(arch) + ".attention.value_length"] = io::meta_u32(8);
    f.meta.values[std::string(arch) + ".rope.dimension_count"] = io::meta_u32(8);
    f.meta.values[std::string(arch) + ".block_count"] = io::meta_u32(static_cast<uint32_t>(layers));
    const model::ModelConfig c = model::read_model_config(f.meta);
    EXPECT_EQ(c.head_dim, 8) << arch;
    EXPECT_EQ(c.attn_scale, 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_head))) << arch;
    f.meta.values[std::string(arch) + ".block_count"] = io::meta_u32(static_cast<uint32_t>(layers - 1));
    EXPECT_EQ(model::read_model_config(f.meta).attn_scale, 1.0f / std::sqrt(8.0f)) << arch;
  }
}

TEST(ConfigDefaults, Gemma3NeedsItsWindowAndHasNoSoftcaps) {
  test::TempDir dir;
  io::ModelFile f = tiny_file(dir, "gemma3", 2);
  f.meta.values["gemma3.attn_logit_softcapping"] = io::meta_f32(50.0);  // not a Gemma 3 key: ignored
  const model::ModelConfig c = model::read_model_config(f.meta);
  EXPECT_EQ(c.attn_softcap, 0.0f);
  EXPECT_EQ(c.final_softcap, 0.0f);
  f.meta.values.erase("gemma3.attention.sliding_window");
  try {
    model::read_model_config(f.meta);
    FAIL() << "read a gemma3 file without its window";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'gemma3.attention.sliding_window' is missing"), std::string::npos) << e.what();
  }
}

// Five windowed layers rotating with base 10000, then a global one with the
// file's base and scaling.
TEST(BlockSchedule, Gemma3InterleavesLocalAndGlobalLayers) {
  test::TempDir dir;
  io::ModelFile f = tiny_file(dir, "gemma3", 13);
  f.meta.values["gemma3.attention.sliding_window"] = io::meta_u32(8);
  f.meta.values["gemma3.rope.scaling.type"] = io::meta_string("linear");
  f.meta.values["gemma3.rope.scaling.factor"] = io::meta_f32(8.0);
  const model::ModelConfig c = model::read_model_config(f.meta);
  const auto layers = model::block_schedule(model::find_architecture("gemma3", "test"), c);
  ASSERT_EQ(layers.size(), 13u);
  for (size_t l = 0; l < layers.size(); ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    const model::AttentionOptions& a = layers[l].attention;
    const bool global = l == 5 || l == 11;
    EXPECT_EQ(a.window, global ? 0 : 8);
    EXPECT_EQ(a.rope_base, global ? 1000000.0f : 10000.0f);
    EXPECT_EQ(a.rope_scale, global ? 0.125f : 1.0f);
    EXPECT_TRUE(a.qk_norm);
    EXPECT_EQ(a.softcap, 0.0f);
    EXPECT_TRUE(layers[l].post_norms);
    EXPECT_EQ(layers[l].channel, model::ChannelKind::GeGLU);
  }
}

// Gemma 2 keeps one rope for all layers; its window is on every other one.
TEST(BlockSchedule, Gemma2WindowsEveryOtherLayerWithOneRope) {
  test::TempDir dir;
  io::ModelFile f = tiny_file(dir, "gemma2", 4);
  f.meta.values["gemma2.attention.sliding_window"] = io::meta_u32(8);
  const model::ModelConfig c = model::read_model_config(f.meta);
  const auto layers = model::block_schedule(model::find_architecture("gemma2", "test"), c);
  for (size_t l = 0; l < layers.size(); ++l) {
    EXPECT_EQ(layers[l].attention.window, l % 2 == 0 ? 8 : 0);
    EXPECT_EQ(layers[l].attention.rope_base, c.rope_freq_base);
    EXPECT_EQ(layers[l].attention.softcap, 50.0f);
  }
}

// Phi-4's files are phi3 ones whose window is 0: no layer is windowed. A llama
// file with the key (Mistral 7B v0.1) windows every layer; without it, none.
TEST(BlockSchedule, AZeroWindowIsNoWindowAndLlamaTakesTheKey) {
  test::TempDir dir;
  io::ModelFile phi = tiny_file(dir, "phi3", 2);
  phi.meta.values["phi3.attention.sliding_window"] = io::meta_u32(0);
  for (const auto& l : model::block_schedule(model::find_architecture("phi3", "test"), model::read_model_config(phi.meta)))
    EXPECT_EQ(l.attention.window, 0);
  io::ModelFile llama = tiny_file(dir, "llama", 2);
  for (const auto& l : model::block_schedule(model::find_architecture("llama", "test"), model::read_model_config(llama.meta)))
    EXPECT_EQ(l.attention.window, 0);
  llama.meta.values["llama.attention.sliding_window"] = io::meta_u32(4096);
  for (const auto& l : model::block_schedule(model::find_architecture("llama", "test"), model::read_model_config(llama.meta)))
    EXPECT_EQ(l.attention.window, 4096);
}

// Phi-3 files converted before the window key existed get the released models'
// windows by shape, as llama.cpp c392e5094 assigns them (llama-model.cpp, phi3
// hparams); any other phi3 file without the key is refused, as there.
TEST(ConfigDefaults, Phi3FilesWithoutTheWindowKey) {
  test::TempDir dir;
  io::ModelFile f = tiny_file(dir, "phi3", 2);
  f.meta.values.erase("phi3.attention.sliding_window");
  auto window_of = [&](uint32_t layers, uint32_t ctx, uint32_t kv_heads) {
    f.meta.values["phi3.block_count"] = io::meta_u32(layers);
    f.meta.values["phi3.context_length"] = io::meta_u32(ctx);
    f.meta.values["phi3.embedding_length"] = io::meta_u32(kv_heads * 16);  // heads of 16, as rope's dimensions
    f.meta.values["phi3.attention.head_count"] = io::meta_u32(kv_heads);
    f.meta.values["phi3.attention.head_count_kv"] = io::meta_u32(kv_heads);
    return model::read_model_config(f.meta).sliding_window;
  };
  EXPECT_EQ(window_of(32, 4096, 4), 2047);  // Phi-3-mini-4k
  EXPECT_EQ(window_of(40, 4096, 4), 2047);  // Phi-3-medium-4k
  EXPECT_EQ(window_of(32, 131072, 32), 262144);  // Phi-3-mini-128k
  EXPECT_EQ(window_of(40, 131072, 4), 131072);   // Phi-3-medium-128k
  for (auto [layers, ctx, kv] : {std::tuple{32u, 131072u, 4u}, std::tuple{24u, 4096u, 4u}, std::tuple{32u, 8192u, 4u}})
    try {
      window_of(layers, ctx, kv);
      ADD_FAILURE() << layers << " layers, context " << ctx << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("phi3.attention.sliding_window' is missing"), std::string::npos) << e.what();
    }
  f.meta.values["phi3.attention.sliding_window"] = io::meta_u32(64);  // the key wins
  EXPECT_EQ(window_of(32, 4096, 4), 64);
}

}  // namespace
}  // namespace tessera
