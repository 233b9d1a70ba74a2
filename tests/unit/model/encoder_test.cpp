// Embedding models (the `bert` family) on small random files: the pooled
// embedding against a plain double-precision BERT written from the published
// equations (post-norm layers, bidirectional attention, tanh GELU as llama.cpp
// computes it), sequences embedded together equal to each alone, and what is
// refused: text past the learned positions, an empty input, a missing tensor,
// generation from an encoder and embeddings from a generator.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "engine/embeddings.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "io/model_file.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

using Vec = std::vector<double>;

// The reference: the file's F32 tensors read as they are stored.
struct Weights {
  const io::ModelFile& f;
  const float* get(const std::string& name) const {
    const io::TensorInfo* t = f.find_tensor(name);
    EXPECT_TRUE(t && t->type == DType::F32) << name;
    return reinterpret_cast<const float*>(t->data);
  }
  // y = W x + b for W of `rows` rows of x.size() columns.
  Vec affine(const std::string& name, const Vec& x, int64_t rows) const {
    const float* w = get(name + ".weight");
    const float* b = get(name + ".bias");
    Vec y(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      double s = b[r];
      for (size_t c = 0; c < x.size(); ++c) s += static_cast<double>(w[r * static_cast<int64_t>(x.size()) + static_cast<int64_t>(c)]) * x[c];
      y[static_cast<size_t>(r)] = s;
    }
    return y;
  }
  Vec layer_norm(const std::string& name, const Vec& x, double eps) const {
    const float* w = get(name + ".weight");
    const float* b = get(name + ".bias");
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    for (double v : x) var += (v - mean) * (v - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(x.size()) + eps);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) * inv * w[i] + b[i];
    return y;
  }
};

double gelu_tanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
}

enum class Pool { Mean, Cls, Last };

// BERT: x = LN(tok + type0 + pos); per layer x = LN(x + Wo attn(x) + bo),
// x = LN(x + Wd gelu(Wu x + bu) + bd); pooled, L2-normalised.
Vec reference_embedding(const io::ModelFile& f, const model::ModelConfig& c, const std::vector<int32_t>& tokens,
                        Pool pool) {
  const Weights w{f};
  const int64_t d = c.n_embd, n = static_cast<int64_t>(tokens.size()), hd = c.head_dim;
  const int64_t group = c.n_head / c.n_head_kv;
  const double eps = c.norm_eps;
  std::vector<Vec> x(static_cast<size_t>(n), Vec(static_cast<size_t>(d)));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < d; ++i)
      x[t][i] = static_cast<double>(w.get("token_embd.weight")[tokens[t] * d + i]) + w.get("token_types.weight")[i] +
                w.get("position_embd.weight")[t * d + i];
    x[t] = w.layer_norm("token_embd_norm", x[t], eps);
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    std::vector<Vec> q, k, v;
    for (int64_t t = 0; t < n; ++t) {
      q.push_back(w.affine(blk + "attn_q", x[t], c.q_dim()));
      k.push_back(w.affine(blk + "attn_k", x[t], c.kv_dim()));
      v.push_back(w.affine(blk + "attn_v", x[t], c.kv_dim()));
    }
    std::vector<Vec> out(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      Vec attn(static_cast<size_t>(c.q_dim()));
      for (int64_t h = 0; h < c.n_head; ++h) {
        const int64_t kh = h / group;
        Vec s(static_cast<size_t>(n));
        double mx = -INFINITY, z = 0;
        for (int64_t u = 0; u < n; ++u) {  // every position: bidirectional
          double dot = 0;
          for (int64_t i = 0; i < hd; ++i) dot += q[t][h * hd + i] * k[u][kh * hd + i];
          s[u] = dot / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[u]);
        }
        for (double& e : s) z += (e = std::exp(e - mx));
        for (int64_t i = 0; i < hd; ++i) {
          double o = 0;
          for (int64_t u = 0; u < n; ++u) o += s[u] / z * v[u][kh * hd + i];
          attn[h * hd + i] = o;
        }
      }
      Vec y = w.affine(blk + "attn_output", attn, d);
      for (int64_t i = 0; i < d; ++i) y[i] += x[t][i];
      out[t] = w.layer_norm(blk + "attn_output_norm", y, eps);
    }
    for (int64_t t = 0; t < n; ++t) {
      Vec h = w.affine(blk + "ffn_up", out[t], c.n_ff);
      for (double& e : h) e = gelu_tanh(e);
      Vec y = w.affine(blk + "ffn_down", h, d);
      for (int64_t i = 0; i < d; ++i) y[i] += out[t][i];
      x[t] = w.layer_norm(blk + "layer_output_norm", y, eps);
    }
  }
  Vec e(static_cast<size_t>(d));
  if (pool == Pool::Mean) {
    for (const Vec& row : x)
      for (int64_t i = 0; i < d; ++i) e[i] += row[i] / static_cast<double>(n);
  } else {
    e = pool == Pool::Cls ? x.front() : x.back();
  }
  double norm = 0;
  for (double a : e) norm += a * a;
  for (double& a : e) a /= std::sqrt(norm);
  return e;
}

struct Bert {
  test::TempDir dir;
  std::shared_ptr<const io::ModelFile> file;
  std::unique_ptr<model::Model> model;
  explicit Bert(test::TinyModelSpec spec = {}) {
    spec.arch = "bert";
    test::make_tiny_model(spec).write(dir.file("bert.gguf"));
    file = std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("bert.gguf")));
    model = std::make_unique<model::Model>(file);
  }
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& inputs, int threads,
                                        model::Pooling pooling = model::Pooling::Mean, int normalize = 2) const {
    ThreadPool pool(threads);
    return engine::embed(*model, pool, inputs, pooling, normalize);
  }
};

