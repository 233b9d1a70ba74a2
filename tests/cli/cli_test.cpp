// The `tessera` command end to end: output contract, flags, and bad input
// (exit status 1 for bad files, 2 for bad usage, one-line messages, no crash).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "io/model_file.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

using test::run_tessera;

std::string q(const std::string& s) { return "'" + s + "'"; }

// A failed command: the given status, one line on stderr that contains every needle.
void expect_failure(const test::CommandResult& r, int status, std::initializer_list<std::string> needles) {
  EXPECT_EQ(r.exit_code, status) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
  EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* cmd : {"", "run ", "info ", "tokenize ", "embed "}) {
    auto r = run_tessera(std::string(cmd) + "--help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << r.out;
  }
  auto r = run_tessera("run --help");
  for (const char* flag : {"-m", "-p", "-n", "-t", "--temp", "--top-k", "--top-p", "--min-p", "--seed", "--repeat-penalty"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST(Cli, UsageErrorsExitWithTwo) {
  expect_failure(run_tessera("run -m x.gguf --bogus-flag"), 2, {"--bogus-flag"});
  expect_failure(run_tessera("frobnicate"), 2, {"frobnicate"});
  expect_failure(run_tessera(""), 2, {"subcommand"});
  expect_failure(run_tessera("run -m x.gguf -t abc"), 2, {"abc"});
  expect_failure(run_tessera("run -m x.gguf --top-p 1.5"), 2, {"--top-p"});
  // -p and -f together, before any file is read
  expect_failure(run_tessera("run -m x.gguf -p hi -f y.txt"), 2, {"prompt", "not both"});
  expect_failure(run_tessera("tokenize -m x.gguf -p hi -f y.txt"), 2, {"text", "not both"});
  expect_failure(run_tessera("embed -m x.gguf -p hi -f y.txt"), 2, {"text to embed", "not both"});
  expect_failure(run_tessera("run -m x.gguf -f /nonexistent/p.txt"), 1, {"/nonexistent/p.txt"});
}

// -ctk/-ctv take llama.cpp's spelling; a value that is not a cache type is a
// usage error naming the option and the allowed values, before any file is read.
TEST(Cli, BadCacheTypeIsAUsageError) {
  const std::string allowed = "f32, f16, q8_0";
  expect_failure(run_tessera("run -m x.gguf -ctk q4_0"), 2, {"--cache-type-k", "q4_0", allowed});
  expect_failure(run_tessera("run -m x.gguf --cache-type-v bf16"), 2, {"--cache-type-v", "bf16", allowed});
  expect_failure(run_tessera("perplexity -m x.gguf -f y.txt -ctv f8"), 2, {"--cache-type-v", allowed});
  expect_failure(run_tessera("bench -m x.gguf -ctk f16,q4_1"), 2, {"--cache-type-k", "q4_1", allowed});
  auto r = run_tessera("run --help");
  EXPECT_NE(r.out.find("-ctk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-ctv"), std::string::npos) << r.out;
}

class CliStories : public testing::Test {
 protected:
  void SetUp() override {
    gguf_ = test::testdata_file("gguf/stories260K-f32.gguf");
    if (gguf_.empty()) GTEST_SKIP() << "test data absent: " << test::testdata_dir() / "gguf/stories260K-f32.gguf";
  }
  std::string gguf_;
};

// stdout is exactly the prompt and the generated text (then one newline), and
// matches llama2.c's greedy continuation; timings go to stderr.
TEST_F(CliStories, RunGreedyStdoutIsPromptPlusContinuation) {
  TESSERA_REQUIRE_TESTDATA(ref_path, "llama2c/stories260K_greedy.json");
  const auto ref = nlohmann::json::parse(test::read_file(ref_path));
  const auto& c = ref["cases"][1];
  ASSERT_EQ(c["prompt"], "Once upon a time");
  auto r = run_tessera("run -m " + q(gguf_) + " -p 'Once upon a time' -n 30 --temp 0 -t 2 -ctk f32 -ctv f32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  const std::string text = r.out.substr(0, r.out.size() - 1);
  const std::string want = c["decoded_text"];
  EXPECT_EQ(want.rfind(text, 0), 0u) << "stdout: " << text;
  EXPECT_GT(text.size(), std::string("Once upon a time").size() + 30);
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("load time"), std::string::npos) << r.err;
}

// stories260K's heads are 8 wide: a q8_0 cache cannot hold them, and the
// message says which option and why; f16 (the default) and f32 run.
TEST_F(CliStories, CacheTypeMustFitTheHeadSize) {
  expect_failure(run_tessera("run -m " + q(gguf_) + " -n 4 -ctk q8_0"), 2, {"cache_type_k q8_0", "8", "32"});
  expect_failure(run_tessera("run -m " + q(gguf_) + " -n 4 -ctv Q8_0"), 2, {"cache_type_v Q8_0", "8", "32"});
  for (const char* types : {"-ctk f32 -ctv f16", "--cache-type-k f16 --cache-type-v f32"}) {
    auto r = run_tessera("run -m " + q(gguf_) + " -p 'The cat' -n 8 --temp 0 " + types);
    EXPECT_EQ(r.exit_code, 0) << types << ": " << r.err;
  }
}

TEST_F(CliStories, SameSeedSameText) {
  const std::string args = "run -m " + q(gguf_) + " -p 'The cat' -n 40 --temp 1.0 --seed 1234";
  auto a = run_tessera(args), b = run_tessera(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  auto c = run_tessera("run -m " + q(gguf_) + " -p 'The cat' -n 40 --temp 1.0 --seed 99");
  EXPECT_NE(a.out, c.out);
}

TEST_F(CliStories, InfoListsArchitectureAndTensors) {
  auto r = run_tessera("info -m " + q(gguf_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"llama", "blk.4.ffn_down.weight", "token_embd.weight", "F32", "tokenizer.ggml.tokens",
                        "kv heads", "GGUF v3"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST_F(CliStories, TokenizeIdsAndPieces) {
  auto r = run_tessera("tokenize -m " + q(gguf_) + " -p 'Once upon a time' --ids");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[1, 403, 407, 261, 378]\n");
  r = run_tessera("tokenize -m " + q(gguf_) + " -p 'Once upon a time' --ids --no-bos");
  EXPECT_EQ(r.out, "[403, 407, 261, 378]\n");
  r = run_tessera("tokenize -m " + q(gguf_) + " -p 'Once'");
  EXPECT_NE(r.out.find("403 -> ' Once'"), std::string::npos) << r.out;
}

TEST_F(CliStories, PromptLongerThanContext) {
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "Once upon a time ";
  expect_failure(run_tessera("run -m " + q(gguf_) + " -c 16 -p " + q(prompt)), 1, {"context"});
}

TEST(CliFiles, Llama2cCheckpointNeedsItsTokenizer) {
  TESSERA_REQUIRE_TESTDATA(bin, "llama2c/stories260K.bin");
  TESSERA_REQUIRE_TESTDATA(tok, "llama2c/tok512.bin");
  expect_failure(run_tessera("run -m " + q(bin) + " -n 4"), 1, {bin, "--tokenizer"});
  auto r = run_tessera("run -m " + q(bin) + " --tokenizer " + q(tok) + " -n 8 --temp 0");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time", 0), 0u) << r.out;
}

TEST(CliFiles, VocabOnlyFileWorksForTokenizeAndInfoOnly) {
  TESSERA_REQUIRE_TESTDATA(vocab, "llamacpp-vocab/ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(run_tessera("info -m " + q(vocab)).exit_code, 0);
  auto r = run_tessera("tokenize -m " + q(vocab) + " -p 'Hello world' --ids");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[1, 15043, 3186]\n");
  expect_failure(run_tessera("run -m " + q(vocab) + " -p hi"), 1, {vocab, "no tensors"});
}

// Bad files: each class of fault gives exit 1 and a one-line message naming the file.
class CliBadFiles : public testing::Test {
 protected:
  void SetUp() override { good_ = test::make_tiny_model({}).to_bytes(); }

  test::CommandResult run_on(const std::string& bytes, const std::string& command = "run") {
    const std::string path = dir_.file("model.gguf");
    test::write_file(path, bytes);
    path_ = path;
    return run_tessera(command + " -m " + q(path) + (command == "run" ? " -n 2" : ""));
  }

  // Offset of the u32 type field of tensor `name`'s info record.
  size_t tensor_type_field(const std::string& name) const {
    // GGUF strings are a u64 length and the bytes: search for both, so that
    // "output.weight" does not match inside "blk.0.attn_output.weight".
    std::string key(8, '\0');
    const uint64_t len = name.size();
    std::memcpy(key.data(), &len, 8);
    key += name;
    size_t at = good_.find(key);
    EXPECT_NE(at, std::string::npos) << name;
    at += key.size();
    uint32_t n_dims;
    std::memcpy(&n_dims, good_.data() + at, 4);
    return at + 4 + 8 * n_dims;
  }

  std::string good_, path_;
  test::TempDir dir_;
};

TEST_F(CliBadFiles, GoodFileRuns) {
  auto r = run_on(good_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliBadFiles, MissingFile) {
  expect_failure(run_tessera("run -m /nonexistent/model.gguf"), 1, {"/nonexistent/model.gguf"});
  expect_failure(run_tessera("info -m /nonexistent/model.gguf"), 1, {"/nonexistent/model.gguf"});
}

TEST_F(CliBadFiles, TruncatedFile) {
  for (size_t len : {size_t{3}, size_t{20}, size_t{300}, good_.size() / 2, good_.size() - 1}) {
    SCOPED_TRACE(len);
    for (const char* cmd : {"run", "info"}) expect_failure(run_on(good_.substr(0, len), cmd), 1, {path_});
  }
}

TEST_F(CliBadFiles, WrongMagic) {
  std::string bad = good_;
  bad[0] = 'X';
  expect_failure(run_on(bad), 1, {path_, "GGUF"});
  expect_failure(run_on(bad, "info"), 1, {path_, "GGUF"});
}

TEST_F(CliBadFiles, UnsupportedVersion) {
  std::string bad = good_;
  bad[4] = 9;
  expect_failure(run_on(bad), 1, {path_, "version 9"});
}

TEST_F(CliBadFiles, UnknownTensorType) {
  std::string bad = good_;
  const size_t at = tensor_type_field("blk.0.attn_q.weight");
  const uint32_t type = 99;
  std::memcpy(bad.data() + at, &type, 4);
  expect_failure(run_on(bad), 1, {path_, "blk.0.attn_q.weight", "99"});
  expect_failure(run_on(bad, "info"), 1, {path_, "blk.0.attn_q.weight", "99"});
}

TEST_F(CliBadFiles, MisalignedTensorOffset) {
  std::string bad = good_;
  const size_t at = tensor_type_field("blk.0.attn_q.weight") + 4;
  uint64_t offset;
  std::memcpy(&offset, bad.data() + at, 8);
  offset += 4;
  std::memcpy(bad.data() + at, &offset, 8);
  expect_failure(run_on(bad), 1, {path_, "blk.0.attn_q.weight", "align"});
}

TEST_F(CliBadFiles, TensorDataOutsideFile) {
  std::string bad = good_;
  const size_t at = tensor_type_field("output.weight") + 4;
  const uint64_t offset = uint64_t{1} << 40;
  std::memcpy(bad.data() + at, &offset, 8);
  expect_failure(run_on(bad), 1, {path_, "output.weight", "outside"});
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// llama2.c checkpoint -> GGUF through our writer: same tensor bytes, same text.
TEST(CliConvert, Llama2cToGgufKeepsTensorsAndOutput) {
  TESSERA_REQUIRE_TESTDATA(bin, "llama2c/stories260K.bin");
  TESSERA_REQUIRE_TESTDATA(tok, "llama2c/tok512.bin");
  TESSERA_REQUIRE_TESTDATA(ref_gguf, "gguf/stories260K-f32.gguf");
  test::TempDir dir;
  const std::string out = dir.file("stories.gguf");
  auto r = run_tessera("convert " + q(bin) + " " + q(out) + " --tokenizer " + q(tok));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto converted = io::open_model_file(out);
  const auto reference = io::open_model_file(ref_gguf);
  // The checkpoint's classifier is tied: written once, as token_embd (the
  // reference GGUF stores an identical copy as output.weight).
  EXPECT_EQ(converted.find_tensor("output.weight"), nullptr);
  ASSERT_EQ(converted.tensors.size() + 1, reference.tensors.size());
  for (const auto& t : reference.tensors) {
    const auto* c = converted.find_tensor(t.name == "output.weight" ? "token_embd.weight" : t.name);
    ASSERT_NE(c, nullptr) << t.name;
    EXPECT_EQ(c->ne, t.ne) << t.name;
    ASSERT_EQ(c->nbytes, t.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(c->data, t.data, t.nbytes), 0) << t.name;
  }
  const std::string args = " -p 'The cat' -n 40 --temp 0";
  auto a = run_tessera("run -m " + q(out) + args);
  auto b = run_tessera("run -m " + q(bin) + " --tokenizer " + q(tok) + args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(CliConvert, ToQ8_0RunsAndKeepsNormsF32) {
  TESSERA_REQUIRE_TESTDATA(src, "gguf/stories260K-f32.gguf");
  test::TempDir dir;
  const std::string out = dir.file("q8.gguf");
  auto r = run_tessera("convert " + q(src) + " " + q(out) + " --type q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto f = io::open_model_file(out);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight")->type, DType::Q8_0);
  EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, DType::F32);
  // 172-wide rows of ffn_down are not whole Q8_0 blocks: stored as F16.
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down.weight")->type, DType::F16);
  EXPECT_EQ(run_tessera("run -m " + q(out) + " -n 16 --temp 0").exit_code, 0);
}

TEST(CliConvert, BadArguments) {
  expect_failure(run_tessera("convert /nonexistent.gguf /tmp/x.gguf"), 1, {"/nonexistent.gguf"});
  TESSERA_REQUIRE_TESTDATA(src, "gguf/stories260K-f32.gguf");
  expect_failure(run_tessera("convert " + q(src) + " /tmp/x.gguf --type q9_9"), 2, {"q9_9"});
  expect_failure(run_tessera("convert " + q(src) + " /nonexistent-dir/x.gguf"), 1, {"/nonexistent-dir/x.gguf"});
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

const std::string kStoriesText = std::string(TESSERA_SOURCE_DIR) + "/tests/data/little_stories.txt";

TEST(CliPerplexity, PrintsLlamaPerplexityFinalLine) {
  TESSERA_REQUIRE_TESTDATA(model, "gguf/stories260K-f32.gguf");
  auto r = run_tessera("perplexity -m " + q(model) + " -f " + q(kStoriesText) + " -c 128 -b 32 --chunks 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string last = r.out.substr(r.out.rfind("Final estimate"));
  double ppl = 0, err = 0;
  ASSERT_EQ(std::sscanf(last.c_str(), "Final estimate: PPL = %lf +/- %lf", &ppl, &err), 2) << last;
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 512.0);  // far below the uniform baseline (vocab size)
  EXPECT_NE(r.out.find("[3]"), std::string::npos);
  EXPECT_NE(r.err.find("3/3"), std::string::npos) << r.err;  // progress reached the end
}

TEST(CliPerplexity, BadInput) {
  TESSERA_REQUIRE_TESTDATA(model, "gguf/stories260K-f32.gguf");
  expect_failure(run_tessera("perplexity -m " + q(model) + " -f /nonexistent.txt"), 1, {"/nonexistent.txt"});
  expect_failure(run_tessera("perplexity -m " + q(model) + " -f " + q(kStoriesText) + " -c 4096"), 1,
                 {"needs at least 8192"});
  expect_failure(run_tessera("perplexity -m " + q(model) + " -f " + q(kStoriesText) + " -c 1"), 2, {"--ctx-size"});
  expect_failure(run_tessera("perplexity -m " + q(model)), 2, {"--file"});
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(CliMkmodel, WritesLoadableModelOfTheAskedShape) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  auto r = run_tessera("mkmodel " + q(out) + " --type q4_0 --dim 128 --layers 3 --heads 4 --kv-heads 2 --ffn 256 --vocab 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto f = io::open_model_file(out);
  EXPECT_EQ(f.meta.get_int("llama.block_count"), 3);
  EXPECT_EQ(f.meta.get_string_array("tokenizer.ggml.tokens").size(), 1000u);
  EXPECT_EQ(f.find_tensor("blk.2.ffn_down.weight")->type, DType::Q4_0);
  EXPECT_EQ(f.find_tensor("blk.2.ffn_down.weight")->ne, (std::vector<int64_t>{256, 128}));
  EXPECT_EQ(f.find_tensor("blk.0.attn_k.weight")->ne, (std::vector<int64_t>{128, 64}));
  auto run = run_tessera("run -m " + q(out) + " -p 'abc' -n 5 --temp 0");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // Same seed, same bytes.
  auto again = run_tessera("mkmodel " + q(dir.file("m2.gguf")) + " --type q4_0 --dim 128 --layers 3 --heads 4 --kv-heads 2 --ffn 256 --vocab 1000");
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(test::read_file(out), test::read_file(dir.file("m2.gguf")));
}

// Experts: Mixtral's layout (llama + expert_count) and qwen2moe's, each a file
// that loads and runs.
TEST(CliMkmodel, WritesExpertModels) {
  test::TempDir dir;
  const std::string mixtral = dir.file("mixtral.gguf"), qwen = dir.file("qwen2moe.gguf");
  auto r = run_tessera("mkmodel " + q(mixtral) + " --type q8_0 --experts 8 --experts-used 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = io::open_model_file(mixtral);
  EXPECT_EQ(f.meta.get_int("llama.expert_count"), 8);
  EXPECT_EQ(f.meta.get_int("llama.expert_used_count"), 2);
  EXPECT_EQ(f.find_tensor("blk.1.ffn_up_exps.weight")->ne, (std::vector<int64_t>{64, 96, 8}));
  EXPECT_EQ(f.find_tensor("blk.1.ffn_up_exps.weight")->type, DType::Q8_0);
  EXPECT_EQ(f.find_tensor("blk.1.ffn_gate_inp.weight")->type, DType::F32);
  EXPECT_EQ(f.find_tensor("blk.1.ffn_up.weight"), nullptr);
  EXPECT_EQ(run_tessera("run -m " + q(mixtral) + " -p 'abc' -n 5 --temp 0").exit_code, 0);
  r = run_tessera("mkmodel " + q(qwen) + " --arch qwen2moe --expert-ffn 32 --shared-expert-ffn 64");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  f = io::open_model_file(qwen);
  EXPECT_EQ(f.meta.get_int("qwen2moe.expert_count"), 8);
  EXPECT_EQ(f.meta.get_int("qwen2moe.expert_feed_forward_length"), 32);
  EXPECT_EQ(f.meta.get_int("qwen2moe.expert_shared_feed_forward_length"), 64);
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down_shexp.weight")->ne, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(f.find_tensor("blk.0.ffn_gate_inp_shexp.weight")->ne, (std::vector<int64_t>{64}));
  EXPECT_EQ(run_tessera("run -m " + q(qwen) + " -p 'abc' -n 5 --temp 0").exit_code, 0);
}

TEST(CliMkmodel, BadArguments) {
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --experts 4 --experts-used 5"), 2, {"5 experts per token of 4"});
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --arch qwen2 --experts 4"), 2, {"'qwen2' has no experts"});
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --experts 4 --expert-ffn 32"), 2, {"feed-forward dim (--ffn)"});
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --preset nope"), 2, {"nope", "tinyllama-1.1b"});
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --type q7"), 2, {"q7"});
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --dim 100 --heads 3"), 1, {"multiple of heads"});
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --type q4_0 --dim 48 --heads 4 --kv-heads 2"), 1, {"Q4_0"});
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --arch qwen2 --window 64"), 1, {"qwen2", "no sliding window"});
}

// tessera embed on the committed tiny BERT: JSON with one unit-length vector
// per line of text, the flags of llama-embedding, and one-line errors.
const std::string kBert = std::string(TESSERA_SOURCE_DIR) + "/tests/data/families/bert-tiny.gguf";

std::vector<std::vector<float>> embeddings_of(const test::CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::vector<float>> out;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("data")) {
    ADD_FAILURE() << r.out;
    return out;
  }
  EXPECT_EQ(j["object"], "list");
  for (const auto& e : j["data"]) {
    EXPECT_EQ(e["index"], out.size());
    out.push_back(e["embedding"].get<std::vector<float>>());
  }
  return out;
}

double l2(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

TEST(CliEmbed, PrintsUnitVectorsAsJson) {
  const auto one = embeddings_of(run_tessera("embed -m " + q(kBert) + " -p 'hello world' -t 1"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].size(), 64u);
  EXPECT_NEAR(l2(one[0]), 1.0, 1e-5);
  // Each line a text; the same text, the same vector (whatever else is in the pass and the threads).
  test::TempDir dir;
  test::write_file(dir.file("two.txt"), "the cat\nhello world");
  const auto two = embeddings_of(run_tessera("embed -m " + q(kBert) + " -f " + q(dir.file("two.txt")) + " -t 2"));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1], one[0]);
  EXPECT_NE(two[0], one[0]);
  EXPECT_EQ(embeddings_of(run_tessera("embed -m " + q(kBert) + " -p 'the cat|hello world' --embd-separator '|'")), two);
  const auto raw = embeddings_of(run_tessera("embed -m " + q(kBert) + " -p 'hello world' --embd-normalize -1"));
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_GT(std::fabs(l2(raw[0]) - 1.0), 1e-3);
  for (size_t i = 0; i < raw[0].size(); ++i) EXPECT_NEAR(raw[0][i] / l2(raw[0]), one[0][i], 1e-6);
  const auto cls = embeddings_of(run_tessera("embed -m " + q(kBert) + " -p 'hello world' --pooling cls"));
  ASSERT_EQ(cls.size(), 1u);
  EXPECT_NE(cls[0], one[0]);
}

TEST(CliEmbed, BadInput) {
  test::TempDir dir;
  std::string words;
  for (int i = 0; i < 300; ++i) words += "ab ";
  test::write_file(dir.file("long.txt"), words);
  expect_failure(run_tessera("embed -m " + q(kBert) + " -f " + q(dir.file("long.txt"))), 1,
                 {"input 0 has 302 tokens, more than the model's 256 positions"});
  expect_failure(run_tessera("embed -m " + q(kBert) + " -p x --pooling max"), 2, {"--pooling"});
  expect_failure(run_tessera("embed -m " + q(kBert)), 2, {"-p or -f"});
  const std::string demo = std::string(TESSERA_SOURCE_DIR) + "/models/tessera-demo.gguf";
  expect_failure(run_tessera("embed -m " + q(demo) + " -p x"), 1, {"not an embedding model"});
  expect_failure(run_tessera("run -m " + q(kBert) + " -p x -n 2"), 1, {"bert-tiny.gguf", "embedding model"});
}

TEST(CliQuantize, QuantizedModelRuns) {
  TESSERA_REQUIRE_TESTDATA(src, "gguf/stories260K-f32.gguf");
  test::TempDir dir;
  const std::string out = dir.file("q4.gguf");
  auto r = run_tessera("quantize " + q(src) + " " + q(out) + " q4_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(io::open_model_file(out).find_tensor("blk.0.attn_q.weight")->type, DType::Q4_0);
  EXPECT_EQ(run_tessera("run -m " + q(out) + " -n 8 --temp 0").exit_code, 0);
  expect_failure(run_tessera("quantize " + q(src) + " " + q(out)), 2, {"type"});
}

// llama-quantize's mixture names, any case; the model comes from mkmodel (256-wide
// rows, 8 layers: use_more_bits picks layers 0, 3, 6, 7).
TEST(CliQuantize, MixturesQ4_K_MAndQ4_K_S) {
  test::TempDir dir;
  const std::string f32 = dir.file("f32.gguf"), m = dir.file("q4_k_m.gguf"), s = dir.file("q4_k_s.gguf");
  ASSERT_EQ(run_tessera("mkmodel " + q(f32) + " --dim 256 --ffn 512 --layers 8").exit_code, 0);
  auto r = run_tessera("quantize " + q(f32) + " " + q(m) + " Q4_K_M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto fm = io::open_model_file(m);
  EXPECT_EQ(fm.meta.get_int("general.file_type"), 15);
  EXPECT_EQ(fm.find_tensor("output.weight")->type, DType::Q6_K);
  EXPECT_EQ(fm.find_tensor("blk.3.attn_v.weight")->type, DType::Q6_K);
  EXPECT_EQ(fm.find_tensor("blk.4.attn_v.weight")->type, DType::Q4_K);
  EXPECT_EQ(fm.find_tensor("blk.4.attn_q.weight")->type, DType::Q4_K);
  EXPECT_EQ(run_tessera("run -m " + q(m) + " -p abc -n 4 --temp 0").exit_code, 0);

  r = run_tessera("convert " + q(f32) + " " + q(s) + " --type q4_k_s");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto fs = io::open_model_file(s);
  EXPECT_EQ(fs.meta.get_int("general.file_type"), 14);
  EXPECT_EQ(fs.find_tensor("blk.3.attn_v.weight")->type, DType::Q5_K);
  EXPECT_EQ(fs.find_tensor("blk.4.attn_v.weight")->type, DType::Q4_K);

  expect_failure(run_tessera("quantize " + q(f32) + " " + q(m) + " q4_k_l"), 2, {"q4_k_l", "q4_k_s, q4_k_m"});
}

TEST(CliMkmodel, MixtureType) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  auto r = run_tessera("mkmodel " + q(out) + " --type q4_k_m --dim 256 --ffn 512 --layers 8 --tied");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto f = io::open_model_file(out);
  EXPECT_EQ(f.meta.get_int("general.file_type"), 15);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::Q6_K);  // tied: quantised as the output
  EXPECT_EQ(f.find_tensor("blk.7.ffn_down.weight")->type, DType::Q6_K);
  EXPECT_EQ(f.find_tensor("blk.5.ffn_down.weight")->type, DType::Q4_K);
  EXPECT_EQ(run_tessera("run -m " + q(out) + " -p abc -n 4 --temp 0").exit_code, 0);
  expect_failure(run_tessera("mkmodel /tmp/x.gguf --type q4_k_x"), 2, {"q4_k_x", "q4_k_s, q4_k_m"});
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(CliBench, JsonHasLlamaBenchFields) {
  test::TempDir dir;
  const std::string model = dir.file("m.gguf");
  ASSERT_EQ(run_tessera("mkmodel " + q(model)).exit_code, 0);
  auto r = run_tessera("bench -m " + q(model) + " -p 8 -n 4 -t 1,2 -r 2 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u);  // (pp8, tg4) x (1, 2 threads)
  for (const auto& e : j) {
    for (const char* key : {"n_prompt", "n_gen", "n_threads", "avg_ts", "stddev_ts", "model_size", "model_n_params",
                            "model_filename", "samples_ts", "avg_ns"})
      EXPECT_TRUE(e.contains(key)) << key;
    EXPECT_GT(e["avg_ts"].get<double>(), 0);
    EXPECT_EQ(e["samples_ts"].size(), 2u);
    uint64_t params = 0;
    for (const auto& t : io::open_model_file(model).tensors) params += static_cast<uint64_t>(t.n_elements());
    EXPECT_EQ(e["model_n_params"].get<uint64_t>(), params);
  }
  EXPECT_EQ(j[0]["n_prompt"], 8);
  EXPECT_EQ(j[0]["n_gen"], 0);
  EXPECT_EQ(j[1]["n_gen"], 4);
  EXPECT_EQ(j[3]["n_threads"], 2);
  EXPECT_EQ(j[0]["type_k"], "f16");  // the default cache, as llama-bench's
  EXPECT_EQ(j[0]["type_v"], "f16");
}

// -ctk/-ctv lists run every combination, reported in llama-bench's type_k/type_v.
TEST(CliBench, CacheTypesAreTestParameters) {
  test::TempDir dir;
  const std::string model = dir.file("m.gguf");  // heads of 32: q8_0 fits
  ASSERT_EQ(run_tessera("mkmodel " + q(model) + " --dim 64 --heads 2 --kv-heads 1").exit_code, 0);
  auto r = run_tessera("bench -m " + q(model) + " -p 40 -n 0 -t 1 -r 1 -ctk f16,q8_0 -ctv f32,q8_0 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u);
  std::vector<std::pair<std::string, std::string>> types;
  for (const auto& e : j) types.emplace_back(e["type_k"], e["type_v"]);
  EXPECT_EQ(types, (std::vector<std::pair<std::string, std::string>>{
                       {"f16", "f32"}, {"f16", "q8_0"}, {"q8_0", "f32"}, {"q8_0", "q8_0"}}));
  r = run_tessera("bench -m " + q(model) + " -p 8 -n 0 -t 1 -r 1 -ctk q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| type_k | type_v |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| q8_0 | f16 | pp8 |"), std::string::npos) << r.out;
}

TEST(CliBench, MarkdownTableAndBadArguments) {
  test::TempDir dir;
  const std::string model = dir.file("m.gguf");
  ASSERT_EQ(run_tessera("mkmodel " + q(model)).exit_code, 0);
  auto r = run_tessera("bench -m " + q(model) + " -p 16 -n 0 -t 1 -r 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| pp16 |"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("tg"), std::string::npos) << r.out;
  expect_failure(run_tessera("bench -m " + q(model) + " -t 0"), 2, {"--threads"});
  expect_failure(run_tessera("bench -m " + q(model) + " -o xml"), 2, {"-o"});
  expect_failure(run_tessera("bench -m /nonexistent.gguf -p 4 -n 0"), 1, {"/nonexistent.gguf"});
}

// --roofline judges a tg test against the read bandwidth measured beside it:
// its fraction is the weights streamed per second over that bandwidth, both in
// the record. Without tests it reports the machine alone, and needs no model.
TEST(CliBench, RooflineJudgesDecodeAgainstItsOwnBandwidth) {
  test::TempDir dir;
  const std::string model = dir.file("m.gguf");
  ASSERT_EQ(run_tessera("mkmodel " + q(model)).exit_code, 0);
  auto r = run_tessera("bench --roofline -m " + q(model) + " -p 0 -n 4 -t 1 -r 2 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  // Streamed per token: every matrix, but the embedding table only when it is also the output.
  const io::ModelFile file = io::open_model_file(model);
  const bool tied = file.find_tensor("output.weight") == nullptr;
  uint64_t bytes = 0;
  for (const auto& t : file.tensors)
    if (t.ne.size() == 2 && (tied || t.name != "token_embd.weight")) bytes += t.nbytes;
  const double gbps = j[0]["roofline_read_gbps"].get<double>();
  ASSERT_GT(gbps, 0);
  EXPECT_NEAR(j[0]["roofline_fraction"].get<double>(),
              static_cast<double>(bytes) * j[0]["median_ts"].get<double>() / 1e9 / gbps, 1e-9);

  r = run_tessera("bench --roofline -p 0 -n 0 -t 1 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["n_threads"], 1);
  EXPECT_GT(j[0]["roofline_read_gbps"].get<double>(), 0);
  EXPECT_GT(j[0]["roofline_fma_gflops"].get<double>(), 0);
  expect_failure(run_tessera("bench -p 0 -n 0"), 2, {"-m"});
  expect_failure(run_tessera("bench --roofline -n 4"), 2, {"-m"});
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(CliDefaultModel, RepeatedRunOptionTakesTheLastValue) {
  auto a = run_tessera("run -p 'The economy of' -n 30 -n 6 --temp 0");
  auto b = run_tessera("run -p 'The economy of' -n 6 --temp 0");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.err.find("/     6 tokens"), std::string::npos) << a.err;
}

TEST(CliDefaultModel, RunWithoutModelUsesTheBundledOne) {
  auto r = run_tessera("run -p 'The economy of' -n 12 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("The economy of", 0), 0u) << r.out;
  EXPECT_GT(r.out.size(), std::string("The economy of\n").size());
  // TESSERA_MODEL overrides the default.
  auto env = test::run_tessera_env("TESSERA_MODEL=/nonexistent/env-model.gguf", "run -n 2");
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find("/nonexistent/env-model.gguf"), std::string::npos) << env.err;
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// batched-bench: llama-batched-bench's rows (PP x TG x B) with its JSONL
// fields and their arithmetic (N_KV, speeds from times); -pps forks one prompt.
TEST(CliBatchedBench, JsonlRowsHaveLlamaBatchedBenchFields) {
  test::TempDir dir;
  const std::string model = dir.file("m.gguf");
  ASSERT_EQ(run_tessera("mkmodel " + q(model)).exit_code, 0);
  for (bool shared : {false, true}) {
    auto r = run_tessera("batched-bench -m " + q(model) + " -npp 40,8 -ntg 3 -npl 1,3 -t 2 --output-format jsonl" +
                         (shared ? " -pps" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    std::vector<nlohmann::json> rows;
    while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(rows.size(), 4u);  // (40, 8) x (1, 3)
    for (const auto& j : rows) {
      for (const char* key : {"pp", "tg", "pl", "n_kv", "t_pp", "speed_pp", "t_tg", "speed_tg", "t", "speed",
                              "is_pp_shared", "n_batch", "n_threads", "n_kv_max"})
        EXPECT_TRUE(j.contains(key)) << key;
      const int64_t pp = j["pp"], tg = j["tg"], pl = j["pl"];
      EXPECT_EQ(j["n_kv"].get<int64_t>(), shared ? pp + pl * tg : pl * (pp + tg));
      EXPECT_EQ(j["is_pp_shared"].get<int>(), shared ? 1 : 0);
      EXPECT_NEAR(j["speed_tg"].get<double>(), double(pl * tg) / j["t_tg"].get<double>(), 1e-6 * j["speed_tg"].get<double>());
      EXPECT_NEAR(j["speed_pp"].get<double>(), double(shared ? pp : pl * pp) / j["t_pp"].get<double>(),
                  1e-6 * j["speed_pp"].get<double>());
      EXPECT_NEAR(j["t"].get<double>(), j["t_pp"].get<double>() + j["t_tg"].get<double>(), 1e-9);
    }
    EXPECT_EQ(rows[1]["pl"], 3);
    EXPECT_EQ(rows[2]["pp"], 8);
  }
  auto r = run_tessera("batched-bench -m " + q(model) + " -npp 16 -ntg 2 -npl 2 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("|    PP |     TG |    B |   N_KV |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("|    16 |      2 |    2 |     36 |"), std::string::npos) << r.out;
}

TEST(CliBatchedBench, BadArguments) {
  expect_failure(run_tessera("batched-bench -m x.gguf -npl 0"), 2, {"-npl"});
  expect_failure(run_tessera("batched-bench -m x.gguf --output-format csv"), 2, {"md or jsonl"});
  expect_failure(run_tessera("batched-bench -m x.gguf -npp 8,abc"), 2, {"abc"});
  test::TempDir dir;
  const std::string model = dir.file("m.gguf");
  ASSERT_EQ(run_tessera("mkmodel " + q(model)).exit_code, 0);
  // A pool too small for a row skips it and says why; none left is not an error.
  auto r = run_tessera("batched-bench -m " + q(model) + " -npp 64 -ntg 4 -npl 4 -c 100 -t 1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("needs 272 KV positions, the pool has 100"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tessera
