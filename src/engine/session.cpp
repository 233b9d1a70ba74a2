#include "engine/session.h"

#include <algorithm>

#include "core/error.h"

namespace tessera::engine {
namespace {

int64_t context_size(const model::ModelConfig& c, int64_t requested) {
  if (requested < 0) fail("context size must be positive (got {})", requested);
  return requested > 0 ? requested : std::min(c.n_ctx_train, SessionOptions::kDefaultMaxContext);
}

// The cache types, checked against the model with the command-line options named.
model::KvCacheTypes cache_types(const model::ModelConfig& c, const model::KvCacheTypes& types) {
  const std::pair<DType, const char*> checks[] = {{types.k, "-ctk/--cache-type-k"}, {types.v, "-ctv/--cache-type-v"}};
  for (const auto& [type, option] : checks) {
    if (type != DType::F32 && type != DType::F16 && type != DType::Q8_0)
      throw UsageError(fmt::format("{} {}: the KV cache holds f32, f16 or q8_0", option, dtype_name(type)));
    if (type == DType::Q8_0 && c.head_dim % 32 != 0)
      throw UsageError(fmt::format("{} q8_0 needs a head size that is a multiple of 32; this model's is {} "
                                   "(use f16 or f32)",
                                   option, c.head_dim));
  }
  return types;
}

}  // namespace

Session::Session(const model::Model& model, const SessionOptions& options)
    : model_(model),
      pool_(options.n_threads > 0 ? options.n_threads : default_thread_count()),
      cache_(model.make_cache(context_size(model.config(), options.n_ctx),
                              cache_types(model.config(), options.cache_types))),
      buffers_(model.config(), std::max<int64_t>(1, options.n_batch)),
      logits_(static_cast<size_t>(model.config().n_vocab)) {}

void Session::check_fits(int64_t n) const {
  if (n_past_ + n > cache_.capacity())
    fail("{} tokens do not fit in the context: {} of {} positions are used (enlarge it with -c/--ctx-size)", n,
         n_past_, cache_.capacity());
}

const float* Session::eval(const int32_t* tokens, int64_t n) {
  if (n <= 0) fail("nothing to evaluate: no tokens");
  check_fits(n);
  for (int64_t i = 0; i < n; i += buffers_.max_batch) {
    const int64_t chunk = std::min(buffers_.max_batch, n - i);
    model_.forward(pool_, cache_, buffers_, tokens + i, chunk, n_past_, logits_.data());
    n_past_ += chunk;
  }
  return logits_.data();
}

void Session::eval_all_logits(const int32_t* tokens, int64_t n, float* out) {
  if (n <= 0) fail("nothing to evaluate: no tokens");
  check_fits(n);
  const int64_t n_vocab = model_.config().n_vocab;
  for (int64_t i = 0; i < n; i += buffers_.max_batch) {
    const int64_t chunk = std::min(buffers_.max_batch, n - i);
    model_.forward(pool_, cache_, buffers_, tokens + i, chunk, n_past_, out + i * n_vocab, true);
    n_past_ += chunk;
  }
}

}  // namespace tessera::engine
