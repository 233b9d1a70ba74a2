// The public API (include/tessera/tessera.h) on top of io, tokenizer, model and engine.
#include <chrono>
#include <optional>

#include "core/error.h"
#include "engine/chat_prompt.h"
#include "engine/embeddings.h"
#include "engine/generator.h"
#include "engine/perplexity.h"
#include "engine/sampler.h"
#include "engine/engine.h"
#include "io/model_file.h"
#include "kernels/dispatch.h"
#include "kernels/roofline.h"
#include "model/kv_storage.h"
#include "model/model.h"
#include "tessera/tessera.h"
#include "tokenizer/tokenizer.h"

namespace tessera {
namespace {

std::string describe_value(const io::MetaValue& v) {
  using io::MetaType;
  switch (v.type) {
    case MetaType::STRING: return v.s.size() > 200 ? "\"" + v.s.substr(0, 200) + "...\"" : "\"" + v.s + "\"";
    case MetaType::F32: return fmt::format("{}", static_cast<float>(v.f));
    case MetaType::F64: return fmt::format("{}", v.f);
    case MetaType::BOOL: return v.i ? "true" : "false";
    case MetaType::U64: return std::to_string(v.u);
    case MetaType::ARRAY: {
      std::string head;
      const size_t shown = 4;
      for (size_t i = 0; i < std::min<size_t>(shown, v.array_size); ++i) {
        if (!head.empty()) head += ", ";
        if (i < v.strings.size()) head += "\"" + v.strings[i] + "\"";
        else if (i < v.ints.size()) head += std::to_string(v.ints[i]);
        else if (i < v.floats.size()) head += fmt::format("{}", v.floats[i]);
      }
      return fmt::format("[{} x {}: {}{}]", v.array_size, io::meta_type_name(v.elem_type), head,
                         v.array_size > shown ? ", ..." : "");
    }
    default: return std::to_string(v.i);
  }
}

const char* stop_reason_name(engine::StopReason r) {
  switch (r) {
    case engine::StopReason::Length: return "length";
    case engine::StopReason::EndOfGeneration: return "end of text";
    case engine::StopReason::ContextFull: return "context full";
    case engine::StopReason::Callback: return "stopped";
  }
  return "?";
}

engine::EngineOptions engine_options(const model::Model& m, const EngineOptions& o) {
  const int64_t head_dim = m.config().head_dim;
  engine::EngineOptions e;
  e.n_ctx = o.n_ctx;
  e.n_batch = o.n_batch;
  e.n_threads = o.n_threads;
  e.kv_tokens = o.kv_tokens;
  e.kv_bytes = o.kv_bytes;
  e.cache_types = {model::kv_cache_type(o.cache_type_k, head_dim, "cache_type_k"),
                   model::kv_cache_type(o.cache_type_v, head_dim, "cache_type_v")};
  e.prefix_cache = o.prefix_cache;
  return e;
}

model::Pooling pooling_named(const std::string& name, model::Pooling model_default) {
  if (name.empty()) return model_default;
  if (name == "mean") return model::Pooling::Mean;
  if (name == "cls") return model::Pooling::Cls;
  if (name == "last") return model::Pooling::Last;
  throw UsageError(fmt::format("pooling '{}' is not one of mean, cls, last", name));
}

MatmulPeak public_peak(kernels::MatmulPeak p) {
  switch (p) {
    case kernels::MatmulPeak::Int8Dot:
      return MatmulPeak::Int8Dot;
    case kernels::MatmulPeak::Bf16Dot:
      return MatmulPeak::Bf16Dot;
    case kernels::MatmulPeak::Fp32Fma:
      break;
  }
  return MatmulPeak::Fp32Fma;
}

}  // namespace

struct LoadedModel::Impl {
  // The model, for generation: refuses a vocabulary-only file and an embedding model.
  const model::Model& generator() const {
    if (!model) fail("{}: no weights loaded", file->path);
    if (model->architecture().output != model::ModelOutput::Logits)
      fail("{}: a '{}' model is an embedding model: it does not generate text (use 'tessera embed' or POST "
           "/v1/embeddings)",
           file->path, model->config().arch);
    return *model;
  }

