// The forward pass on small random models: batching and threading do not change
// results, quantised weights compute what their dequantised values compute, and
// bad model files are refused with a message naming the tensor or key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/error.h"
#include "engine/embeddings.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "kernels/dispatch.h"
#include "io/model_file.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

std::vector<float> all_logits(const std::string& path, const std::vector<int32_t>& tokens, int64_t n_batch,
                              int threads) {
  auto file = std::make_shared<const io::ModelFile>(io::open_model_file(path));
  model::Model m(file);
  engine::Engine e(m, test::engine_options(128, n_batch, threads));
  return test::all_logits(e, tokens);
}

std::vector<int32_t> some_tokens(int n) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(1 + (i * 37) % 270);
  return t;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

test::TinyModelSpec family_spec(const std::string& family);

// Batch invariance: the same bits one token per step or in chunks, on any threads
// (with experts too: tokens grouped by expert, each group one matmul).
TEST(Forward, BatchSizeAndThreadsDoNotChangeLogits) {
  for (const char* family : {"llama", "llama-moe", "qwen2moe"}) {
    SCOPED_TRACE(family);
    test::TempDir dir;
    const std::string path = dir.file("tiny.gguf");
    test::make_tiny_model(family_spec(family)).write(path);
    const auto tokens = some_tokens(45);
    const auto one_by_one = all_logits(path, tokens, 1, 1);
    EXPECT_EQ(one_by_one, all_logits(path, tokens, 16, 2));
    EXPECT_EQ(one_by_one, all_logits(path, tokens, 64, 3));
  }
}

// What a model computes for the tokens: the logits of each position, or for an
// embedding model the pooled, unnormalised embeddings of the tokens as two texts.
std::vector<float> outputs(const std::string& path, const std::vector<int32_t>& tokens) {
  auto file = std::make_shared<const io::ModelFile>(io::open_model_file(path));
  model::Model m(file);
  if (m.architecture().output == model::ModelOutput::Logits) return all_logits(path, tokens, 8, 2);
  ThreadPool pool(2);
  const size_t half = tokens.size() / 2;
  const auto e = engine::embed(m, pool, {{tokens.begin(), tokens.begin() + half}, {tokens.begin() + half, tokens.end()}},
                               model::Pooling::Mean, -1);
  std::vector<float> both = e[0];
  both.insert(both.end(), e[1].begin(), e[1].end());
  return both;
}

// A quantised file and an F32 file holding its dequantised weights, outputs of both.
struct QuantisedPair {
  std::vector<float> quantised, dequantised;
};

// A tiny model of a family; "llama-moe" is llama with experts (Mixtral's layout).
test::TinyModelSpec family_spec(const std::string& family) {
  test::TinyModelSpec s;
  s.arch = family == "llama-moe" ? "llama" : family;
  if (family == "llama-moe" || family == "qwen2moe" || family == "qwen3moe") {
    s.n_expert = 4;
    s.n_expert_used = 2;
  }
  return s;
}

QuantisedPair logits_of_quantised_pair(DType type, const std::string& family) {
  test::TempDir dir;
  test::TinyModelSpec q = family_spec(family);
  q.weight_type = type;
  q.tied_output = q.arch != "qwen2moe";  // llama.cpp's qwen2moe has no tied head
  if (q.n_expert > 0 && q.arch != "llama") q.n_ff_exp = 64;  // whole 32-column blocks
  // Every expert on every token: top-k is not continuous (a rounding that flips a
  // near tie swaps a whole expert's output, which no rounding bound covers), so
  // these compare the formats through the expert matrices with the routing
  // weights alone; top-k itself is checked in moe_test.cpp and against llama.cpp.
  if (q.n_expert > 0) q.n_expert_used = q.n_expert;
  if (dtype_info(type).block_size == 256) {  // whole 256-column super-blocks
    q.n_embd = 256;
    q.n_ff = 512;
    if (q.n_ff_exp > 0) q.n_ff_exp = 256;
  }
  test::TinyModelSpec f = q;
  f.weight_type = DType::F32;
  f.round_through = type;
  test::make_tiny_model(q).write(dir.file("q.gguf"));
  test::make_tiny_model(f).write(dir.file("f.gguf"));
  const auto tokens = some_tokens(20);
  return {outputs(dir.file("q.gguf"), tokens), outputs(dir.file("f.gguf"), tokens)};
}