std::vector<int32_t> some_tokens(int n, int salt = 0) {
  std::vector<int32_t> t = {2};  // [CLS]
  for (int i = 1; i < n - 1; ++i) t.push_back(5 + (i * 37 + salt * 11) % 290);
  t.push_back(3);  // [SEP]
  return t;
}

// Float against double: dot products of 64-96 terms through two layers and
// three LayerNorms, on unit-length outputs of 64 values of about 0.12 each.
constexpr double kTolerance = 1e-4;

TEST(Encoder, EmbeddingMatchesPlainReference) {
  const Bert bert;
  const model::ModelConfig& c = bert.model->config();
  EXPECT_EQ(c.pooling, model::Pooling::Mean);  // mkmodel's bert.pooling_type
  ASSERT_EQ(c.n_head_kv, 2);  // grouped-query attention exercised too
  for (int n : {1, 2, 7, 33, 70}) {
    SCOPED_TRACE(std::to_string(n) + " tokens");
    const auto tokens = some_tokens(std::max(n, 2)), input = n == 1 ? std::vector<int32_t>{2} : tokens;
    for (auto [pooling, pool] : {std::pair{model::Pooling::Mean, Pool::Mean}, std::pair{model::Pooling::Cls, Pool::Cls},
                                 std::pair{model::Pooling::Last, Pool::Last}}) {
      const Vec want = reference_embedding(*bert.file, c, input, pool);
      const std::vector<float> got = bert.embed({input}, 2, pooling)[0];
      ASSERT_EQ(got.size(), want.size());
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
      EXPECT_LT(worst, kTolerance) << "pooling " << static_cast<int>(pooling);
    }
  }
}

// A sequence's embedding is the same bits alone or among others, at any place
// in the pass, on any number of threads.
TEST(Encoder, InputsDoNotAffectEachOther) {
  const Bert bert;
  const std::vector<std::vector<int32_t>> inputs = {some_tokens(40, 1), some_tokens(3, 2), some_tokens(65, 3),
                                                     some_tokens(9, 4)};
  const auto together = bert.embed(inputs, 3);
  for (size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(together[i], bert.embed({inputs[i]}, 1)[0]) << i;
  const auto reversed = bert.embed({inputs[3], inputs[2], inputs[1], inputs[0]}, 2);
  EXPECT_EQ(reversed[0], together[3]);
  EXPECT_EQ(reversed[3], together[0]);
}

TEST(Encoder, Normalisations) {
  const Bert bert;
  const auto input = some_tokens(12);
  const std::vector<float> raw = bert.embed({input}, 2, model::Pooling::Mean, -1)[0];
  auto scaled = [&](int norm) {
    std::vector<float> v = raw;
    engine::normalize_embedding(v.data(), static_cast<int64_t>(v.size()), norm);
    return v;
  };
  EXPECT_EQ(bert.embed({input}, 2, model::Pooling::Mean, 2)[0], scaled(2));
  double l2 = 0, l1 = 0, mx = 0;
  for (float x : scaled(2)) l2 += double(x) * x;
  for (float x : scaled(1)) l1 += std::fabs(x);
  for (float x : scaled(0)) mx = std::max(mx, std::fabs(double(x)));
  EXPECT_NEAR(l2, 1.0, 1e-6);
  EXPECT_NEAR(l1, 1.0, 1e-6);
  EXPECT_NEAR(mx, 32760.0, 1e-2);
  double l3 = 0;
  for (float x : scaled(3)) l3 += std::pow(std::fabs(double(x)), 3);
  EXPECT_NEAR(l3, 1.0, 1e-6);
}

TEST(Encoder, RefusesWhatItCannotEmbed) {
  using testing::HasSubstr;
  using testing::ThrowsMessage;
  const Bert bert;  // 256 learned positions
  EXPECT_THAT([&] { bert.embed({some_tokens(257)}, 1); },
              ThrowsMessage<Error>(HasSubstr("input 0 has 257 tokens, more than the model's 256 positions")));
  EXPECT_NO_THROW(bert.embed({some_tokens(256)}, 1));
  EXPECT_THAT([&] { bert.embed({some_tokens(4), {}}, 1); }, ThrowsMessage<Error>(HasSubstr("input 1 is empty")));
  EXPECT_THAT([&] { bert.embed({{2, 9999}}, 1); },
              ThrowsMessage<Error>(HasSubstr("token id 9999 is outside the vocabulary")));
  EXPECT_THAT([&] { bert.embed({some_tokens(4)}, 1, model::Pooling::None); },
              ThrowsMessage<Error>(HasSubstr("names no pooling")));
  // An encoder does not generate; a generator does not embed.
  EXPECT_THAT(
      [&] {
        engine::Engine e(*bert.model, test::engine_options(64, 8, 1));
        e.eval(e.add_sequence(), {2, 3});
      },
      ThrowsMessage<Error>(HasSubstr("is an embedding model")));
  test::TempDir dir;
  test::make_tiny_model({}).write(dir.file("llama.gguf"));
  const model::Model llama(std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("llama.gguf"))));
  ThreadPool pool(1);
  EXPECT_THAT([&] { engine::embed(llama, pool, {{1, 2}}, model::Pooling::Mean, 2); },
              ThrowsMessage<Error>(HasSubstr("not an embedding model")));
}

}  // namespace
}  // namespace tessera
