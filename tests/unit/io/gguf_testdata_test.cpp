// The GGUF reader on real files made by llama.cpp (../shared/testdata).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "io/mapped_file.h"
#include "io/model_file.h"
#include "test_util.h"

namespace tessera::io {
namespace {

TEST(GgufTestdata, Stories260KHeaderAndMetadata) {
  TESSERA_REQUIRE_TESTDATA(path, "gguf/stories260K-f32.gguf");
  const ModelFile f = open_model_file(path);
  EXPECT_EQ(f.path, path);
  EXPECT_EQ(f.format, "GGUF v3");
  EXPECT_EQ(f.gguf_version, 3u);
  EXPECT_EQ(f.alignment, 32u);
  EXPECT_EQ(f.data_offset, 14176u);  // tensor infos end at 14152, padded to 32
  EXPECT_EQ(f.tensors.size(), 48u);

  const Metadata& m = f.meta;
  EXPECT_EQ(m.values.size(), 19u);
  EXPECT_EQ(m.get_string("general.architecture"), "llama");
  EXPECT_EQ(m.get_int("llama.context_length"), 128);
  EXPECT_EQ(m.get_int("llama.embedding_length"), 64);
  EXPECT_EQ(m.get_int("llama.feed_forward_length"), 172);
  EXPECT_EQ(m.get_int("llama.block_count"), 5);
  EXPECT_EQ(m.get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(m.get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(m.get_int("llama.rope.dimension_count"), 8);
  EXPECT_FLOAT_EQ(static_cast<float>(m.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(m.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(m.get_int("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_EQ(m.get_int("tokenizer.ggml.unknown_token_id"), 0);
  const auto& tokens = m.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(m.get_float_array("tokenizer.ggml.scores").size(), 512u);
  EXPECT_EQ(m.get_int_array("tokenizer.ggml.token_type").size(), 512u);
}

TEST(GgufTestdata, Stories260KTensors) {
  TESSERA_REQUIRE_TESTDATA(path, "gguf/stories260K-f32.gguf");
  const ModelFile f = open_model_file(path);
  const TensorInfo* k = f.find_tensor("blk.0.attn_k.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->type, DType::F32);
  EXPECT_EQ(k->ne, (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(k->nbytes, 64u * 32 * 4);
  ASSERT_NE(f.find_tensor("token_embd.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(f.find_tensor("blk.4.ffn_down.weight")->ne, (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(f.find_tensor("output_norm.weight")->ne, (std::vector<int64_t>{64}));
  uint64_t total = 0;
  for (const auto& t : f.tensors) {
    EXPECT_EQ(t.type, DType::F32) << t.name;
    EXPECT_EQ(t.data, f.mapping->data() + f.data_offset + t.offset) << t.name;
    total += t.nbytes;
  }
  EXPECT_EQ(total, 4u * (264128 - 4096 + 512 * 64));  // checkpoint floats - RoPE tables + explicit output
  // The converter stores the tied classifier explicitly: a copy of the embedding.
  const TensorInfo* out = f.find_tensor("output.weight");
  const TensorInfo* emb = f.find_tensor("token_embd.weight");
  ASSERT_EQ(out->nbytes, emb->nbytes);
  EXPECT_EQ(std::memcmp(out->data, emb->data, emb->nbytes), 0);
  float first;
  std::memcpy(&first, emb->data, 4);
  EXPECT_TRUE(std::isfinite(first));
}

TEST(GgufTestdata, Ctx512VariantDiffersOnlyInContextLength) {
  TESSERA_REQUIRE_TESTDATA(path, "gguf/stories260K-f32-ctx512.gguf");
  const ModelFile f = open_model_file(path);
  EXPECT_EQ(f.meta.get_int("llama.context_length"), 512);
  EXPECT_EQ(f.tensors.size(), 48u);
}

struct VocabCase {
  const char* name;
  const char* model;
  size_t vocab;
};

class GgufVocabFiles : public ::testing::TestWithParam<VocabCase> {};

TEST_P(GgufVocabFiles, LoadWithZeroTensors) {
  const VocabCase c = GetParam();
  const std::string rel = std::string("llamacpp-vocab/ggml-vocab-") + c.name + ".gguf";
  TESSERA_REQUIRE_TESTDATA(path, rel);
  const ModelFile f = open_model_file(path);
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_EQ(f.gguf_version, 3u);
  EXPECT_EQ(f.meta.get_string("tokenizer.ggml.model"), c.model);
  EXPECT_EQ(f.meta.get_string_array("tokenizer.ggml.tokens").size(), c.vocab);
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, GgufVocabFiles,
                         ::testing::Values(VocabCase{"llama-spm", "llama", 32000}, VocabCase{"gpt-2", "gpt2", 50257},
                                           VocabCase{"deepseek-coder", "gpt2", 32256},
                                           VocabCase{"deepseek-llm", "gpt2", 102400},
                                           VocabCase{"falcon", "gpt2", 65024}, VocabCase{"starcoder", "gpt2", 49152},
                                           VocabCase{"bert-bge", "bert", 30522}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace tessera::io