// Every family on every weight format (matrices, embeddings included, in the
// format; norms and biases F32).
class QuantisedForward : public testing::TestWithParam<std::tuple<std::string, DType>> {
 protected:
  DType type() const { return std::get<1>(GetParam()); }
  QuantisedPair run() const { return logits_of_quantised_pair(type(), std::get<0>(GetParam())); }
};

// With float activations, a quantised file computes exactly what an F32 file of
// its dequantised weights computes (up to float summation order). Kernels that
// quantise activations to int8 compute something else by design: they are checked
// below and, with this exact bound, by the CTest entry
// unit_model_exact_float_activations (TESSERA_ISA=generic).
TEST_P(QuantisedForward, MatchesDequantisedWeightsWithFloatActivations) {
  if (kernels::uses_quantized_activations(type()))
    GTEST_SKIP() << dtype_name(type()) << " runs on int8 or bf16 activations on this tier ("
                 << kernels::active_isa_name() << "); checked under TESSERA_ISA=generic";
  const auto r = run();
  EXPECT_LT(max_abs_diff(r.quantised, r.dequantised), 2e-3f);
}

// Int8 activations (blocks of 32, scale amax/127) add rounding error of at most
// amax/254 per element; through two random layers this measured 1.9% (Q8_0) and
// 1.7% (Q4_0) relative RMS on the logits. The exact integer arithmetic itself is
// checked against a reference in tests/unit/kernels/quantized_matmul_test.cpp.
// Bf16 activations (BF16 weights on AVX-512 with AVX512_BF16) round each
// element to 8 significant bits, relative error <= 2^-9: held to 1%.
TEST_P(QuantisedForward, Int8ActivationErrorStaysSmall) {
  if (!kernels::uses_quantized_activations(type()))
    GTEST_SKIP() << dtype_name(type()) << " uses float activations on this tier";
  const auto r = run();
  double err = 0, ref = 0;
  for (size_t i = 0; i < r.dequantised.size(); ++i) {
    err += double(r.quantised[i] - r.dequantised[i]) * (r.quantised[i] - r.dequantised[i]);
    ref += double(r.dequantised[i]) * r.dequantised[i];
  }
  EXPECT_LT(std::sqrt(err / ref), kernels::uses_int8_activations(type()) ? 0.05 : 0.01);
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantisedForward,
                         testing::Combine(testing::Values("llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3", "gpt2", "bert",
                                                          "llama-moe", "qwen2moe", "qwen3moe"),
                                          testing::Values(DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                                                          DType::Q4_K, DType::Q6_K, DType::Q4_1, DType::Q5_0,
                                                          DType::Q5_1, DType::IQ4_NL, DType::Q2_K, DType::Q3_K,
                                                          DType::Q5_K, DType::IQ4_XS)),
                         [](const auto& info) {
                           std::string family = std::get<0>(info.param);
                           std::replace(family.begin(), family.end(), '-', '_');
                           return family + "_" + std::string(dtype_name(std::get<1>(info.param)));
                         });

void expect_load_error(const io::GgufWriter& w, const std::string& needle) {
  test::TempDir dir;
  const std::string path = dir.file("bad.gguf");
  w.write(path);
  try {
    model::Model m(std::make_shared<const io::ModelFile>(io::open_model_file(path)));
    FAIL() << "loaded a bad model; expected an error containing: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// Rebuilds a tiny model, letting `edit` change one tensor's name, shape or type.
io::GgufWriter tiny_with(const std::function<void(std::string&, DType&, std::vector<int64_t>&)>& edit,
                         const std::function<void(io::GgufWriter&)>& meta = {}, const test::TinyModelSpec& s = {}) {
  io::GgufWriter w;
  test::add_tiny_metadata(w, s);
  if (meta) meta(w);
  engine::for_each_model_tensor(s.shape(), s.tied_output, [&](const std::string& name0, std::vector<int64_t> ne) {
    std::string name = name0;
    DType type = DType::F32;
    edit(name, type, ne);
    if (name.empty()) return;  // dropped
    int64_t n = 1;
    for (auto d : ne) n *= d;
    w.add_tensor(name, type, ne, std::vector<uint8_t>(row_bytes(type, ne[0]) * static_cast<size_t>(n / ne[0])));
  });
  return w;
}

TEST(ModelLoad, MissingTensor) {
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>&) {
                      if (name == "blk.1.ffn_up.weight") name.clear();
                    }),
                    "required tensor 'blk.1.ffn_up.weight' is missing");
}