  std::shared_ptr<const io::ModelFile> file;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<model::Model> model;  // null when opened vocab-only
  std::optional<model::ModelConfig> config;  // hyper-parameters, when the metadata has them
  std::string config_error;                  // why not, otherwise
  std::unique_ptr<engine::ChatPrompt> chat;
  double load_seconds = 0;
};

LoadedModel::LoadedModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LoadedModel::~LoadedModel() = default;

std::unique_ptr<LoadedModel> LoadedModel::open(const std::string& path, const OpenOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->file = std::make_shared<const io::ModelFile>(io::open_model_file(path, options.tokenizer_path));
  impl->tokenizer = Tokenizer::from_metadata(impl->file->meta);
  if (!options.vocab_only) {
    if (impl->file->tensors.empty())
      fail("{}: the file holds no tensors (a vocabulary-only file): it can be used with 'tokenize' and 'info' only",
           path);
    impl->model = std::make_unique<model::Model>(impl->file);
    impl->config = impl->model->config();
    if (impl->model->config().n_vocab != impl->tokenizer->n_vocab())
      fail("{}: the model has {} token embeddings but the tokenizer {} tokens", path, impl->model->config().n_vocab,
           impl->tokenizer->n_vocab());
  }
  if (!impl->config) {
    try {
      impl->config = model::read_model_config(impl->file->meta);
    } catch (const Error& e) {
      impl->config_error = e.what();
    }
  }
  const Tokenizer& tok = *impl->tokenizer;
  impl->chat = std::make_unique<engine::ChatPrompt>(
      impl->file->meta.get_string_opt("tokenizer.chat_template").value_or(""),
      tok.bos_id() >= 0 ? tok.token_text(tok.bos_id()) : "", tok.eos_id() >= 0 ? tok.token_text(tok.eos_id()) : "");
  impl->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::unique_ptr<LoadedModel>(new LoadedModel(std::move(impl)));
}

bool LoadedModel::has_weights() const { return impl_->model != nullptr; }
double LoadedModel::load_seconds() const { return impl_->load_seconds; }

ModelSummary LoadedModel::summary() const {
  const io::ModelFile& f = *impl_->file;
  const Tokenizer& tok = *impl_->tokenizer;
  ModelSummary s;
  s.path = f.path;
  s.format = f.format;
  s.architecture = f.meta.get_string_opt("general.architecture").value_or("");
  s.name = f.meta.get_string_opt("general.name").value_or("");
  for (const auto& [key, value] : f.meta.values) s.metadata.emplace_back(key, describe_value(value));
  s.hyper_parameters_error = impl_->config_error;
  if (impl_->config) {
    const auto& c = *impl_->config;
    auto add = [&](const char* name, auto value) { s.hyper_parameters.emplace_back(name, fmt::format("{}", value)); };
    add("context length (training)", c.n_ctx_train);
    add("embedding dim", c.n_embd);
    add("layers", c.n_layer);
    add("attention heads", c.n_head);
    add("kv heads", c.n_head_kv);
    add("head dim", c.head_dim);
    add("ffn dim", c.n_ff);
    add("vocab size", c.n_vocab);
    add("norm eps", c.norm_eps);
    add("rope dims", c.rope_dim);
    add("rope freq base", c.rope_freq_base);
    add("rope freq scale", c.rope_freq_scale);
    if (c.n_expert > 0) {
      add("experts", c.n_expert);
      add("experts per token", c.n_expert_used);
      add("expert ffn dim", c.n_ff_exp);
      if (c.n_ff_shexp > 0) add("shared expert ffn dim", c.n_ff_shexp);
    }
    s.n_expert = c.n_expert;
    s.n_expert_used = c.n_expert_used;
  }
  s.tokenizer_model = tok.model_name();
  s.tokenizer_pre = tok.pre_name();
  s.n_vocab = tok.n_vocab();
  s.bos_id = tok.bos_id();
  s.eos_id = tok.eos_id();
  for (const auto& t : f.tensors) {
    const MatmulPeak peak = t.ne.size() >= 2 ? public_peak(kernels::matmul_peak(t.type)) : MatmulPeak::None;
    s.tensors.push_back({t.name, std::string(dtype_name(t.type)), t.ne, t.nbytes, peak});
    s.tensor_bytes += t.nbytes;
    s.n_params += static_cast<uint64_t>(t.n_elements());
  }
  s.kernel_isa = kernels::active_isa_name();
  return s;
}

std::vector<int32_t> LoadedModel::tokenize(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->tokenizer->encode(text, add_bos, parse_special);
}
std::string LoadedModel::token_piece(int32_t id) const { return impl_->tokenizer->token_to_piece(id); }
std::string LoadedModel::token_text(int32_t id) const { return impl_->tokenizer->token_text(id); }
bool LoadedModel::is_end_of_generation(int32_t id) const { return impl_->tokenizer->is_end_of_generation(id); }
std::string LoadedModel::detokenize(const std::vector<int32_t>& ids) const { return impl_->tokenizer->decode(ids); }

std::string LoadedModel::chat_template() const { return impl_->chat->model_template(); }
void LoadedModel::set_chat_template(const std::string& source) { impl_->chat->set_template(source); }

std::string LoadedModel::apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  std::vector<chat::Message> m;
  m.reserve(messages.size());
  for (const ChatMessage& x : messages) m.push_back({x.role, x.content});
  return impl_->chat->render(m, add_generation_prompt);
}

