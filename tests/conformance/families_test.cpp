// Every model family against a peer: tiny random-weight GGUF files written by
// `tessera mkmodel --arch` (tests/data/families), and what llama.cpp or
// ik_llama.cpp computed on those very files (FILE.ref.json, made by
// tests/families/make_references.py; the peer and its command are in the file).
//
// Checked per prompt: the tokenizer's ids for the text, the greedy ids, and at
// every generated position the top-5 log-probabilities (log-softmax of all
// logits). The greedy choice skips the ids the peer was told never to pick
// (banned_ids: byte tokens that are part of a character, which its server
// cannot report one by one, and control tokens, at which it stops).
//
// Both engines compute in float32 with the same KV cache type (F32 unless the
// reference says otherwise), so they differ only by the order of float
// additions: over dot products of 64-96 terms and a 320-way softmax that is a
// few 1e-6 relative, i.e. well under 1e-5 on these log-probabilities
// (|lp| < 10); kLogprobTolerance = 1e-4 leaves a 10x margin, while a real fault
// (a missed bias or norm, a wrong rope pairing) moves them by 1e-2 or more.
// GPT-2 is the exception: the peer's GELU reads a table indexed by the input
// rounded to fp16 and returns an fp16 value (ggml-cpu.c, GGML_GELU_FP16), a
// relative error up to 2^-11 on every hidden activation; measured up to 1.1e-3
// on these log-probabilities, so GPT-2 (and Gemma 2, whose GeGLU uses the same
// GELU) gets 3e-3 (measured 2.0e-3 on Gemma 2).
//
// mixtral is llama with experts (llama.expert_count 4, 2 per token); experts
// add no float operation of another kind (a softmax over 4 router logits, and a
// weighted sum of 2 expert outputs), so the same tolerance holds; a different
// top-k choice would move log-probabilities by far more than it.
//
// qwen3 and gemma3 come from ik_llama.cpp (llama.cpp c392e5094 predates them).
// Its server's /completion names the top tokens by text only, and its OpenAI
// route (which has the ids) answers HTTP 500 ("invalid UTF-8") when a lone
// continuation byte token is among the top raw log-probabilities, so those
// references hold the probabilities after sampling instead ("logprobs_over":
// "allowed", from /v1/completions with temperature -1): the softmax
// with the banned ids at -inf, which the test computes over the same ids. ik
// runs without flash attention on an F16 cache only, where ggml multiplies the
// cache by q and by the attention weights after rounding those to fp16 (the
// F16 type's vec_dot_type), a relative error up to 2^-11 per element that
// Tessera (float q and weights) does not make: measured up to 6.9e-5 on
// qwen3, so an F16-cache reference gets kF16CacheTolerance = 3e-4 (gemma3,
// whose GELU error dominates, keeps 3e-3; measured 1.1e-4).
// qwen3moe (4 experts, 2 per token) comes from ik_llama.cpp by the same route and
// gets the F16-cache tolerance: its experts add only a 4-way softmax and a
// weighted sum of 2 outputs, as mixtral's.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tessera/tessera.h"
#include "test_util.h"