TEST(ModelLoad, ShapeMismatch) {
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>& ne) {
                      if (name == "blk.0.attn_k.weight") ne = {64, 48};
                    }),
                    "tensor 'blk.0.attn_k.weight' has shape [64, 48], expected [64, 32]");
}

TEST(ModelLoad, TypeWithoutKernels) {
  test::TinyModelSpec wide;  // rows of 256: whole Q8_K blocks
  wide.n_embd = 256;
  expect_load_error(tiny_with([](std::string& name, DType& type, std::vector<int64_t>&) {
                      if (name == "blk.0.ffn_gate.weight") type = DType::Q8_K;
                    },
                              {}, wide),
                    "tensor 'blk.0.ffn_gate.weight' has type Q8_K, which Tessera cannot compute yet");
}

TEST(ModelLoad, MissingMetadataKey) {
  // Metadata without llama.block_count.
  io::GgufWriter bad;
  bad.set_string("general.architecture", "llama");
  bad.set_string_array("tokenizer.ggml.tokens", engine::synthetic_vocab(300));
  bad.set_u32("llama.embedding_length", 64);
  expect_load_error(bad, "'llama.block_count' is missing");
}

TEST(ModelLoad, UnsupportedArchitecture) {
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) { w.set_string("general.architecture", "mamba"); }),
                    "architecture 'mamba' is not supported (supported: llama, qwen2, qwen3, phi3, gemma2, gemma3, gpt2, bert, qwen2moe, qwen3moe)");
}

// Each family's own tensors are checked by name and shape like llama's.
TEST(ModelLoad, MissingFamilyTensor) {
  test::TinyModelSpec qwen2;
  qwen2.arch = "qwen2";
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>&) {
                      if (name == "blk.1.attn_k.bias") name.clear();
                    },
                              {}, qwen2),
                    "required tensor 'blk.1.attn_k.bias' is missing");
  test::TinyModelSpec phi3;
  phi3.arch = "phi3";
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>& ne) {
                      if (name == "blk.0.attn_qkv.weight") ne = {64, 64};
                    },
                              {}, phi3),
                    "tensor 'blk.0.attn_qkv.weight' has shape [64, 64], expected [64, 128]");
  test::TinyModelSpec bert;
  bert.arch = "bert";
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>&) {
                      if (name == "token_types.weight") name.clear();
                    },
                              {}, bert),
                    "required tensor 'token_types.weight' is missing");
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>& ne) {
                      if (name == "blk.1.layer_output_norm.bias") ne = {32};
                    },
                              {}, bert),
                    "tensor 'blk.1.layer_output_norm.bias' has shape [32], expected [64]");
}

