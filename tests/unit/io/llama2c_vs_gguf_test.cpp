// The llama2.c route (stories260K.bin + tok512.bin, translated here) against the
// independent route (the same files converted to GGUF by llama.cpp's converter):
// both must give the model the same tensors and vocabulary.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "io/model_file.h"
#include "test_util.h"

namespace tessera::io {
namespace {

class Llama2cVsGguf : public ::testing::Test {
 protected:
  void SetUp() override {
    TESSERA_REQUIRE_TESTDATA(model, "llama2c/stories260K.bin");
    TESSERA_REQUIRE_TESTDATA(tok, "llama2c/tok512.bin");
    TESSERA_REQUIRE_TESTDATA(gguf, "gguf/stories260K-f32.gguf");
    ours_ = open_model_file(model, tok);
    theirs_ = open_model_file(gguf);
  }
  ModelFile ours_, theirs_;
};

TEST_F(Llama2cVsGguf, SameTensorsByteForByte) {
  std::set<std::string> our_names, their_names;
  for (const auto& t : ours_.tensors) our_names.insert(t.name);
  for (const auto& t : theirs_.tensors) their_names.insert(t.name);
  EXPECT_EQ(our_names, their_names);
  ASSERT_EQ(ours_.tensors.size(), theirs_.tensors.size());
  for (size_t k = 0; k < ours_.tensors.size(); ++k) {
    const TensorInfo& a = ours_.tensors[k];
    SCOPED_TRACE(a.name);
    EXPECT_EQ(a.name, theirs_.tensors[k].name);  // same order too
    const TensorInfo* b = theirs_.find_tensor(a.name);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a.type, b->type);
    EXPECT_EQ(a.ne, b->ne);
    ASSERT_EQ(a.nbytes, b->nbytes);
    EXPECT_EQ(std::memcmp(a.data, b->data, a.nbytes), 0);
  }
}

TEST_F(Llama2cVsGguf, SameVocabulary) {
  const auto& a = ours_.meta;
  const auto& b = theirs_.meta;
  EXPECT_EQ(a.get_string("tokenizer.ggml.model"), b.get_string("tokenizer.ggml.model"));
  // Includes BOS / EOS: llama2.c's "\n<s>\n" / "\n</s>\n" decorations are stored as "<s>" / "</s>", as the converter does.
  EXPECT_EQ(a.get_string_array("tokenizer.ggml.tokens"), b.get_string_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(a.get_float_array("tokenizer.ggml.scores"), b.get_float_array("tokenizer.ggml.scores"));
  EXPECT_EQ(a.get_int_array("tokenizer.ggml.token_type"), b.get_int_array("tokenizer.ggml.token_type"));
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id"})
    EXPECT_EQ(a.get_int(key), b.get_int(key)) << key;
}

TEST_F(Llama2cVsGguf, SameHyperparametersExceptTheConvertersContextLength) {
  for (const char* key : {"general.architecture", "llama.embedding_length", "llama.feed_forward_length",
                          "llama.block_count", "llama.attention.head_count", "llama.attention.head_count_kv",
                          "llama.rope.dimension_count", "llama.attention.layer_norm_rms_epsilon"}) {
    SCOPED_TRACE(key);
    const MetaValue& x = ours_.meta.at(key);
    const MetaValue& y = theirs_.meta.at(key);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.i, y.i);
    EXPECT_EQ(x.f, y.f);
    EXPECT_EQ(x.s, y.s);
  }
  // The converter writes its fixed default 128; the checkpoint was trained with 512 (see testdata README).
  EXPECT_EQ(ours_.meta.get_int("llama.context_length"), 512);
  EXPECT_EQ(theirs_.meta.get_int("llama.context_length"), 128);
}

}  // namespace
}  // namespace tessera::io
