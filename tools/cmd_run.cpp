// tessera run: generate a continuation of a prompt, streaming it to stdout.
#include <cstdio>
#include <cstdlib>
#include <random>

#include "commands.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

struct RunArgs {
  std::string model, tokenizer, prompt, prompt_file;
  GenerateOptions gen;
  int64_t seed = -1;
};

void check(const RunArgs& a) {
  const EngineOptions& e = a.gen.engine;
  const SamplingOptions& s = a.gen.sampling;
  if (e.n_threads < 0) throw UsageError("-t/--threads must be >= 1");
  if (e.n_ctx < 0) throw UsageError("-c/--ctx-size must be >= 0");
  if (e.n_batch < 1) throw UsageError("-b/--batch-size must be >= 1");
  if (a.gen.n_predict < -1) throw UsageError("-n/--n-predict must be >= -1");
  if (s.temperature < 0) throw UsageError("--temp must be >= 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) throw UsageError("--top-p must be in (0, 1]");
  if (!(s.min_p >= 0 && s.min_p < 1)) throw UsageError("--min-p must be in [0, 1)");
  if (!(s.repeat_penalty > 0)) throw UsageError("--repeat-penalty must be > 0");
}

// -m, else $TESSERA_MODEL, else the demo model bundled with the source tree.
std::string model_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("TESSERA_MODEL"); env && *env) return env;
  return TESSERA_DEFAULT_MODEL;
}

int run(RunArgs& a) {
  check(a);
  a.model = model_path(a.model);
  std::string prompt = prompt_or_file(a.prompt, a.prompt_file, "prompt", false);
  if (a.seed < 0) a.seed = static_cast<int64_t>(std::random_device{}() & 0x7fffffff);
  a.gen.sampling.seed = static_cast<uint64_t>(a.seed);

  auto model = LoadedModel::open(a.model, {a.tokenizer, false});
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  const auto stats = model->generate(prompt, a.gen, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::fputc('\n', stdout);
  std::fflush(stdout);

  auto rate = [](int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  std::fprintf(stderr, "\nseed: %lld, stop: %s\n", static_cast<long long>(a.seed), stats.stop_reason.c_str());
  std::fprintf(stderr, "load time:  %10.2f ms\n", model->load_seconds() * 1e3);
  std::fprintf(stderr, "prompt:     %10.2f ms / %5lld tokens (%8.2f tokens/s)\n", stats.prompt_seconds * 1e3,
               static_cast<long long>(stats.n_prompt), rate(stats.n_prompt, stats.prompt_seconds));
  std::fprintf(stderr, "generation: %10.2f ms / %5lld tokens (%8.2f tokens/s)\n", stats.generate_seconds * 1e3,
               static_cast<long long>(stats.n_generated), rate(stats.n_generated, stats.generate_seconds));
  return 0;
}

}  // namespace

Runner add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt (streams to stdout, timings to stderr)");
  // A repeated option takes its last value, as in llama.cpp (scripts add defaults
  // before the user's own flags).
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("-m,--model", args->model,
                  "Model file: GGUF, or a llama2.c checkpoint (with --tokenizer); default: $TESSERA_MODEL, else the "
                  "bundled demo model (models/tessera-demo.gguf)");
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer file for a llama2.c checkpoint");
  cmd->add_option("-p,--prompt", args->prompt, "Prompt text (default: empty)");
  cmd->add_option("-f,--file", args->prompt_file, "Read the prompt from a file");
  cmd->add_option("-n,--n-predict", args->gen.n_predict, "Tokens to generate; -1: until end of text or full context")
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->gen.engine.n_threads, "Threads (0: all hardware threads)")->capture_default_str();
  cmd->add_option("-c,--ctx-size", args->gen.engine.n_ctx, "Context size in tokens (0: the model's, at most 4096)")
      ->capture_default_str();
  cmd->add_option("-b,--batch-size", args->gen.engine.n_batch, "Prompt tokens per forward pass")->capture_default_str();
  cmd->add_option("--temp", args->gen.sampling.temperature, "Temperature; 0 is greedy")->capture_default_str();
  cmd->add_option("--top-k", args->gen.sampling.top_k, "Top-k sampling (0: off)")->capture_default_str();
  cmd->add_option("--top-p", args->gen.sampling.top_p, "Top-p (nucleus) sampling (1: off)")->capture_default_str();
  cmd->add_option("--min-p", args->gen.sampling.min_p, "Min-p sampling (0: off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", args->gen.sampling.repeat_penalty, "Penalty for repeated tokens (1: off)")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", args->gen.sampling.repeat_last_n, "Recent tokens the penalty looks at (-1: all)")
      ->capture_default_str();
  cmd->add_option("-s,--seed", args->seed, "Random seed (-1: random; printed at the end)")->capture_default_str();
  add_cache_type_options(cmd, args->gen.engine.cache_type_k, args->gen.engine.cache_type_v);
  return [args] { return run(*args); };
}

}  // namespace tessera::cli
