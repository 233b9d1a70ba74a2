// The Q4_K_M / Q4_K_S rule per tensor, against lists written out by hand from
// llama.cpp's llama_tensor_get_type (not recomputed with the same formula).
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

// Every tensor of a TinyLlama-shaped model (22 layers) and the type the mixture gives it.
std::map<std::string, DType> types_of_tinyllama(QuantMix mix, bool tied) {
  const ModelShape shape = model_preset("tinyllama-1.1b");
  const MixedModel model{shape.n_layer, !tied};
  std::map<std::string, DType> types;
  for_each_llama_tensor(shape, tied, [&](const std::string& name, std::vector<int64_t> ne) {
    types[name] = tensor_type_for(mix, name, ne, model);
  });
  return types;
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

// llama.cpp gives Q5_K to attn_v of layers 0-3 and ffn_down of layers < n/8
// (0, 1 of 22); Tessera has no Q5_K and uses Q6_K there.
TEST(QuantMix, Q4_K_SOnTinyLlama) {
  const auto types = types_of_tinyllama(QuantMix::Q4_K_S, false);
  EXPECT_EQ(types.at("output.weight"), DType::Q6_K);
  EXPECT_EQ(types.at("token_embd.weight"), DType::Q4_K);
  for (int i = 0; i < 22; ++i) {
    EXPECT_EQ(types.at(blk(i, "attn_v")), i < 4 ? DType::Q6_K : DType::Q4_K) << i;
    EXPECT_EQ(types.at(blk(i, "ffn_down")), i < 2 ? DType::Q6_K : DType::Q4_K) << i;
    for (const char* role : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      EXPECT_EQ(types.at(blk(i, role)), DType::Q4_K) << role << " " << i;
  }
}

// A tied head: token_embd.weight is the output matrix and is quantised as one.
TEST(QuantMix, TiedEmbeddingIsTreatedAsTheOutput) {
  for (QuantMix mix : {QuantMix::Q4_K_M, QuantMix::Q4_K_S}) {
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
              i < 1 ? DType::Q6_K : DType::Q4_K) << i;
  }
}

// Rows that are not whole 256-element super-blocks: Q8_0 (llama.cpp: Q5_0 for
// Q4_K, Q8_0 for Q6_K), and F16 when not whole 32-element blocks either.
TEST(QuantMix, ShortRowsFallBackToQ8_0ThenF16) {
  const MixedModel m{2, true};
  for (QuantMix mix : {QuantMix::Q4_K_M, QuantMix::Q4_K_S}) {
    EXPECT_EQ(tensor_type_for(mix, "output.weight", {64, 300}, m), DType::Q8_0);
    EXPECT_EQ(tensor_type_for(mix, "blk.0.attn_q.weight", {64, 64}, m), DType::Q8_0);
    EXPECT_EQ(tensor_type_for(mix, "blk.0.attn_v.weight", {288, 64}, m), DType::Q8_0);
    EXPECT_EQ(tensor_type_for(mix, "blk.1.ffn_down.weight", {172, 64}, m), DType::F16);
    EXPECT_EQ(tensor_type_for(mix, "blk.1.attn_norm.weight", {64}, m), DType::F32);
  }
}

TEST(QuantMix, NamesAndFileTypes) {
  EXPECT_EQ(quant_mix_from_name("q4_k_m"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("Q4_K_S"), QuantMix::Q4_K_S);
  EXPECT_EQ(quant_mix_from_name("q4_K_m"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("q4_k"), std::nullopt);
  EXPECT_EQ(quant_mix_name(QuantMix::Q4_K_S), "Q4_K_S");
  // llama.h: LLAMA_FTYPE_MOSTLY_Q4_K_S = 14, LLAMA_FTYPE_MOSTLY_Q4_K_M = 15.
  EXPECT_EQ(quant_mix_file_type(QuantMix::Q4_K_S), 14u);
  EXPECT_EQ(quant_mix_file_type(QuantMix::Q4_K_M), 15u);
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
    EXPECT_NE(message.find("q4_k_m, q4_k_s"), std::string::npos) << message;
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
