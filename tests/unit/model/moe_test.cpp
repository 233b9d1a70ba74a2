// The mixture-of-experts channel against a plain double-precision evaluation of
// its definition (softmax router, top-k, optional renormalisation, SwiGLU
// experts, sigmoid-gated shared expert), over batches where some experts get
// many tokens and some none, on decode's one token and on 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "model/moe_channel.h"

namespace tessera::model {
namespace {

struct Dense {  // rows x cols, row-major
  int64_t rows, cols;
  std::vector<float> w;
};

Dense random_dense(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(static_cast<float>(cols)));
  Dense d{rows, cols, std::vector<float>(static_cast<size_t>(rows * cols))};
  for (float& x : d.w) x = normal(rng);
  return d;
}

Matrix view(const Dense& d) { return Matrix{DType::F32, d.w.data(), d.rows, d.cols}; }

std::vector<double> times(const Dense& d, const std::vector<double>& x) {
  std::vector<double> y(static_cast<size_t>(d.rows));
  for (int64_t r = 0; r < d.rows; ++r)
    for (int64_t c = 0; c < d.cols; ++c) y[size_t(r)] += double(d.w[size_t(r * d.cols + c)]) * x[size_t(c)];
  return y;
}

std::vector<double> swiglu_ffn(const Dense& gate, const Dense& up, const Dense& down, const std::vector<double>& x) {
  std::vector<double> g = times(gate, x), u = times(up, x);
  for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
  return times(down, g);
}

struct MoeCase {
  int64_t n_embd = 48, n_expert = 8, k = 2, n_ff_exp = 40, n_ff_shexp = 0;
  bool renormalize = true;
};

class MoeModel {
 public:
  explicit MoeModel(const MoeCase& mc) : mc_(mc) {
    std::mt19937 rng(static_cast<uint32_t>(mc.n_expert * 100 + mc.k));
    c_.n_embd = mc.n_embd;
    c_.n_head = c_.n_head_kv = 1;
    c_.head_dim = mc.n_embd;
    c_.n_ff = 16;
    c_.n_expert = mc.n_expert;
    c_.n_expert_used = mc.k;
    c_.n_ff_exp = mc.n_ff_exp;
    c_.n_ff_shexp = mc.n_ff_shexp;
    options_.renormalize = mc.renormalize;
    options_.shared = mc.n_ff_shexp > 0;
    router_ = random_dense(mc.n_expert, mc.n_embd, rng);
    for (int64_t e = 0; e < mc.n_expert; ++e) {
      gate_.push_back(random_dense(mc.n_ff_exp, mc.n_embd, rng));
      up_.push_back(random_dense(mc.n_ff_exp, mc.n_embd, rng));
      down_.push_back(random_dense(mc.n_embd, mc.n_ff_exp, rng));
    }
    w_.router = view(router_);
    for (int64_t e = 0; e < mc.n_expert; ++e) {
      w_.gate.push_back(view(gate_[size_t(e)]));
      w_.up.push_back(view(up_[size_t(e)]));
      w_.down.push_back(view(down_[size_t(e)]));
    }
    if (options_.shared) {
      shared_gate_inp_ = random_dense(1, mc.n_embd, rng);
      shared_gate_ = random_dense(mc.n_ff_shexp, mc.n_embd, rng);
      shared_up_ = random_dense(mc.n_ff_shexp, mc.n_embd, rng);
      shared_down_ = random_dense(mc.n_embd, mc.n_ff_shexp, rng);
      w_.shared_gate_inp = shared_gate_inp_.w.data();
      w_.shared_gate = view(shared_gate_);
      w_.shared_up = view(shared_up_);
      w_.shared_down = view(shared_down_);
    }
  }

  std::vector<float> run(const std::vector<float>& x, int64_t n, int threads) const {
    ThreadPool pool(threads);
    ForwardBuffers buf(c_, n);
    std::copy(x.begin(), x.end(), buf.xn.begin());
    moe_channel(pool, c_, options_, w_, buf, n);
    return std::vector<float>(buf.delta.begin(), buf.delta.begin() + n * c_.n_embd);
  }

