// Tessera's public C++ API: open a model file, inspect it, tokenize, generate,
// and evaluate many sequences at once (Engine). Throws tessera::Error
// (tessera/error.h) with a one-line message; UsageError for a bad option.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/error.h"

namespace tessera {

struct OpenOptions {
  std::string tokenizer_path;  // llama2.c checkpoints: their tokenizer file
  bool vocab_only = false;     // load metadata and tokenizer but not the weights
};

// The instruction a matrix's multiply spends its time in on this CPU's kernels,
// whose measured peak (MachineInfo) bounds it: the fp32 FMA (float
// activations), the int8 dot (int8 activations) or vdpbf16ps (bf16 ones).
enum class MatmulPeak { None, Fp32Fma, Int8Dot, Bf16Dot };

struct TensorSummary {
  std::string name;
  std::string type;            // "F32", "Q8_0", ...
  std::vector<int64_t> shape;  // innermost first, as GGUF lists it
  uint64_t bytes = 0;
  MatmulPeak matmul_peak = MatmulPeak::None;  // matrices: the peak their multiply runs against
};

struct ModelSummary {
  std::string path, format;
  std::string architecture, name;
  std::vector<std::pair<std::string, std::string>> hyper_parameters;  // name, value
  std::string hyper_parameters_error;  // why there are none (e.g. an unsupported architecture)
  std::vector<std::pair<std::string, std::string>> metadata;          // every key, arrays summarised
  std::string tokenizer_model, tokenizer_pre;
  int32_t n_vocab = 0, bos_id = -1, eos_id = -1;
  std::vector<TensorSummary> tensors;
  uint64_t tensor_bytes = 0, n_params = 0;
  int64_t n_expert = 0, n_expert_used = 0;  // mixture of experts: a token reads n_expert_used of each expert stack
  std::string kernel_isa;  // the SIMD tier the kernels run on this CPU
};

struct PerplexityOptions {
  int64_t n_ctx = 512;      // tokens per chunk
  int64_t n_batch = 512;    // tokens per forward pass (at most n_ctx)
  int n_threads = 0;        // 0: all hardware threads
  int64_t max_chunks = -1;  // < 0: all
  // KV cache element types, as llama.cpp's -ctk/-ctv: "f32", "f16" or "q8_0"
  // (q8_0 needs a head size that is a multiple of 32).
  std::string cache_type_k = "f16", cache_type_v = "f16";
};

struct PerplexityStats {
  double ppl = 0, ppl_error = 0;
  int64_t n_tokens = 0, n_chunks = 0, n_scored = 0;
  double seconds = 0;
  std::vector<double> running_ppl;  // after each chunk
};

struct ConvertOptions {
  std::string tokenizer_path;  // llama2.c checkpoints: their tokenizer file
  // Format of the weight matrices: "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0",
  // "q5_1", "q3_k", "q4_k", "q5_k", "iq4_nl", "iq4_xs", or a llama.cpp mixture, "q2_k",
  // "q3_k_s/m/l", "q4_k_s/m", "q5_k_s/m", "q6_k" (a format per tensor, chosen by
  // llama-quantize's rule); case-insensitive. Empty keeps each tensor's.
  std::string weight_type;
  // Called before each tensor is written: index, count, name, source and target type.
  std::function<void(size_t, size_t, const std::string&, const std::string&, const std::string&)> on_tensor;
};

// Reads any model file Tessera can open and writes it as GGUF. Vectors stay F32;
// matrices whose rows are not whole blocks of weight_type are stored as F16 (a
// mixture stores them in llama.cpp's fallback format, else F16).
// Throws Error (bad input file or type; UsageError for an unknown type name).
void convert_model_file(const std::string& in_path, const std::string& out_path, const ConvertOptions& options);

// Files are written under a temporary name and renamed when complete, so no
// partial file ever appears under the output name. This makes SIGINT, SIGTERM
// and SIGHUP remove the temporaries still being written before the process
// ends as the signal would end it. For programs (the CLI calls it first thing).
void remove_unfinished_outputs_on_signals();

struct RandomModelSpec {
  std::string arch = "llama";   // general.architecture (architecture_names())
  std::string preset = "tiny";  // "tiny", "110m", "tinyllama-1.1b"
  // Overrides of the preset's shape; <= 0 keeps the preset's value.
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx = 0;
  int64_t sliding_window = 0;  // families with a sliding window (llama, phi3, gemma2, gemma3): its length; 0: the context
  // LongRoPE (phi3): the original context (< n_ctx); writes random long and short
  // rope factors and the attention factor as llama.cpp's converter derives it; 0: none.
  int64_t longrope_orig_ctx = 0;
  // Mixture of experts (llama, qwen2moe, qwen3moe): experts, experts per token,
  // an expert's feed-forward dim (Qwen MoE), the shared expert's (qwen2moe);
  // 0: dense llama, else 8 experts, 2 per token, n_ff / 2, n_ff.
  int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_ff_shexp = 0;
  std::string weight_type = "f32";  // format of the weight matrices, or a mixture, as ConvertOptions
  bool tied_output = false;
  uint64_t seed = 1;
  std::string chat_template;  // Jinja text stored as tokenizer.chat_template (none when empty)
  std::function<void(size_t, size_t, const std::string&)> on_tensor;  // index, count, name
};

// Writes a GGUF of the architecture with random weights and a valid synthetic
// vocabulary of the family's tokenizer kind.
// Throws UsageError for an unknown preset or type, Error for an invalid shape.
void make_random_model(const std::string& path, const RandomModelSpec& spec);

// Sampling of one sequence: repetition penalty, then top-k, top-p, min-p,
// temperature and a seeded draw (llama.cpp's default chain). temperature <= 0
// is greedy (the highest logit, lowest id on ties).
struct SamplingOptions {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;
  uint64_t seed = 0;
  std::vector<int32_t> banned_tokens;  // never drawn (their logits count as -inf), e.g. end of text for benchmarks
};

struct EngineOptions {
  int64_t n_ctx = 0;      // positions one sequence may hold; 0: the model's, at most 4096
  int64_t n_batch = 512;  // tokens per forward pass, at most (prompts longer than this go in chunks)
  int n_threads = 0;      // 0: all hardware threads
  // The KV block pool all sequences share: its size in tokens, or else in
  // bytes; both 0: n_ctx tokens.
  int64_t kv_tokens = 0;
  int64_t kv_bytes = 0;
  // KV cache element types, as llama.cpp's -ctk/-ctv: "f32", "f16" or "q8_0"
  // (q8_0 needs a head size that is a multiple of 32).
  std::string cache_type_k = "f16", cache_type_v = "f16";
  bool prefix_cache = true;  // a prompt reuses cached full blocks of an equal prefix
};

using SequenceId = int64_t;

struct SequenceInfo {
  int64_t n_past = 0;         // positions stored
  int64_t n_pending = 0;      // tokens fed, not yet evaluated
  int64_t cached_tokens = 0;  // stored tokens that came from the prefix cache
  std::string error;          // why the sequence cannot go on (e.g. the KV pool is full); empty if fine
};

struct KvPoolStats {
  int64_t n_blocks = 0, block_tokens = 0;
  int64_t used = 0, cached = 0, free = 0;  // blocks: referenced, kept only for their prefix, empty
  int64_t prefix_hit_tokens = 0;           // prompt tokens reused from the cache so far
};

struct StepStats {
  int64_t n_tokens = 0;     // rows evaluated in this step
  int64_t n_sequences = 0;  // sequences that had rows in it
  std::vector<SequenceId> failed;  // sequences that could not go on (see SequenceInfo::error)
};

// Many sequences evaluated together: one thread pool, one set of buffers and
// one KV block pool shared by all (like a vLLM engine). Feed tokens to any
// sequences, then step(): each step evaluates one packed batch of their
// pending tokens, decode tokens first, then prompt chunks. A sequence's logits
// are bit-identical whatever other sequences share its steps and whether its
// prefix was cached or computed. Not thread-safe: one caller at a time.
class Engine {
 public:
  ~Engine();