std::vector<int32_t> LoadedModel::tokenize_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  const std::string text = apply_chat_template(messages, add_generation_prompt);
  const std::string& bos = impl_->chat->bos_text();
  const bool has_bos = !bos.empty() && text.compare(0, bos.size(), bos) == 0;
  std::vector<int32_t> ids = impl_->tokenizer->encode(text, /*add_bos=*/!has_bos, /*parse_special=*/true);
  const int32_t eos = impl_->tokenizer->eos_id();
  if (ids.size() > 1 && eos >= 0 && ids.back() == eos) ids.pop_back();
  return ids;
}

struct Engine::Impl {
  Impl(const model::Model& model, const engine::EngineOptions& options) : engine(model, options) {}
  engine::Engine engine;
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;
SequenceId Engine::add_sequence(const SamplingOptions& sampling) {
  return impl_->engine.add_sequence(sampling);
}
void Engine::feed(SequenceId id, const std::vector<int32_t>& tokens) { impl_->engine.feed(id, tokens); }
StepStats Engine::step() {
  engine::StepResult r = impl_->engine.step();
  return {r.n_tokens, r.n_sequences, std::move(r.failed)};
}
bool Engine::has_pending() const { return impl_->engine.has_pending(); }
const float* Engine::eval(SequenceId id, const std::vector<int32_t>& tokens) { return impl_->engine.eval(id, tokens); }
const float* Engine::logits(SequenceId id) const { return impl_->engine.logits(id); }
int32_t Engine::sample(SequenceId id) { return impl_->engine.sample(id); }
SequenceId Engine::fork(SequenceId id, const SamplingOptions& sampling) {
  return impl_->engine.fork(id, sampling);
}
void Engine::reset(SequenceId id) { impl_->engine.reset(id); }
void Engine::remove(SequenceId id) { impl_->engine.remove(id); }
SequenceInfo Engine::info(SequenceId id) const {
  engine::SequenceInfo i = impl_->engine.info(id);
  return {i.n_past, i.n_pending, i.cached_tokens, std::move(i.error)};
}
KvPoolStats Engine::kv_pool() const {
  const engine::PoolStats p = impl_->engine.pool_stats();
  return {p.n_blocks, p.block_tokens, p.used, p.cached, p.free, p.prefix_hit_tokens};
}
int64_t Engine::n_ctx() const { return impl_->engine.n_ctx(); }
int64_t Engine::n_batch() const { return impl_->engine.n_batch(); }
int32_t Engine::n_vocab() const { return impl_->engine.n_vocab(); }

std::unique_ptr<Engine> LoadedModel::new_engine(const EngineOptions& o) const {
  const model::Model& m = impl_->generator();
  auto impl = std::make_unique<Engine::Impl>(m, engine_options(m, o));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

bool LoadedModel::is_embedding_model() const {
  return impl_->model && impl_->model->architecture().output == model::ModelOutput::Embeddings;
}

std::vector<std::vector<float>> LoadedModel::embed(const std::vector<std::vector<int32_t>>& inputs,
                                                   const EmbedOptions& o) const {
  if (!impl_->model) fail("{}: no weights loaded", impl_->file->path);
  const model::Pooling pooling = pooling_named(o.pooling, impl_->model->config().pooling);
  ThreadPool pool(o.n_threads > 0 ? o.n_threads : default_thread_count());
  return engine::embed(*impl_->model, pool, inputs, pooling, o.normalize);
}

std::vector<std::string> kv_cache_type_names() {
  return {std::begin(model::kKvCacheTypeNames), std::end(model::kKvCacheTypeNames)};
}

std::vector<std::string> architecture_names() { return model::architecture_names(); }

MachineInfo measure_machine(int n_threads, int repeats) {
  ThreadPool pool(n_threads > 0 ? n_threads : default_thread_count());
  const auto r = kernels::measure_roofline(pool, repeats);
  return MachineInfo{kernels::cpu_brand(), r.isa, r.read_gbps, r.fma_gflops, r.int8_gops, r.bf16_gflops};
}

double measure_read_bandwidth(int n_threads, int repeats) {
  ThreadPool pool(n_threads > 0 ? n_threads : default_thread_count());
  return kernels::measure_read_bandwidth(pool, repeats);
}

double MachineInfo::peak_gops(MatmulPeak peak) const {
  switch (peak) {
    case MatmulPeak::Fp32Fma:
      return fma_gflops;
    case MatmulPeak::Int8Dot:
      return int8_gops;
    case MatmulPeak::Bf16Dot:
      return bf16_gflops;
    case MatmulPeak::None:
      break;
  }
  return 0;
}

PerplexityStats LoadedModel::perplexity(std::string_view text, const PerplexityOptions& o,
                                        const std::function<void(int64_t, int64_t, double)>& on_chunk) const {
  impl_->generator();
  if (o.n_ctx < 2) fail("the context size must be at least 2 (got {})", o.n_ctx);
  const auto t0 = std::chrono::steady_clock::now();
  const Tokenizer& tok = *impl_->tokenizer;
  const std::vector<int32_t> tokens = tok.encode(text, tok.add_bos_default());
  EngineOptions eo;
  eo.n_ctx = o.n_ctx;
  eo.n_batch = std::min(o.n_batch, o.n_ctx);
  eo.n_threads = o.n_threads;
  eo.cache_type_k = o.cache_type_k;
  eo.cache_type_v = o.cache_type_v;
  eo.prefix_cache = false;  // every chunk is scored as computed from its start
  engine::Engine engine(*impl_->model, engine_options(*impl_->model, eo));
  const int32_t bos = tok.add_bos_default() ? tok.bos_id() : -1;
  const auto r = engine::perplexity(engine, tokens, bos, o.max_chunks, on_chunk);
  PerplexityStats stats;
  stats.ppl = r.ppl;
  stats.ppl_error = r.ppl_error;
  stats.n_tokens = static_cast<int64_t>(tokens.size());
  stats.n_chunks = r.n_chunks;
  stats.n_scored = r.n_scored;
  stats.running_ppl = r.running_ppl;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

GenerateStats LoadedModel::generate(std::string_view prompt, const GenerateOptions& o,
                                    const std::function<bool(std::string_view)>& on_text) const {
  impl_->generator();
  const Tokenizer& tok = *impl_->tokenizer;
  engine::Engine engine(*impl_->model, engine_options(*impl_->model, o.engine));
  const engine::SeqId seq = engine.add_sequence(o.sampling);

  GenerateStats stats;
  stats.prompt_tokens = tok.encode(prompt, o.add_bos);
  // After an empty prompt the first piece's leading space is the tokenizer's
  // word marker, not text (as llama2.c prints it).
  bool at_start = prompt.empty();
  auto result = engine::generate(engine, seq, tok, stats.prompt_tokens, o.n_predict, [&](int32_t id) {
    std::string piece = tok.token_to_piece(id);
    if (at_start && !piece.empty()) {
      if (piece[0] == ' ') piece.erase(0, 1);
      at_start = false;
    }
    return on_text(piece);
  });
  stats.n_prompt = static_cast<int64_t>(stats.prompt_tokens.size());
  stats.generated_tokens = std::move(result.tokens);
  stats.n_generated = static_cast<int64_t>(stats.generated_tokens.size());
  stats.prompt_seconds = result.prompt_seconds;
  stats.generate_seconds = result.generate_seconds;
  stats.stop_reason = stop_reason_name(result.stop);
  return stats;
}

}  // namespace tessera
