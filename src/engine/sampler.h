// Picks the next token from logits: repetition penalty, then top-k, top-p, min-p,
// temperature and a seeded draw (the order llama.cpp's default chain uses).
// Temperature <= 0 is greedy: the highest logit, lowest id on ties.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tessera/tessera.h"

namespace tessera::engine {

// The public API's options (tessera/tessera.h): one definition of the fields.
using SamplingParams = SamplingOptions;

class Sampler {
 public:
  Sampler(const SamplingParams& params, int32_t n_vocab);

  // `recent` holds the tokens seen so far (prompt and generated); only the last
  // repeat_last_n are penalised. `logits` has n_vocab entries and is not modified.
  int32_t sample(const float* logits, const std::vector<int32_t>& recent);

  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };
  void apply_repeat_penalty(const std::vector<int32_t>& recent);
  void keep_top_k();
  void keep_top_p();
  void keep_min_p();
  void compute_probabilities(float temperature);
  int32_t draw();

  SamplingParams params_;
  int32_t n_vocab_;
  std::vector<Candidate> cand_;  // reused for every token
  std::vector<uint8_t> penalised_;
  std::mt19937_64 rng_;
  bool sorted_ = false;
};

}  // namespace tessera::engine