  // A new empty sequence with its own sampler.
  SequenceId add_sequence(const SamplingOptions& sampling = {});
  // Appends tokens to evaluate. Throws Error when they exceed n_ctx or the vocabulary.
  void feed(SequenceId id, const std::vector<int32_t>& tokens);
  // One forward pass over pending tokens of every sequence (nothing when none are pending).
  StepStats step();
  bool has_pending() const;
  // feed, then step until the sequence's tokens are evaluated; its logits after
  // the last one (valid until its next step). Throws Error when it fails.
  const float* eval(SequenceId id, const std::vector<int32_t>& tokens);

  // n_vocab logits after the sequence's last evaluated token; null before any.
  const float* logits(SequenceId id) const;
  // The next token by the sequence's sampler from logits(id); not fed.
  int32_t sample(SequenceId id);

  // A new sequence sharing id's stored positions (copy-on-write), pending
  // tokens and logits, with its own sampler: parallel samples of one prompt.
  SequenceId fork(SequenceId id, const SamplingOptions& sampling);
  void reset(SequenceId id);   // forget what it holds
  void remove(SequenceId id);  // and give its blocks back to the pool

  SequenceInfo info(SequenceId id) const;
  KvPoolStats kv_pool() const;
  int64_t n_ctx() const;
  int64_t n_batch() const;
  int32_t n_vocab() const;

