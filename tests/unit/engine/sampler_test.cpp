#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"

namespace tessera::engine {
namespace {

SamplingParams plain(float temp, uint64_t seed = 1) {
  SamplingParams p;
  p.temperature = temp;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

TEST(Sampler, GreedyPicksHighestLogitLowestIdOnTies) {
  Sampler s(plain(0), 5);
  const float logits[] = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f};
  EXPECT_EQ(s.sample(logits, {}), 1);
}

TEST(Sampler, SameSeedSameSequence) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = std::sin(i * 0.7f) * 2;
  auto run = [&](uint64_t seed) {
    Sampler s(SamplingParams{1.0f, 40, 0.95f, 0.05f, 1.0f, 64, seed, {}}, 50);
    std::vector<int32_t> out;
    for (int i = 0; i < 100; ++i) out.push_back(s.sample(logits.data(), out));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

// With no filters and temperature 1, draws follow softmax(logits).
TEST(Sampler, FrequenciesFollowSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f, 1.5f};
  double z = 0;
  for (float l : logits) z += std::exp(l);
  Sampler s(plain(1.0f, 7), 4);
  std::vector<int> count(4);
  const int n = 200000;
  for (int i = 0; i < n; ++i) count[s.sample(logits.data(), {})]++;
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(count[i] / double(n), std::exp(logits[i]) / z, 0.005) << i;
}

TEST(Sampler, TemperatureSharpens) {
  const std::vector<float> logits = {1.0f, 2.0f};
  Sampler s(plain(0.5f, 3), 2);
  int top = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) top += s.sample(logits.data(), {}) == 1;
  EXPECT_NEAR(top / double(n), 1 / (1 + std::exp(-2.0)), 0.005);  // softmax of logits / 0.5
}

TEST(Sampler, TopKOneIsGreedy) {
  auto p = plain(5.0f);
  p.top_k = 1;
  Sampler s(p, 4);
  const float logits[] = {0.1f, 0.3f, 0.2f, 0.29f};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.sample(logits, {}), 1);
}

TEST(Sampler, TopKRestrictsToKBest) {
  auto p = plain(100.0f);  // nearly uniform over what survives
  p.top_k = 2;
  Sampler s(p, 4);
  const float logits[] = {0.0f, 3.0f, 1.0f, 2.0f};
  for (int i = 0; i < 500; ++i) {
    const int32_t id = s.sample(logits, {});
    EXPECT_TRUE(id == 1 || id == 3) << id;
  }
}

TEST(Sampler, TopPKeepsSmallestNucleus) {
  // probabilities ~ 0.64, 0.24, 0.09, 0.03: top-p 0.8 keeps the first two.
  const std::vector<float> logits = {3.0f, 2.0f, 1.0f, 0.0f};
  auto p = plain(1.0f, 11);
  p.top_p = 0.8f;
  Sampler s(p, 4);
  std::vector<int> count(4);
  for (int i = 0; i < 20000; ++i) count[s.sample(logits.data(), {})]++;
  EXPECT_EQ(count[2] + count[3], 0);
  EXPECT_NEAR(count[0] / 20000.0, std::exp(3.0) / (std::exp(3.0) + std::exp(2.0)), 0.02);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  const std::vector<float> logits = {3.0f, 2.0f, 0.0f};  // p1/p0 = e^-1 = 0.37, p2/p0 = e^-3 = 0.05
  auto p = plain(1.0f, 5);
  p.min_p = 0.1f;
  Sampler s(p, 3);
  for (int i = 0; i < 5000; ++i) EXPECT_NE(s.sample(logits.data(), {}), 2);
}

TEST(Sampler, RepeatPenaltyDemotesRecentTokens) {
  auto p = plain(0);
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 2;
  Sampler s(p, 3);
  const float logits[] = {1.0f, 1.5f, -0.5f};
  EXPECT_EQ(s.sample(logits, {1}), 0);        // 1.5 / 2 < 1.0
  EXPECT_EQ(s.sample(logits, {1, 0, 2}), 1);  // 1 is outside the last 2
  EXPECT_EQ(s.sample(logits, {1, 1, 1}), 0);  // penalised once, not three times: 0.75
}

TEST(Sampler, RejectsBadParameters) {
  auto p = plain(1.0f);
  p.top_p = 0;
  EXPECT_THROW(Sampler(p, 4), Error);
  p = plain(1.0f);
  p.min_p = 1.0f;
  EXPECT_THROW(Sampler(p, 4), Error);
  p = plain(1.0f);
  p.repeat_penalty = 0;
  EXPECT_THROW(Sampler(p, 4), Error);
  EXPECT_THROW(Sampler(plain(1.0f), 0), Error);
}

// Banned tokens are never drawn; the others keep their softmax proportions.
TEST(Sampler, BannedTokensAreNeverDrawn) {
  const std::vector<float> logits = {1.0f, 5.0f, 0.0f, 1.5f};
  SamplingParams greedy = plain(0);
  greedy.banned_tokens = {1};
  EXPECT_EQ(Sampler(greedy, 4).sample(logits.data(), {}), 3);
  SamplingParams p = plain(1.0f, 11);
  p.banned_tokens = {1, 1};
  Sampler s(p, 4);
  std::vector<int> count(4);
  const int n = 100000;
  for (int i = 0; i < n; ++i) count[s.sample(logits.data(), {})]++;
  EXPECT_EQ(count[1], 0);
  const double z = std::exp(1.0) + std::exp(0.0) + std::exp(1.5);
  for (int i : {0, 2, 3}) EXPECT_NEAR(count[i] / double(n), std::exp(logits[i]) / z, 0.006) << i;
  p.banned_tokens = {4};
  EXPECT_THROW(Sampler(p, 4), Error);
  p.banned_tokens = {0, 1, 2, 3};
  EXPECT_THROW(Sampler(p, 4), Error);
}

}  // namespace
}  // namespace tessera::engine
