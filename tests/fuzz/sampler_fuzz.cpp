// Fuzz target: the sampler's options and logits. Input: the SamplingParams
// fields as raw bytes (so NaN, infinities, negatives and extremes occur), a
// vocabulary size of 1..512, then logits as raw floats (NaN, +-inf included)
// and recent token ids (some outside the vocabulary). Options the sampler
// refuses must be refused with tessera::Error; every accepted one must give an
// id inside the vocabulary, and the same seed the same ids.
#include <vector>

#include "core/error.h"
#include "engine/sampler.h"
#include "fuzz_util.h"

using namespace tessera;

namespace {

std::vector<int32_t> draw(const engine::SamplingParams& params, int32_t n_vocab, const std::vector<float>& logits,
                          const std::vector<int32_t>& recent) {
  engine::Sampler sampler(params, n_vocab);
  std::vector<int32_t> ids;
  for (int k = 0; k < 4; ++k) {
    ids.push_back(sampler.sample(logits.data(), recent));
    FUZZ_CHECK(ids.back() >= 0 && ids.back() < n_vocab);
  }
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputReader in(data, size);
  engine::SamplingParams p;
  p.temperature = in.take<float>();
  p.top_k = in.take<int32_t>();
  p.top_p = in.take<float>();
  p.min_p = in.take<float>();
  p.repeat_penalty = in.take<float>();
  p.repeat_last_n = in.take<int32_t>();
  p.seed = in.take<uint64_t>();
  const int32_t n_vocab = 1 + in.take<uint16_t>() % 512;
  std::vector<float> logits(static_cast<size_t>(n_vocab));
  for (float& l : logits) l = in.take<float>();
  std::vector<int32_t> recent;
  while (in.size() >= 2) recent.push_back(in.take<int16_t>());

  std::vector<int32_t> first;
  try {
    first = draw(p, n_vocab, logits, recent);
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(draw(p, n_vocab, logits, recent) == first);
  return 0;
}
