// Continuous batching: requests served together produce what each would alone
// (the engine is batch-invariant, so greedy and seeded choices are exact), n
// choices equal single requests with seeds seed + i, cancellation frees the
// blocks, and requests that can never run are refused up front.
#include "tessera/service.h"

#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

struct Result {
  std::vector<std::string> text;
  std::vector<std::string> reason;
  GenerationUsage usage;
};

Result collect(GenerationStream& s, int n) {
  Result r{std::vector<std::string>(static_cast<size_t>(n)), std::vector<std::string>(static_cast<size_t>(n)), {}};
  GenerationEvent e;
  while (s.next(e, std::chrono::seconds(60))) {
    r.text[static_cast<size_t>(e.index)] += e.text;
    if (e.finished) r.reason[static_cast<size_t>(e.index)] = e.finish_reason;
  }
  r.usage = s.usage();
  return r;
}

// The same generation by hand on a private engine: sample, feed, repeat.
std::string alone(const LoadedModel& m, const std::vector<int32_t>& prompt, const SamplingOptions& sampling,
                  int64_t max_tokens) {
  EngineOptions eo;
  eo.n_ctx = 256;
  eo.n_threads = 1;
  auto e = m.new_engine(eo);
  const SequenceId s = e->add_sequence(sampling);
  e->eval(s, prompt);
  std::string text;
  for (int64_t i = 0; i < max_tokens; ++i) {
    const int32_t t = e->sample(s);
    if (m.is_end_of_generation(t)) break;
    text += m.token_piece(t);
    e->eval(s, {t});
  }
  return text;
}

class ServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    test::make_tiny_model({}).write(dir_.file("tiny.gguf"));
    model_ = LoadedModel::open(dir_.file("tiny.gguf"));
  }
  ServiceOptions options(int max_sequences) const {
    ServiceOptions o;
    o.engine.n_ctx = 256;
    o.engine.n_batch = 32;  // prompts go in chunks beside running decodes
    o.engine.n_threads = 2;
    o.engine.kv_tokens = 4096;
    o.max_sequences = max_sequences;
    return o;
  }
  static std::vector<int32_t> prompt(int n, int seed) {
    std::vector<int32_t> p;
    for (int i = 0; i < n; ++i) p.push_back(1 + (i * 31 + seed * 17) % 290);
    return p;
  }
  test::TempDir dir_;
  std::unique_ptr<LoadedModel> model_;
};

TEST_F(ServiceTest, ConcurrentRequestsGiveWhatEachGivesAlone) {
  GenerationService service(*model_, options(3));  // 6 requests, 3 at a time: some wait in the queue
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 6; ++i) {
    GenerationRequest r;
    r.prompt = prompt(5 + 23 * i, i);
    r.sampling.temperature = i % 2 ? 0.9f : 0.0f;
    r.sampling.seed = static_cast<uint64_t>(100 + i);
    r.max_tokens = 12 + i;
    requests.push_back(r);
  }
  std::vector<std::shared_ptr<GenerationStream>> streams;
  for (const auto& r : requests) streams.push_back(service.submit(r));
  for (size_t i = 0; i < requests.size(); ++i) {
    const Result got = collect(*streams[i], 1);
    EXPECT_EQ(got.text[0], alone(*model_, requests[i].prompt, requests[i].sampling, requests[i].max_tokens)) << i;
    EXPECT_TRUE(got.reason[0] == "length" || got.reason[0] == "stop") << got.reason[0];
    EXPECT_EQ(got.usage.prompt_tokens, static_cast<int64_t>(requests[i].prompt.size()));
    EXPECT_GT(got.usage.completion_tokens, 0);
  }
  const ServiceStats st = service.stats();
  EXPECT_EQ(st.requests, 6);
  EXPECT_EQ(st.kv_pool.used, 0);
}

TEST_F(ServiceTest, ChoicesAreForksWithSeedPlusIndex) {
  GenerationService service(*model_, options(4));
  GenerationRequest r;
  r.prompt = prompt(40, 9);
  r.sampling.temperature = 1.0f;
  r.sampling.seed = 7;
  r.max_tokens = 10;
  r.n = 3;
  const Result got = collect(*service.submit(r), 3);
  for (int i = 0; i < 3; ++i) {
    SamplingOptions s = r.sampling;
    s.seed += static_cast<uint64_t>(i);
    EXPECT_EQ(got.text[static_cast<size_t>(i)], alone(*model_, r.prompt, s, r.max_tokens)) << "choice " << i;
  }
  // A second request with the same prompt reuses its full blocks.
  r.n = 1;
  const Result again = collect(*service.submit(r), 1);
  EXPECT_EQ(again.usage.cached_tokens, 32);
  EXPECT_EQ(again.text[0], got.text[0]);
}

TEST_F(ServiceTest, CancelFreesTheSequence) {
  GenerationService service(*model_, options(2));
  GenerationRequest r;
  r.prompt = prompt(10, 1);
  r.max_tokens = -1;  // would run to the end of the context
  r.sampling.temperature = 0.5f;
  auto stream = service.submit(r);
  GenerationEvent e;
  ASSERT_TRUE(stream->next(e, std::chrono::seconds(30)));
  stream->cancel();
  std::string reason;
  while (stream->next(e, std::chrono::seconds(30)))
    if (e.finished) reason = e.finish_reason;
  EXPECT_TRUE(reason == "cancelled" || reason == "stop") << reason;  // or it ended on its own first
  for (int i = 0; i < 100 && service.stats().kv_pool.used > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(service.stats().kv_pool.used, 0);
}

TEST_F(ServiceTest, RefusesRequestsThatCannotRun) {
  GenerationService service(*model_, options(2));
  GenerationRequest r;
  EXPECT_THROW(service.submit(r), UsageError);  // empty prompt
  r.prompt = prompt(256, 1);
  EXPECT_THROW(service.submit(r), UsageError);  // no room left to generate
  r.prompt = prompt(10, 1);
  r.n = 3;
  EXPECT_THROW(service.submit(r), UsageError);  // more choices than sequences at once
  r.n = 1;
  r.sampling.top_p = 0;
  EXPECT_THROW(service.submit(r), UsageError);
  r.sampling.top_p = 1;
  r.prompt = {1, 300};
  EXPECT_THROW(service.submit(r), UsageError);  // outside the vocabulary
}

}  // namespace
}  // namespace tessera