namespace tessera {
namespace {

using nlohmann::json;

constexpr double kLogprobTolerance = 1e-4;
constexpr double kF16CacheTolerance = 3e-4;
constexpr double kGeluTableTolerance = 3e-3;

const std::string kDir = std::string(TESSERA_SOURCE_DIR) + "/tests/data/families/";

// Log-softmax over the ids `allowed` marks (the others get -inf).
std::vector<double> log_softmax(const float* logits, const std::vector<bool>& allowed) {
  const auto n = allowed.size();
  double mx = -INFINITY, sum = 0;
  for (size_t i = 0; i < n; ++i)
    if (allowed[i]) mx = std::max(mx, static_cast<double>(logits[i]));
  for (size_t i = 0; i < n; ++i)
    if (allowed[i]) sum += std::exp(static_cast<double>(logits[i]) - mx);
  std::vector<double> lp(n, -INFINITY);
  for (size_t i = 0; i < n; ++i)
    if (allowed[i]) lp[i] = static_cast<double>(logits[i]) - mx - std::log(sum);
  return lp;
}

// models.json's entry of a tiny file (NAME-tiny.gguf): its family is "arch", else NAME.
json model_spec(const std::string& name) { return json::parse(test::read_file(kDir + "models.json"))[name]; }

// NAME-tiny.gguf against its reference NAME-tiny.gguf<ref_suffix>.ref.json,
// with an engine of the context the peer ran with ("n_ctx", else the model's).
void expect_matches_peer(const std::string& name, const std::string& ref_suffix = "") {
  const std::string model_path = kDir + name + "-tiny.gguf";
  const json ref = json::parse(test::read_file(model_path + ref_suffix + ".ref.json"));
  SCOPED_TRACE("reference: " + ref["peer"].get<std::string>() + ", " + ref["command"].get<std::string>());
  const std::string family = model_spec(name).value("arch", name);
  const bool gelu = family == "gpt2" || family == "gemma2" || family == "gemma3";
  const bool f16_cache = ref["cache_type"] == "f16";
  const double tolerance = gelu ? kGeluTableTolerance : f16_cache ? kF16CacheTolerance : kLogprobTolerance;
  auto model = LoadedModel::open(model_path);
  EngineOptions eo;
  eo.cache_type_k = eo.cache_type_v = ref["cache_type"].get<std::string>();
  eo.n_threads = 2;
  eo.n_ctx = ref.value("n_ctx", 0);
  auto engine = model->new_engine(eo);

  const auto banned_ids = ref["banned_ids"].get<std::vector<int32_t>>();
  std::vector<bool> banned(static_cast<size_t>(engine->n_vocab()));
  for (int32_t id : banned_ids) banned[static_cast<size_t>(id)] = true;
  for (int32_t id = 0; id < engine->n_vocab(); ++id)
    if (model->is_end_of_generation(id)) banned[static_cast<size_t>(id)] = true;
  // What the reference's log-probabilities are normalised over: every id, or
  // the ids the peer could pick (see the top of this file).
  const bool over_allowed = ref.value("logprobs_over", "all") == "allowed";
  std::vector<bool> normalised(banned.size(), true);
  if (over_allowed)
    for (size_t id = 0; id < banned.size(); ++id) normalised[id] = !banned[id];

  for (const json& c : ref["cases"]) {
    const std::string text = c["text"];
    SCOPED_TRACE("prompt: " + text);
    const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(model->tokenize(text, true), prompt);

    const SequenceId seq = engine->add_sequence();
    const float* logits = engine->eval(seq, prompt);
    const auto want_ids = c["greedy_ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(want_ids.size(), c["top_logprobs"].size());
    for (size_t pos = 0; pos < want_ids.size(); ++pos) {
      SCOPED_TRACE("generated position " + std::to_string(pos));
      const std::vector<double> lp = log_softmax(logits, normalised);
      const json& top = c["top_logprobs"][pos];
      for (const json& entry : top) {
        const int32_t id = entry[0];
        EXPECT_NEAR(lp[static_cast<size_t>(id)], entry[1].get<double>(), tolerance) << "token " << id;
      }
      // The peer's k-th best is ours too, unless a near-tie makes the order moot.
      std::vector<int32_t> order(lp.size());
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + static_cast<long>(top.size()), order.end(),
                        [&](int32_t a, int32_t b) { return lp[size_t(a)] > lp[size_t(b)] || (lp[size_t(a)] == lp[size_t(b)] && a < b); });
      for (size_t k = 0; k < top.size(); ++k) {
        const int32_t want = top[k][0], got = order[k];
        if (want != got) {
          EXPECT_NEAR(lp[size_t(want)], lp[size_t(got)], 2 * tolerance) << "rank " << k;
        }
      }
      int32_t next = -1;
      for (int32_t id = 0; id < engine->n_vocab(); ++id)
        if (!banned[size_t(id)] && (next < 0 || lp[size_t(id)] > lp[size_t(next)])) next = id;
      ASSERT_EQ(next, want_ids[pos]);
      logits = engine->eval(seq, {next});
    }
    engine->remove(seq);
  }
}

class Family : public testing::TestWithParam<const char*> {};

TEST_P(Family, MatchesPeer) { expect_matches_peer(GetParam()); }

// Phi-3.5's LongRoPE, as llama.cpp picks the factors by the context it runs
// with: the long ones for a context beyond the original 64 positions (the
// reference above, -c 256), the short ones within it (-c 64). The two sets
// differ by up to 8x, so a swapped or ignored set fails by far more than the
// tolerance.
TEST(FamilyLongRope, ShortFactorsWithinTheOriginalContext) { expect_matches_peer("phi3-longrope", ".ctx64"); }

// The committed files are what mkmodel writes today: the references describe
// the files the tool makes, not stale ones.
class FamilyFile : public testing::TestWithParam<const char*> {};

TEST_P(FamilyFile, IsWhatMkmodelWrites) {
  const std::string model_path = kDir + GetParam() + "-tiny.gguf";
  const json spec = model_spec(GetParam());
  RandomModelSpec s;
  s.arch = spec.value("arch", std::string(GetParam()));
  s.preset = spec["preset"];
  s.n_vocab = spec["vocab"];
  s.tied_output = spec["tied"];
  s.seed = spec["seed"];
  s.sliding_window = spec.value("window", 0);
  s.n_layer = spec.value("layers", 0);
  s.n_embd = spec.value("dim", 0);
  s.n_head = spec.value("heads", 0);
  s.n_head_kv = spec.value("kv_heads", 0);
  s.n_ff = spec.value("ffn", 0);
  s.longrope_orig_ctx = spec.value("longrope_orig_ctx", 0);
  s.n_expert = spec.value("experts", 0);
  s.n_expert_used = spec.value("experts_used", 0);
  s.n_ff_exp = spec.value("expert_ffn", 0);
  s.n_ff_shexp = spec.value("shared_expert_ffn", 0);
  test::TempDir dir;
  const std::string made = dir.file("made.gguf");
  make_random_model(made, s);
  EXPECT_TRUE(test::read_file(made) == test::read_file(model_path)) << "mkmodel no longer writes " << model_path;
}

// A test's name from its file's: "phi3-longrope" as phi3_longrope.
std::string test_name(const testing::TestParamInfo<const char*>& i) {
  std::string name = i.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Families, Family,
                         testing::Values("llama", "qwen2", "qwen3", "phi3", "phi3-longrope", "gpt2", "gemma2", "gemma3",
                                         "mixtral", "qwen2moe", "qwen3moe"),
                         test_name);
INSTANTIATE_TEST_SUITE_P(Families, FamilyFile,
                         testing::Values("llama", "qwen2", "qwen3", "phi3", "phi3-longrope", "gpt2", "gemma2", "gemma3",
                                         "bert", "mixtral", "qwen2moe", "qwen3moe"),
                         test_name);

// BERT, an embedding model: the peer's token ids for each text ([CLS] ... [SEP])
// and its mean-pooled, L2-normalised embedding of them. Both compute in
// float32; the peer's GELU goes through its fp16 table (see above), which the
// LayerNorms carry to the unit-length output: measured at most 3.2e-5 per
// component on these texts. kBertTolerance = 2e-4 leaves a 6x margin against
// components of about 1/sqrt(64) = 0.125, which a fault (a norm on the wrong side
// of the residual, causal attention, a missed bias or position) moves by 1e-2 or more.
TEST(FamilyEmbeddings, BertMatchesPeer) {
  constexpr double kBertTolerance = 2e-4;
  const std::string model_path = kDir + "bert-tiny.gguf";
  const json ref = json::parse(test::read_file(model_path + ".ref.json"));
  SCOPED_TRACE("reference: " + ref["peer"].get<std::string>() + ", " + ref["command"].get<std::string>());
  auto model = LoadedModel::open(model_path);
  ASSERT_TRUE(model->is_embedding_model());
  ASSERT_FALSE(ref["cases"].empty());
  for (const json& c : ref["cases"]) {
    const std::string text = c["text"];
    SCOPED_TRACE("text: " + text);
    const auto ids = c["prompt_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(model->tokenize(text, true), ids);
    const auto want = c["embedding"].get<std::vector<double>>();
    const std::vector<float> got = model->embed({ids})[0];
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], kBertTolerance) << "component " << i;
  }
}

}  // namespace
}  // namespace tessera