  // The definition, in double, one token at a time.
  std::vector<double> reference(const float* xf) const {
    const std::vector<double> x(xf, xf + mc_.n_embd);
    std::vector<double> p = times(router_, x);
    const double mx = *std::max_element(p.begin(), p.end());
    double sum = 0;
    for (double& v : p) sum += (v = std::exp(v - mx));
    for (double& v : p) v /= sum;
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
    double chosen_sum = 0;
    for (int64_t j = 0; j < mc_.k; ++j) chosen_sum += p[size_t(order[size_t(j)])];
    std::vector<double> y(static_cast<size_t>(mc_.n_embd));
    for (int64_t j = 0; j < mc_.k; ++j) {
      const auto e = static_cast<size_t>(order[size_t(j)]);
      const double weight = mc_.renormalize ? p[e] / chosen_sum : p[e];
      const std::vector<double> out = swiglu_ffn(gate_[e], up_[e], down_[e], x);
      for (size_t i = 0; i < y.size(); ++i) y[i] += weight * out[i];
    }
    if (options_.shared) {
      const double g = 1 / (1 + std::exp(-times(shared_gate_inp_, x)[0]));
      const std::vector<double> out = swiglu_ffn(shared_gate_, shared_up_, shared_down_, x);
      for (size_t i = 0; i < y.size(); ++i) y[i] += g * out[i];
    }
    return y;
  }

 private:
  MoeCase mc_;
  ModelConfig c_;
  ExpertOptions options_;
  Dense router_, shared_gate_inp_, shared_gate_, shared_up_, shared_down_;
  std::vector<Dense> gate_, up_, down_;
  ExpertWeights w_;
};

std::vector<float> random_tokens(int64_t n, int64_t n_embd, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * n_embd));
  for (float& v : x) v = normal(rng);
  return x;
}

class MoeChannel : public testing::TestWithParam<MoeCase> {};

TEST_P(MoeChannel, MatchesDefinition) {
  const MoeCase mc = GetParam();
  const MoeModel m(mc);
  for (int64_t n : {1, 3, 37}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(testing::Message() << n << " tokens, " << threads << " threads");
      const std::vector<float> x = random_tokens(n, mc.n_embd, static_cast<uint32_t>(n));
      const std::vector<float> got = m.run(x, n, threads);
      for (int64_t t = 0; t < n; ++t) {
        const std::vector<double> want = m.reference(&x[size_t(t * mc.n_embd)]);
        for (int64_t i = 0; i < mc.n_embd; ++i)  // float sums of <= 48 terms vs double: ~1e-6
          ASSERT_NEAR(got[size_t(t * mc.n_embd + i)], want[size_t(i)], 1e-4) << "token " << t << ", element " << i;
      }
    }
  }
}

// A token's output is the same bits alone as among others (any count, any place).
TEST_P(MoeChannel, TokenAloneOrBatchedIsBitIdentical) {
  const MoeCase mc = GetParam();
  const MoeModel m(mc);
  const int64_t n = 29;
  const std::vector<float> x = random_tokens(n, mc.n_embd, 5);
  const std::vector<float> all = m.run(x, n, 2);
  for (int64_t t : {int64_t{0}, int64_t{13}, n - 1}) {
    const std::vector<float> one(x.begin() + t * mc.n_embd, x.begin() + (t + 1) * mc.n_embd);
    const std::vector<float> alone = m.run(one, 1, 1);
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), all.begin() + t * mc.n_embd)) << "token " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MoeChannel,
                         testing::Values(MoeCase{},                                 // Mixtral-like: 8 experts, top-2, renormalised
                                         MoeCase{48, 8, 5, 24, 0, true},            // more than decode's 4 fused experts
                                         MoeCase{48, 4, 4, 24, 0, true},            // every expert
                                         MoeCase{48, 16, 1, 24, 0, false},          // top-1, most experts idle
                                         MoeCase{48, 6, 3, 24, 56, false}));        // Qwen2-MoE: shared expert, raw weights

TEST(RouteToken, TopKBestFirstLowerIdOnTiesAndRenormalised) {
  float probs[5] = {1.0f, 3.0f, 2.0f, 3.0f, 0.5f};  // logits; softmax in place
  int32_t chosen[3];
  float weight[3];
  route_token(probs, 5, 3, true, chosen, weight);
  EXPECT_EQ(chosen[0], 1);
  EXPECT_EQ(chosen[1], 3);
  EXPECT_EQ(chosen[2], 2);
  EXPECT_NEAR(weight[0] + weight[1] + weight[2], 1.0f, 1e-6f);
  EXPECT_EQ(weight[0], weight[1]);
  const double e = std::exp(1.0);  // exp(3) / (2 exp(3) + exp(2))
  EXPECT_NEAR(weight[0], e / (2 * e + 1), 1e-6);
  float raw[3] = {0.0f, 0.0f, std::log(2.0f)};
  route_token(raw, 3, 1, false, chosen, weight);
  EXPECT_EQ(chosen[0], 2);
  EXPECT_NEAR(weight[0], 0.5f, 1e-6f);
}

}  // namespace
}  // namespace tessera::model
