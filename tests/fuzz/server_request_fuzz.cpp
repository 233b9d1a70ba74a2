// Fuzz target: a request body through `tessera serve`'s parsing
// (tools/openai_api.cpp) on the demo model's vocabulary. The first byte picks the
// endpoint (odd: /v1/chat/completions, even: /v1/completions; the seeds use 'c'
// and 'p'), the rest is the body. Only ApiError with a 4xx status may come out
// (anything else would be a 500), its error object must serialise, and an
// accepted request must be one the GenerationService can run: prompt ids in the
// vocabulary and shorter than n_ctx, max_tokens within the room left, n and the
// sampling values in range.
#include <cmath>
#include <memory>
#include <string>

#include "fuzz_util.h"
#include "openai_api.h"
#include "tessera/tessera.h"

using namespace tessera;
using namespace tessera::cli;

namespace {

constexpr int64_t kCtx = 64;  // the per-sequence context the requests are checked against

const LoadedModel& demo_model() {
  static const std::unique_ptr<LoadedModel> model =
      LoadedModel::open(std::string(TESSERA_SOURCE_DIR) + "/models/tessera-demo.gguf");
  return *model;
}

void check_accepted(const ParsedRequest& r, int32_t n_vocab) {
  const GenerationRequest& g = r.generation;
  FUZZ_CHECK(!g.prompt.empty() && static_cast<int64_t>(g.prompt.size()) < kCtx);
  for (int32_t id : g.prompt) FUZZ_CHECK(id >= 0 && id < n_vocab);
  FUZZ_CHECK(g.max_tokens >= 1 && g.max_tokens <= kCtx - static_cast<int64_t>(g.prompt.size()));
  FUZZ_CHECK(g.n >= 1 && g.n <= 128);
  const SamplingOptions& s = g.sampling;
  FUZZ_CHECK(s.temperature >= 0 && s.temperature <= 2);
  FUZZ_CHECK(s.top_p > 0 && s.top_p <= 1);
  FUZZ_CHECK(s.min_p >= 0 && s.min_p < 1);
  FUZZ_CHECK(s.repeat_penalty > 0 && std::isfinite(s.repeat_penalty));
  FUZZ_CHECK(s.top_k >= 0);
  FUZZ_CHECK(g.stop.size() <= 16);
  for (const std::string& stop : g.stop) FUZZ_CHECK(stop.size() <= kMaxStopBytes);
  GenerationUsage u;
  u.prompt_tokens = static_cast<int64_t>(g.prompt.size());
  (void)to_text(usage_json(u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const LoadedModel& model = demo_model();
  static const int32_t n_vocab = model.summary().n_vocab;
  const bool chat = data[0] & 1;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const nlohmann::json j = parse_body(body);
    check_accepted(chat ? parse_chat(j, model, kCtx) : parse_completion(j, model, kCtx), n_vocab);
  } catch (const ApiError& e) {
    FUZZ_CHECK(e.status >= 400 && e.status < 500);
    (void)to_text(error_body(e.what(), e.type, e.param));  // what the server sends must serialise
  }
  return 0;
}