 private:
  friend class LoadedModel;
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct GenerateOptions {
  int64_t n_predict = -1;  // generated tokens; < 0: until end of text or full context
  bool add_bos = true;     // when the vocabulary wants one
  EngineOptions engine;    // n_ctx, n_batch, threads, KV cache types
  SamplingOptions sampling;
};

struct GenerateStats {
  int64_t n_prompt = 0, n_generated = 0;
  double prompt_seconds = 0, generate_seconds = 0;
  std::string stop_reason;  // "length", "end of text", "context full"
  std::vector<int32_t> prompt_tokens, generated_tokens;
};

// One message of a chat: role ("system", "user", "assistant", "tool") and text.
struct ChatMessage {
  std::string role, content;
};

// The machine's limits, measured by microbenchmarks on n_threads threads.
struct MachineInfo {
  std::string cpu;         // CPUID brand string
  std::string kernel_isa;  // SIMD tier in use
  double read_gbps = 0;    // memory read bandwidth (decode roofline)
  double fma_gflops = 0;   // fp32 FMA peak (prefill roofline of float matmuls)
  double int8_gops = 0;    // int8 dot peak (prefill roofline of int8 matmuls; 0: none)
  double bf16_gflops = 0;  // bf16 dot peak (prefill roofline of bf16 matmuls; 0: none)

  // The peak of that instruction, G ops/s (2 per multiply-add); 0 for None.
  double peak_gops(MatmulPeak peak) const;
};
MachineInfo measure_machine(int n_threads, int repeats = 5);
// Only MachineInfo::read_gbps, measured now: on a shared host it moves from
// minute to minute, so decode results are judged against a measurement beside them.
double measure_read_bandwidth(int n_threads, int repeats = 5);

// Threads used when an option's n_threads is 0: the machine's hardware threads.
int default_thread_count();

// The names EngineOptions::cache_type_k / cache_type_v accept: "f32", "f16", "q8_0".
std::vector<std::string> kv_cache_type_names();

// The GGUF general.architecture values Tessera runs (and mkmodel writes).
std::vector<std::string> architecture_names();

// Embeddings of embedding models (BERT and its kin): LoadedModel::embed.
struct EmbedOptions {
  std::string pooling;  // "mean", "cls" or "last"; "" the model's own (<arch>.pooling_type)
  // As llama.cpp's --embd-normalize: -1 none, 0 max-abs scaled to int16's range,
  // 1 taxicab, 2 euclidean (L2, the default), p > 2 the p-norm.
  int normalize = 2;
  int n_threads = 0;  // 0: all hardware threads
};

class LoadedModel {
 public:
  // Throws tessera::Error (a std::runtime_error) with a one-line message.
  static std::unique_ptr<LoadedModel> open(const std::string& path, const OpenOptions& options = {});
  ~LoadedModel();

  bool has_weights() const;
  double load_seconds() const;
  ModelSummary summary() const;

  std::vector<int32_t> tokenize(std::string_view text, bool add_bos, bool parse_special = false) const;
  std::string token_piece(int32_t id) const;  // output bytes of one token
  std::string token_text(int32_t id) const;   // its vocabulary string
  bool is_end_of_generation(int32_t id) const;  // end of text, end of turn, ...
  std::string detokenize(const std::vector<int32_t>& ids) const;

  // The model's chat template (the Jinja text of GGUF `tokenizer.chat_template`); "" if it has none.
  std::string chat_template() const;
  // Uses `source` instead of the model's template from now on (e.g. a file the user
  // gives). Parses it now: throws Error naming the line and column of a fault.
  void set_chat_template(const std::string& source);
  // The prompt text of a chat: the messages rendered by the chat template (ChatML
  // when the model has none) in a sandboxed Jinja interpreter, with the model's
  // bos_token / eos_token text; add_generation_prompt opens the assistant's turn.
  // A template that shows no system message gets the system text folded into the
  // next user message. Throws Error: a bad template, or one that refuses the
  // messages (raise_exception), with its message.
  std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // apply_chat_template's text as prompt tokens: special tokens parsed, BOS added only
  // when the vocabulary wants one and the text does not already start with it, and a
  // final EOS (a template that closes the last turn) left off, as llama.cpp does.
  std::vector<int32_t> tokenize_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  // Whether the model computes embeddings (an encoder such as BERT) rather than
  // generating text; generation (new_engine, generate, perplexity) refuses such
  // a model, embed refuses the others.
  bool is_embedding_model() const;
  // One vector (n_embd values) per input token sequence (tokenize(text, true)
  // gives BERT's [CLS] ... [SEP] form), each sequence evaluated whole. Throws
  // Error for an empty input, one longer than the model's positions, an id
  // outside the vocabulary; UsageError for an unknown pooling name.
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& inputs,
                                        const EmbedOptions& options = {}) const;
  // An executor of many sequences over this model (it must outlive the engine).
  std::unique_ptr<Engine> new_engine(const EngineOptions& options = {}) const;

  // Perplexity of `text` by llama-perplexity's method (chunks of n_ctx, second half
  // of each scored); on_chunk(done, total, running ppl) reports progress.
  PerplexityStats perplexity(std::string_view text, const PerplexityOptions& options,
                             const std::function<void(int64_t, int64_t, double)>& on_chunk) const;

  // Generates a continuation of `prompt`, calling on_text with each new token's
  // text as it is produced (return false to stop).
  GenerateStats generate(std::string_view prompt, const GenerateOptions& options,
                         const std::function<bool(std::string_view)>& on_text) const;

 private:
  struct Impl;
  explicit LoadedModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
