// llama2.c checkpoints and tokenizer files, real and synthetic.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/mapped_file.h"
#include "test_util.h"
#include "unit/io/io_test_util.h"

namespace tessera::io {
namespace {

using test::expect_message;
using test::expect_open_error;
using test::open_error;
using test::RawBytes;
using tessera::test::TempDir;

struct Config {
  int32_t dim = 8, hidden_dim = 12, n_layers = 2, n_heads = 2, n_kv_heads = 1, vocab_size = 261, seq_len = 4;
};

// A checkpoint whose float k (after the header) has the value k, so every view can be checked.
std::string make_checkpoint(const Config& c) {
  const int64_t d = c.dim, L = c.n_layers, kv = c.n_kv_heads * (c.dim / c.n_heads), h = c.hidden_dim;
  const int64_t v = c.vocab_size < 0 ? -int64_t(c.vocab_size) : c.vocab_size;
  const int64_t floats = v * d + L * (2 * d + 2 * d * d + 2 * kv * d + 3 * h * d) + d +
                         c.seq_len * (c.dim / c.n_heads) + (c.vocab_size < 0 ? v * d : 0);
  RawBytes b;
  b.i32(c.dim).i32(c.hidden_dim).i32(c.n_layers).i32(c.n_heads).i32(c.n_kv_heads).i32(c.vocab_size).i32(c.seq_len);
  for (int64_t k = 0; k < floats; ++k) b.f32(static_cast<float>(k));
  return b.bytes;
}

// <unk>, BOS, EOS, 256 byte tokens, then "extra" pieces (with spaces) up to `vocab`.
std::string make_tokenizer(int vocab, uint32_t max_len = 7) {
  RawBytes b;
  b.u32(max_len);
  auto token = [&](float score, const std::string& piece) { b.f32(score).i32(int32_t(piece.size())).raw(piece); };
  token(0, "<unk>");
  token(0, "\n<s>\n");
  token(0, "\n</s>\n");
  for (int k = 0; k < 256; ++k) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", k);
    token(0, hex);
  }
  for (int k = 259; k < vocab; ++k) token(-float(k), k % 2 ? " the" : "ing");
  return b.bytes;
}

float float_at(const TensorInfo& t, size_t k) {
  float f;
  std::memcpy(&f, t.data + 4 * k, 4);
  return f;
}

class Llama2c : public ::testing::Test {
 protected:
  std::string file(const std::string& bytes, const std::string& name) {
    const std::string path = dir_.file(name);
    tessera::test::write_file(path, bytes);
    return path;
  }
  TempDir dir_;
};

TEST_F(Llama2c, SyntheticCheckpointViews) {
  const Config c;
  const std::string model = file(make_checkpoint(c), "model.bin");
  const std::string tok = file(make_tokenizer(c.vocab_size), "tok.bin");
  const ModelFile f = open_model_file(model, tok);
  EXPECT_EQ(f.format, "llama2.c checkpoint");
  EXPECT_EQ(f.meta.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.meta.get_string("general.name"), "model");
  EXPECT_EQ(f.meta.get_int("llama.context_length"), 4);
  EXPECT_EQ(f.meta.get_int("llama.embedding_length"), 8);
  EXPECT_EQ(f.meta.get_int("llama.feed_forward_length"), 12);
  EXPECT_EQ(f.meta.get_int("llama.block_count"), 2);
  EXPECT_EQ(f.meta.get_int("llama.attention.head_count"), 2);
  EXPECT_EQ(f.meta.get_int("llama.attention.head_count_kv"), 1);
  EXPECT_EQ(f.meta.get_int("llama.rope.dimension_count"), 4);
  EXPECT_FLOAT_EQ(float(f.meta.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(f.meta.get_float("llama.rope.freq_base"), 10000.0);
  ASSERT_EQ(f.tensors.size(), 3u + 9 * 2);

  // Float offsets of each array in the file (after the header), as in llama2.c's run.c.
  const size_t emb = 0, rms_att = emb + 261 * 8, wq = rms_att + 2 * 8, wk = wq + 2 * 64, wv = wk + 2 * 32,
               wo = wv + 2 * 32, rms_ffn = wo + 2 * 64, w1 = rms_ffn + 2 * 8, w2 = w1 + 2 * 96, w3 = w2 + 2 * 96,
               rms_final = w3 + 2 * 96;
  struct Want {
    const char* name;
    std::vector<int64_t> ne;
    size_t first_float;
  };
  const Want want[] = {{"token_embd.weight", {8, 261}, emb},     {"output_norm.weight", {8}, rms_final},
                       {"output.weight", {8, 261}, emb},         {"blk.1.attn_q.weight", {8, 8}, wq + 64},
                       {"blk.1.attn_k.weight", {8, 4}, wk + 32}, {"blk.0.attn_v.weight", {8, 4}, wv},
                       {"blk.1.attn_v.weight", {8, 4}, wv + 32}, {"blk.1.attn_output.weight", {8, 8}, wo + 64},
                       {"blk.1.attn_norm.weight", {8}, rms_att + 8}, {"blk.1.ffn_gate.weight", {8, 12}, w1 + 96},
                       {"blk.1.ffn_down.weight", {12, 8}, w2 + 96}, {"blk.1.ffn_up.weight", {8, 12}, w3 + 96},
                       {"blk.1.ffn_norm.weight", {8}, rms_ffn + 8}};
  for (const auto& w : want) {
    SCOPED_TRACE(w.name);
    const TensorInfo* t = f.find_tensor(w.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, DType::F32);
    EXPECT_EQ(t->ne, w.ne);
    EXPECT_EQ(t->nbytes, 4u * t->n_elements());
    EXPECT_EQ(t->data, f.mapping->data() + t->offset);
    EXPECT_EQ(float_at(*t, 0), float(w.first_float));
    EXPECT_EQ(float_at(*t, t->n_elements() - 1), float(w.first_float + t->n_elements() - 1));
  }
  EXPECT_EQ(f.find_tensor("output.weight")->data, f.find_tensor("token_embd.weight")->data);  // tied: one view
}

TEST_F(Llama2c, UnsharedClassifierFollowsTheRopeTables) {
  Config c;
  c.vocab_size = -261;
  const std::string bytes = make_checkpoint(c);
  const ModelFile f = open_model_file(file(bytes, "m.bin"), file(make_tokenizer(261), "t.bin"));
  const TensorInfo* out = f.find_tensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->ne, (std::vector<int64_t>{8, 261}));
  EXPECT_EQ(out->offset + out->nbytes, bytes.size());
  EXPECT_NE(out->data, f.find_tensor("token_embd.weight")->data);
  EXPECT_EQ(f.meta.get_int("llama.vocab_size"), 261);
}

TEST_F(Llama2c, TokenizerTranslation) {
  const ModelFile f = open_model_file(file(make_checkpoint({}), "m.bin"), file(make_tokenizer(261), "t.bin"));
  const Metadata& m = f.meta;
  EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "llama");
  const auto& tokens = m.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 261u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(tokens[3 + 0x41], "<0x41>");
  EXPECT_EQ(tokens[259], "\xE2\x96\x81the");  // ' ' is stored as U+2581
  EXPECT_EQ(tokens[260], "ing");
  const auto types = m.get_int_array("tokenizer.ggml.token_type");
  EXPECT_EQ(types[0], 2);
  EXPECT_EQ(types[1], 3);
  EXPECT_EQ(types[2], 3);
  EXPECT_EQ(types[3], 6);
  EXPECT_EQ(types[258], 6);
  EXPECT_EQ(types[259], 1);
  const auto scores = m.get_float_array("tokenizer.ggml.scores");
  EXPECT_EQ(scores[260], -260.f);
  EXPECT_EQ(m.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(m.get_int("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_EQ(m.get_int("tokenizer.ggml.unknown_token_id"), 0);
  EXPECT_TRUE(m.get_bool("tokenizer.ggml.add_bos_token"));
  ASSERT_NE(f.extra_mapping, nullptr);
}

TEST_F(Llama2c, MissingTokenizerIsAClearError) {
  const std::string model = file(make_checkpoint({}), "m.bin");
  const std::string msg = open_error(model);
  EXPECT_EQ(msg, "llama2.c checkpoint '" + model + "' needs its tokenizer file: pass --tokenizer");
  const std::string absent = dir_.file("absent.bin");
  expect_message(open_error(model, absent), absent, {"cannot open tokenizer file", "No such file"});
}

TEST_F(Llama2c, HeaderThatIsNotACheckpoint) {
  auto header = [&](Config c, int extra_bytes = 0) {
    std::string b = make_checkpoint(c);
    if (extra_bytes > 0) b += std::string(size_t(extra_bytes), '\0');
    if (extra_bytes < 0) b.resize(b.size() - size_t(-extra_bytes));
    return file(b, "m.bin");
  };
  const std::string tok = file(make_tokenizer(261), "t.bin");
  Config c;
  c.n_layers = 0;
  expect_open_error(header(c), {"neither a GGUF file (bad magic 08 00 00 00)", "header field n_layers is 0"}, tok);
  c = {};
  c.seq_len = -4;
  expect_open_error(header(c), {"header field seq_len is -4"}, tok);
  c = {};
  c.vocab_size = 0;
  expect_open_error(header(c), {"header field vocab_size is 0"}, tok);
  c = {};
  c.n_heads = 3;
  expect_open_error(header(c), {"dim 8 is not a multiple of n_heads 3"}, tok);
  c = {};
  c.n_kv_heads = 4;
  expect_open_error(header(c), {"n_heads 2 is not a multiple of n_kv_heads 4"}, tok);
  c = {};
  c.n_heads = 8;
  c.n_kv_heads = 8;
  expect_open_error(header(c), {"head size 1 is odd"}, tok);
  expect_open_error(header({}, 4), {"nor a llama2.c checkpoint", "with a shared classifier, the file has"}, tok);
  expect_open_error(header({}, -4), {"nor a llama2.c checkpoint"}, tok);
  c = {};
  c.dim = 1 << 30;
  c.n_heads = 1 << 20;
  c.n_kv_heads = 1 << 20;
  RawBytes huge;  // only the header: the implied size is astronomically larger than the file
  huge.i32(c.dim).i32(1 << 30).i32(1 << 30).i32(c.n_heads).i32(c.n_kv_heads).i32(1 << 30).i32(1 << 30);
  expect_open_error(file(huge.bytes, "huge.bin"), {"nor a llama2.c checkpoint", "implies"}, tok);
}

TEST_F(Llama2c, EveryTruncatedCheckpointIsAnError) {
  Config c;
  c.vocab_size = 259;
  c.n_layers = 1;
  const std::string full = make_checkpoint(c);
  const std::string tok = file(make_tokenizer(259), "t.bin");
  ASSERT_NO_THROW(open_model_file(file(full, "full.bin"), tok));
  for (size_t n = 1; n < full.size(); n += (n < 64 ? 1 : 37)) {
    SCOPED_TRACE(n);
    expect_open_error(file(full.substr(0, n), "cut" + std::to_string(n) + ".bin"), {"neither a GGUF file"}, tok);
  }
}

TEST_F(Llama2c, EveryTruncatedTokenizerIsAnError) {
  const std::string model = file(make_checkpoint({}), "m.bin");
  const std::string full = make_tokenizer(261);
  // Every length through the first tokens, then a stride coprime with the token sizes (13 / 14 bytes).
  for (size_t n = 1; n < full.size(); n += (n < 200 ? 1 : 5)) {
    SCOPED_TRACE(n);
    const std::string tok = file(full.substr(0, n), "cut_tok" + std::to_string(n) + ".bin");
    expect_message(open_error(model, tok), tok, {});
  }
}

TEST_F(Llama2c, BadTokenizerFiles) {
  const std::string model = file(make_checkpoint({}), "m.bin");
  auto tok_with_token = [&](int32_t len, float score = 0) {
    RawBytes b;
    b.u32(7).f32(score).i32(len).raw("ab");
    return b.bytes + make_tokenizer(261).substr(4 + 8 + 5);  // the rest: tokens 1..260
  };
  const std::string neg = file(tok_with_token(-1), "neg.bin");
  expect_message(open_error(model, neg), neg, {"token 0 has negative length -1", "byte offset 8"});
  const std::string huge = file(tok_with_token(1 << 30), "huge.bin");
  expect_message(open_error(model, huge), huge, {"token 0 is 1073741824 bytes, longer than the max_token_length 7"});
  const std::string nan = file(tok_with_token(2, std::nanf("")), "nan.bin");
  expect_message(open_error(model, nan), nan, {"token 0 has score nan"});

  const std::string other = file(make_tokenizer(300), "other.bin");
  expect_message(open_error(model, other), other, {"bytes left after the model's 261 tokens"});
  const std::string smaller = file(make_tokenizer(259), "smaller.bin");
  expect_message(open_error(model, smaller), smaller, {"truncated file: score of token 259"});
  const std::string tiny = file(RawBytes().u32(7).u64(0).bytes, "tiny.bin");
  expect_message(open_error(model, tiny), tiny, {"too short for 261 tokens"});
}

TEST_F(Llama2c, RealStories260K) {
  TESSERA_REQUIRE_TESTDATA(model, "llama2c/stories260K.bin");
  TESSERA_REQUIRE_TESTDATA(tok, "llama2c/tok512.bin");
  const ModelFile f = open_model_file(model, tok);
  EXPECT_EQ(f.meta.get_int("llama.context_length"), 512);
  EXPECT_EQ(f.meta.get_int("llama.embedding_length"), 64);
  EXPECT_EQ(f.meta.get_int("llama.feed_forward_length"), 172);
  EXPECT_EQ(f.meta.get_int("llama.block_count"), 5);
  EXPECT_EQ(f.meta.get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(f.meta.get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(f.meta.get_int("llama.rope.dimension_count"), 8);
  EXPECT_EQ(f.meta.get_string("general.name"), "stories260K");
  EXPECT_EQ(f.tensors.size(), 48u);
  EXPECT_EQ(f.meta.get_string_array("tokenizer.ggml.tokens").size(), 512u);
  // The 32000-token Llama 2 tokenizer does not belong to this model.
  TESSERA_REQUIRE_TESTDATA(big_tok, "llama2c/tokenizer.bin");
  expect_message(open_error(model, big_tok), big_tok, {"tokenizer of another model"});
}

}  // namespace
}  // namespace tessera::io
