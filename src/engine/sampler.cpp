#include "engine/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tessera::engine {

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), penalised_(static_cast<size_t>(n_vocab)), rng_(params.seed) {
  if (n_vocab <= 0) fail("sampler needs a non-empty vocabulary");
  if (!(params.top_p > 0)) fail("top-p must be > 0 (got {})", params.top_p);
  if (params.min_p >= 1) fail("min-p must be < 1 (got {})", params.min_p);
  if (!(params.repeat_penalty > 0)) fail("repeat penalty must be > 0 (got {})", params.repeat_penalty);
  if (std::isnan(params.temperature)) fail("temperature must be a number");
  std::vector<uint8_t> banned(static_cast<size_t>(n_vocab));
  int32_t n_banned = 0;
  for (int32_t id : params.banned_tokens) {
    if (id < 0 || id >= n_vocab) fail("banned token {} is outside the vocabulary (0..{})", id, n_vocab - 1);
    n_banned += banned[static_cast<size_t>(id)] ? 0 : 1;
    banned[static_cast<size_t>(id)] = 1;
  }
  if (n_banned == n_vocab) fail("every token of the vocabulary is banned");
  cand_.reserve(static_cast<size_t>(n_vocab));
}

int32_t Sampler::sample(const float* logits, const std::vector<int32_t>& recent) {
  cand_.clear();
  for (int32_t i = 0; i < n_vocab_; ++i) cand_.push_back({i, logits[i], 0.0f});
  sorted_ = false;
  apply_repeat_penalty(recent);
  for (int32_t id : params_.banned_tokens) cand_[static_cast<size_t>(id)].logit = -INFINITY;

  if (params_.temperature <= 0) {
    // Greedy: first maximum, so ties go to the lowest id.
    auto best = std::max_element(cand_.begin(), cand_.end(),
                                 [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; });
    return best->id;
  }
  keep_top_k();
  keep_top_p();
  keep_min_p();
  compute_probabilities(params_.temperature);
  return draw();
}

void Sampler::apply_repeat_penalty(const std::vector<int32_t>& recent) {
  if (params_.repeat_penalty == 1.0f || params_.repeat_last_n == 0 || recent.empty()) return;
  const size_t n = params_.repeat_last_n < 0 ? recent.size()
                                             : std::min(recent.size(), static_cast<size_t>(params_.repeat_last_n));
  // Each distinct token is penalised once, however often it occurred.
  for (size_t i = recent.size() - n; i < recent.size(); ++i) {
    const int32_t id = recent[i];
    if (id < 0 || id >= n_vocab_ || penalised_[static_cast<size_t>(id)]) continue;
    penalised_[static_cast<size_t>(id)] = 1;
    float& l = cand_[static_cast<size_t>(id)].logit;
    l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
  }
  for (size_t i = recent.size() - n; i < recent.size(); ++i)
    if (recent[i] >= 0 && recent[i] < n_vocab_) penalised_[static_cast<size_t>(recent[i])] = 0;
}

// Ordering by logit, highest first; ties by id so the result does not depend on
// the sort algorithm.
constexpr auto by_logit = [](const auto& a, const auto& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
};

void Sampler::keep_top_k() {
  const auto k = static_cast<size_t>(params_.top_k);
  if (params_.top_k <= 0 || k >= cand_.size()) {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  } else {
    std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(k), cand_.end(),
                      by_logit);
    cand_.resize(k);
  }
  sorted_ = true;
}

// Probabilities of the current candidates at temperature 1 (for top-p / min-p).
void Sampler::compute_probabilities(float temperature) {
  const float max_logit = cand_.front().logit;  // sorted
  double sum = 0;
  for (auto& c : cand_) {
    c.p = std::exp((c.logit - max_logit) / temperature);
    sum += c.p;
  }
  for (auto& c : cand_) c.p = static_cast<float>(c.p / sum);
}

void Sampler::keep_top_p() {
  if (params_.top_p >= 1.0f) return;
  compute_probabilities(1.0f);
  double cum = 0;
  size_t keep = cand_.size();
  for (size_t i = 0; i < cand_.size(); ++i) {
    cum += cand_[i].p;
    if (cum >= params_.top_p) {
      keep = i + 1;
      break;
    }
  }
  cand_.resize(keep);
}

void Sampler::keep_min_p() {
  if (params_.min_p <= 0.0f) return;
  // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p)
  const float threshold = cand_.front().logit + std::log(params_.min_p);
  size_t keep = 1;
  while (keep < cand_.size() && cand_[keep].logit >= threshold) ++keep;
  cand_.resize(keep);
}

int32_t Sampler::draw() {
  // 53 random bits -> uniform in [0, 1); the same seed gives the same draws everywhere.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  double cum = 0;
  for (const auto& c : cand_) {
    cum += c.p;
    if (u < cum) return c.id;
  }
  return cand_.back().id;
}

}  // namespace tessera::engine
