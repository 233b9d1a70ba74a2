// The mixtures' rule per tensor, against lists written out by hand from
// llama.cpp's llama_tensor_get_type (c392e5094; not recomputed with the same formula).
#include "engine/quant_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <variant>

#include "core/error.h"
#include "engine/model_maker.h"

namespace tessera::engine {
namespace {

// Every tensor of a model of this shape and the type the mixture gives it.
std::map<std::string, DType> types_of(const ModelShape& shape, QuantMix mix, bool tied) {
  const MixedModel model{shape.n_layer, !tied, shape.n_head / shape.n_head_kv, with_expert_defaults(shape).n_expert};
  std::map<std::string, DType> types;
  for_each_model_tensor(shape, tied, [&](const std::string& name, std::vector<int64_t> ne) {
    types[name] = tensor_type_for(mix, name, ne, model);
  });
  return types;
}

// A TinyLlama-shaped model: 22 layers, 32 heads over 4 kv heads.
std::map<std::string, DType> types_of_tinyllama(QuantMix mix, bool tied) {
  return types_of(model_preset("tinyllama-1.1b"), mix, tied);
}

std::string blk(int layer, const char* role) { return "blk." + std::to_string(layer) + "." + role + ".weight"; }

// use_more_bits(i, 22): i < 2, i >= 19, or (i - 2) % 3 == 2.
const std::set<int> kMoreBitsOf22 = {0, 1, 4, 7, 10, 13, 16, 19, 20, 21};

TEST(QuantMix, Q4_K_MOnTinyLlama) {
  const auto types = types_of_tinyllama(QuantMix::Q4_K_M, false);
  EXPECT_EQ(types.at("output.weight"), DType::Q6_K);
  EXPECT_EQ(types.at("token_embd.weight"), DType::Q4_K);
  EXPECT_EQ(types.at("output_norm.weight"), DType::F32);
  for (int i = 0; i < 22; ++i) {
    const DType more = kMoreBitsOf22.count(i) ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(types.at(blk(i, "attn_v")), more) << i;
    EXPECT_EQ(types.at(blk(i, "ffn_down")), more) << i;
    for (const char* role : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      EXPECT_EQ(types.at(blk(i, role)), DType::Q4_K) << role << " " << i;
    EXPECT_EQ(types.at(blk(i, "attn_norm")), DType::F32);
    EXPECT_EQ(types.at(blk(i, "ffn_norm")), DType::F32);
  }
}

// llama.cpp gives Q5_K to attn_v of layers 0-3 and ffn_down of layers < n/8 (0, 1 of 22).
TEST(QuantMix, Q4_K_SOnTinyLlama) {
  const auto types = types_of_tinyllama(QuantMix::Q4_K_S, false);
  EXPECT_EQ(types.at("output.weight"), DType::Q6_K);
  EXPECT_EQ(types.at("token_embd.weight"), DType::Q4_K);
  for (int i = 0; i < 22; ++i) {
    EXPECT_EQ(types.at(blk(i, "attn_v")), i < 4 ? DType::Q5_K : DType::Q4_K) << i;
    EXPECT_EQ(types.at(blk(i, "ffn_down")), i < 2 ? DType::Q5_K : DType::Q4_K) << i;
    for (const char* role : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      EXPECT_EQ(types.at(blk(i, role)), DType::Q4_K) << role << " " << i;
  }
}

// The three roles the rule singles out, per layer, and the rest.
struct Expected {
  DType output, token_embd, rest;
  DType (*attn_v)(int), (*ffn_down)(int), (*attn_output)(int);
};

void expect_mixture(QuantMix mix, const Expected& e) {
  SCOPED_TRACE(quant_mix_name(mix));
  const auto types = types_of_tinyllama(mix, false);
  EXPECT_EQ(types.at("output.weight"), e.output);
  EXPECT_EQ(types.at("token_embd.weight"), e.token_embd);
  for (int i = 0; i < 22; ++i) {
    EXPECT_EQ(types.at(blk(i, "attn_v")), e.attn_v(i)) << i;
    EXPECT_EQ(types.at(blk(i, "ffn_down")), e.ffn_down(i)) << i;
    EXPECT_EQ(types.at(blk(i, "attn_output")), e.attn_output(i)) << i;
    for (const char* role : {"attn_q", "attn_k", "ffn_gate", "ffn_up"})
      EXPECT_EQ(types.at(blk(i, role)), e.rest) << role << " " << i;
    EXPECT_EQ(types.at(blk(i, "attn_norm")), DType::F32);
  }
}

// TinyLlama: 22 layers, n_gqa 8 (so Q2_K's attn_v is Q4_K), n/8 = 2, n/16 = 1.
TEST(QuantMix, OtherMixturesOnTinyLlama) {
  expect_mixture(QuantMix::Q2_K, {DType::Q6_K, DType::Q2_K, DType::Q2_K, [](int) { return DType::Q4_K; },
                                  [](int) { return DType::Q3_K; }, [](int) { return DType::Q3_K; }});
  expect_mixture(QuantMix::Q3_K_S, {DType::Q6_K, DType::Q3_K, DType::Q3_K, [](int) { return DType::Q3_K; },
                                    [](int) { return DType::Q3_K; }, [](int) { return DType::Q3_K; }});
  expect_mixture(QuantMix::Q3_K_M,
                 {DType::Q6_K, DType::Q3_K, DType::Q3_K, [](int i) { return i < 2 ? DType::Q5_K : DType::Q4_K; },
                  [](int i) { return i < 1 ? DType::Q5_K : DType::Q4_K; }, [](int) { return DType::Q4_K; }});
  expect_mixture(QuantMix::Q3_K_L, {DType::Q6_K, DType::Q3_K, DType::Q3_K, [](int) { return DType::Q5_K; },
                                    [](int) { return DType::Q5_K; }, [](int) { return DType::Q5_K; }});
  expect_mixture(QuantMix::Q5_K_S, {DType::Q6_K, DType::Q5_K, DType::Q5_K, [](int) { return DType::Q5_K; },
                                    [](int) { return DType::Q5_K; }, [](int) { return DType::Q5_K; }});
  const auto more = [](int i) { return kMoreBitsOf22.count(i) ? DType::Q6_K : DType::Q5_K; };
  expect_mixture(QuantMix::Q5_K_M, {DType::Q6_K, DType::Q5_K, DType::Q5_K, more, more, [](int) { return DType::Q5_K; }});
  expect_mixture(QuantMix::Q6_K, {DType::Q6_K, DType::Q6_K, DType::Q6_K, [](int) { return DType::Q6_K; },
                                  [](int) { return DType::Q6_K; }, [](int) { return DType::Q6_K; }});
}

// 8 experts (Mixtral's layout on TinyLlama's shape): llama.cpp gives attn_v and
// attn_k Q8_0 in every mixture, attn_output Q5_K in Q2_K, Q3_K_S, Q3_K_M, Q4_K_S
// and Q4_K_M (and the base format otherwise, so not Q3_K_L's dense Q5_K), and
// treats ffn_down_exps as ffn_down; the router stays F32.
TEST(QuantMix, EightExpertsOnTinyLlamaShape) {
  ModelShape shape = model_preset("tinyllama-1.1b");
  shape.n_expert = 8;
  shape.n_expert_used = 2;
  struct Case {
    QuantMix mix;
    DType rest, attn_output;
    DType (*ffn_down)(int);
  };
  const Case cases[] = {
      {QuantMix::Q2_K, DType::Q2_K, DType::Q5_K, [](int) { return DType::Q3_K; }},
      {QuantMix::Q3_K_S, DType::Q3_K, DType::Q5_K, [](int) { return DType::Q3_K; }},
      {QuantMix::Q3_K_M, DType::Q3_K, DType::Q5_K, [](int i) { return i < 1 ? DType::Q5_K : DType::Q4_K; }},
      {QuantMix::Q3_K_L, DType::Q3_K, DType::Q3_K, [](int) { return DType::Q5_K; }},
      {QuantMix::Q4_K_S, DType::Q4_K, DType::Q5_K, [](int i) { return i < 2 ? DType::Q5_K : DType::Q4_K; }},
      {QuantMix::Q4_K_M, DType::Q4_K, DType::Q5_K,
       [](int i) { return kMoreBitsOf22.count(i) ? DType::Q6_K : DType::Q4_K; }},
      {QuantMix::Q5_K_M, DType::Q5_K, DType::Q5_K,
       [](int i) { return kMoreBitsOf22.count(i) ? DType::Q6_K : DType::Q5_K; }},
      {QuantMix::Q6_K, DType::Q6_K, DType::Q6_K, [](int) { return DType::Q6_K; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(quant_mix_name(c.mix));
    const auto types = types_of(shape, c.mix, false);
    EXPECT_EQ(types.at("output.weight"), DType::Q6_K);
    for (int i = 0; i < 22; ++i) {
      EXPECT_EQ(types.at(blk(i, "attn_v")), DType::Q8_0) << i;
      EXPECT_EQ(types.at(blk(i, "attn_k")), DType::Q8_0) << i;
      EXPECT_EQ(types.at(blk(i, "attn_output")), c.attn_output) << i;
      EXPECT_EQ(types.at(blk(i, "ffn_down_exps")), c.ffn_down(i)) << i;
      for (const char* role : {"attn_q", "ffn_gate_exps", "ffn_up_exps"})
        EXPECT_EQ(types.at(blk(i, role)), c.rest) << role << " " << i;
      EXPECT_EQ(types.at(blk(i, "ffn_gate_inp")), DType::F32) << i;
    }
  }
}

// Other expert counts keep the dense attention rule; a shared expert's ffn_down
// is an ffn_down too (qwen2moe, 4 experts of 2816 and a shared one of 5632).
TEST(QuantMix, SharedExpertAndOtherExpertCounts) {
  ModelShape shape = model_preset("tinyllama-1.1b");
  shape.arch = "qwen2moe";
  shape.n_expert = 4;
  const auto types = types_of(shape, QuantMix::Q4_K_M, false);
  for (int i = 0; i < 22; ++i) {
    const DType more = kMoreBitsOf22.count(i) ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(types.at(blk(i, "attn_v")), more) << i;
    EXPECT_EQ(types.at(blk(i, "ffn_down_exps")), more) << i;
    EXPECT_EQ(types.at(blk(i, "ffn_down_shexp")), more) << i;
    for (const char* role : {"attn_q", "attn_k", "attn_output", "ffn_gate_exps", "ffn_up_exps", "ffn_gate_shexp",
                             "ffn_up_shexp"})
      EXPECT_EQ(types.at(blk(i, role)), DType::Q4_K) << role << " " << i;
    EXPECT_EQ(types.at(blk(i, "ffn_gate_inp")), DType::F32) << i;
    EXPECT_EQ(types.at(blk(i, "ffn_gate_inp_shexp")), DType::F32) << i;
  }
}

// Q2_K's attn_v is Q3_K unless at least 4 query heads share a kv head.
TEST(QuantMix, Q2_KAttnVDependsOnGrouping) {
  for (int64_t gqa : {1, 2, 3, 4, 8}) {
    const MixedModel m{8, true, gqa};
    EXPECT_EQ(tensor_type_for(QuantMix::Q2_K, blk(3, "attn_v"), {512, 256}, m), gqa >= 4 ? DType::Q4_K : DType::Q3_K)
        << gqa;
  }
}

// A tied head: token_embd.weight is the output matrix and is quantised as one.
TEST(QuantMix, TiedEmbeddingIsTreatedAsTheOutput) {
  for (QuantMix mix : {QuantMix::Q2_K, QuantMix::Q3_K_M, QuantMix::Q4_K_M, QuantMix::Q4_K_S, QuantMix::Q5_K_M}) {
    const auto types = types_of_tinyllama(mix, true);
    EXPECT_EQ(types.count("output.weight"), 0u);
    EXPECT_EQ(types.at("token_embd.weight"), DType::Q6_K);
  }
}

TEST(QuantMix, SmallModelsFollowTheSameLayerRule) {
  const MixedModel eight{8, true};  // n/8 = 1, 7n/8 = 7: layers 0, 3, 6, 7
  for (int i = 0; i < 8; ++i) {
    const bool more = i == 0 || i == 3 || i == 6 || i == 7;
    EXPECT_EQ(tensor_type_for(QuantMix::Q4_K_M, blk(i, "ffn_down"), {512, 256}, eight),
              more ? DType::Q6_K : DType::Q4_K) << i;
    EXPECT_EQ(tensor_type_for(QuantMix::Q4_K_S, blk(i, "ffn_down"), {512, 256}, eight),
              i < 1 ? DType::Q5_K : DType::Q4_K) << i;
  }
}

// Rows that are not whole 256-element super-blocks fall back as llama.cpp does
// (Q2_K, Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K and the output -> Q8_0),
// and to F16 when not whole 32-element blocks either.
TEST(QuantMix, ShortRowsFallBackAsLlamaCppThenF16) {
  const MixedModel m{2, true};
  for (QuantMix mix : {QuantMix::Q2_K, QuantMix::Q3_K_L, QuantMix::Q4_K_M, QuantMix::Q4_K_S, QuantMix::Q5_K_S,
                       QuantMix::Q6_K}) {
    SCOPED_TRACE(quant_mix_name(mix));
    EXPECT_EQ(tensor_type_for(mix, "output.weight", {64, 300}, m), DType::Q8_0);
    EXPECT_EQ(tensor_type_for(mix, "blk.1.ffn_down.weight", {172, 64}, m), DType::F16);
    EXPECT_EQ(tensor_type_for(mix, "blk.1.attn_norm.weight", {64}, m), DType::F32);
  }
  EXPECT_EQ(tensor_type_for(QuantMix::Q2_K, "blk.0.attn_q.weight", {64, 64}, m), DType::IQ4_NL);
  EXPECT_EQ(tensor_type_for(QuantMix::Q3_K_S, "blk.0.attn_q.weight", {64, 64}, m), DType::IQ4_NL);
  EXPECT_EQ(tensor_type_for(QuantMix::Q4_K_M, "blk.0.attn_q.weight", {64, 64}, m), DType::Q5_0);
  EXPECT_EQ(tensor_type_for(QuantMix::Q4_K_M, "blk.1.attn_v.weight", {288, 64}, m), DType::Q8_0);  // Q6_K's
  EXPECT_EQ(tensor_type_for(QuantMix::Q5_K_S, "blk.0.attn_q.weight", {64, 64}, m), DType::Q5_1);
  EXPECT_EQ(tensor_type_for(QuantMix::Q6_K, "blk.0.attn_q.weight", {64, 64}, m), DType::Q8_0);
}

TEST(QuantMix, NamesAndFileTypes) {
  EXPECT_EQ(quant_mix_from_name("q4_k_m"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("Q4_K_S"), QuantMix::Q4_K_S);
  EXPECT_EQ(quant_mix_from_name("q4_K_m"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("q4_k"), std::nullopt);
  EXPECT_EQ(quant_mix_name(QuantMix::Q4_K_S), "Q4_K_S");
  EXPECT_EQ(quant_mix_from_name("q2_k"), QuantMix::Q2_K);  // llama-quantize's names: mixtures
  EXPECT_EQ(quant_mix_from_name("Q6_K"), QuantMix::Q6_K);
  EXPECT_EQ(quant_mix_from_name("q5_k"), std::nullopt);
  // llama.h: LLAMA_FTYPE_MOSTLY_Q2_K = 10, Q3_K_S = 11, ... Q6_K = 18.
  const std::pair<QuantMix, uint32_t> ids[] = {{QuantMix::Q2_K, 10},   {QuantMix::Q3_K_S, 11}, {QuantMix::Q3_K_M, 12},
                                               {QuantMix::Q3_K_L, 13}, {QuantMix::Q4_K_S, 14}, {QuantMix::Q4_K_M, 15},
                                               {QuantMix::Q5_K_S, 16}, {QuantMix::Q5_K_M, 17}, {QuantMix::Q6_K, 18}};
  for (const auto& [mix, id] : ids) {
    EXPECT_EQ(quant_mix_file_type(mix), id) << quant_mix_name(mix);
    EXPECT_EQ(quant_mix_from_name(quant_mix_name(mix)), mix);
  }
}

TEST(QuantMix, ParseWeightType) {
  EXPECT_EQ(std::get<QuantMix>(parse_weight_type("Q4_K_M")), QuantMix::Q4_K_M);
  EXPECT_EQ(std::get<DType>(parse_weight_type("q4_k")), DType::Q4_K);
  EXPECT_EQ(std::get<DType>(parse_weight_type("F16")), DType::F16);
  try {
    parse_weight_type("q4_k_x");
    FAIL() << "no error for q4_k_x";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'q4_k_x'"), std::string::npos) << message;
    EXPECT_NE(message.find("q4_k_s, q4_k_m"), std::string::npos) << message;
  }
}

TEST(QuantMix, BlockIndex) {
  EXPECT_EQ(block_index("blk.21.ffn_down.weight"), 21);
  EXPECT_EQ(block_index("blk.0.attn_v.weight"), 0);
  EXPECT_EQ(block_index("token_embd.weight"), std::nullopt);
  EXPECT_EQ(block_index("blk.x.attn_v.weight"), std::nullopt);
  EXPECT_EQ(block_index("blk.3"), std::nullopt);
}

}  // namespace
}  // namespace tessera::engine