// Experts: a missing or mis-shaped expert tensor is named, and so are bad counts.
TEST(ModelLoad, ExpertTensorsAndCounts) {
  test::TinyModelSpec moe = family_spec("llama-moe");
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>&) {
                      if (name == "blk.1.ffn_down_exps.weight") name.clear();
                    },
                              {}, moe),
                    "required tensor 'blk.1.ffn_down_exps.weight' is missing");
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>& ne) {
                      if (name == "blk.0.ffn_up_exps.weight") ne = {64, 96, 3};
                    },
                              {}, moe),
                    "tensor 'blk.0.ffn_up_exps.weight' has shape [64, 96, 3], expected [64, 96, 4]");
  // Old Mixtral files: one 2-D tensor per expert instead of the 3-D stacks.
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>& ne) {
                      if (name == "blk.0.ffn_gate_exps.weight") {
                        name = "blk.0.ffn_gate.0.weight";
                        ne = {64, 96};
                      }
                    },
                              {}, moe),
                    "required tensor 'blk.0.ffn_gate_exps.weight' is missing: the file has one tensor per expert "
                    "('blk.0.ffn_gate.0.weight')");
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>&) {
                      if (name == "blk.0.ffn_gate_inp.weight") name.clear();
                    },
                              {}, moe),
                    "required tensor 'blk.0.ffn_gate_inp.weight' is missing");
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) { w.set_u32("llama.expert_used_count", 5); }, moe),
                    "llama.expert_used_count (5) exceeds expert_count (4)");
  test::TinyModelSpec qwen2moe = family_spec("qwen2moe");
  expect_load_error(tiny_with([](std::string& name, DType&, std::vector<int64_t>& ne) {
                      if (name == "blk.1.ffn_gate_inp_shexp.weight") ne = {32};
                    },
                              {}, qwen2moe),
                    "tensor 'blk.1.ffn_gate_inp_shexp.weight' has shape [32], expected [64]");
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) { w.set_u32("qwen2moe.expert_count", 0); }, qwen2moe),
                    "qwen2moe.expert_count is missing or 0");
  // A dense family's file that claims experts is refused, not run without them.
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) { w.set_u32("llama.expert_count", 4); }),
                    "'llama.expert_used_count' is missing");
  test::TinyModelSpec qwen2 = family_spec("qwen2");
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) { w.set_u32("qwen2.expert_count", 4); }, qwen2),
                    "qwen2.expert_count is set, but Tessera has no experts for qwen2 models");
}

// LongRoPE's factors come in pairs; its attention factor must be sane.
TEST(ModelLoad, LongRopeNeedsBothFactorSets) {
  test::TinyModelSpec phi3;
  phi3.arch = "phi3";
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) {
                                w.add_tensor("rope_factors_long.weight", DType::F32, {8},
                                             std::vector<uint8_t>(8 * sizeof(float)));
                              },
                              phi3),
                    "LongRoPE needs both rope_factors_long.weight and rope_factors_short.weight");
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) { w.set_f32("phi3.rope.scaling.attn_factor", -1.0f); }, phi3),
                    "phi3.rope.scaling.attn_factor = -1 is out of range");
}

// A context past the positions a model has learned is refused up front.
TEST(Engine, ContextBeyondLearnedPositionsIsAnError) {
  for (const char* arch : {"gpt2"}) {
    test::TinyModelSpec spec;  // n_ctx 256: GPT-2's learned positions
    spec.arch = arch;
    test::TempDir dir;
    test::make_tiny_model(spec).write(dir.file("m.gguf"));
    model::Model m(std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("m.gguf"))));
    EXPECT_NO_THROW(engine::Engine(m, test::engine_options(256, 8, 1))) << arch;
    try {
      engine::Engine e(m, test::engine_options(257, 8, 1));
      ADD_FAILURE() << arch << ": expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("n_ctx = 257 exceeds"), std::string::npos) << e.what();
    }
  }
}

TEST(ModelLoad, BadHyperParameter) {
  expect_load_error(tiny_with([](std::string&, DType&, std::vector<int64_t>&) {},
                              [](io::GgufWriter& w) { w.set_u32("llama.attention.head_count_kv", 3); }),
                    "is not a multiple of head_count_kv");
}

TEST(Engine, PromptLongerThanContextIsAnError) {
  test::TempDir dir;
  test::make_tiny_model({}).write(dir.file("tiny.gguf"));
  auto file = std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("tiny.gguf")));
  model::Model m(file);
  engine::Engine e(m, test::engine_options(16, 8, 1));
  const engine::SeqId seq = e.add_sequence();
  const auto tokens = some_tokens(17);
  try {
    e.eval(seq, tokens);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("do not fit: it holds 0 of n_ctx = 16 positions"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(e.info(seq).n_past, 0);
  EXPECT_EQ(e.info(seq).n_pending, 0);
}

}  // namespace
}  // namespace tessera
