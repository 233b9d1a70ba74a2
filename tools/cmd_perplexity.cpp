// tessera perplexity: a text's perplexity under a model, by llama-perplexity's
// method, ending with its "Final estimate" line so existing scripts parse it.
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "tessera/error.h"
#include "progress_bar.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

struct PerplexityArgs {
  std::string model, tokenizer, text_file;
  PerplexityOptions options;
};

int perplexity(const PerplexityArgs& a) {
  if (a.options.n_ctx < 2) throw UsageError("-c/--ctx-size must be >= 2");
  if (a.options.n_batch < 1) throw UsageError("-b/--batch-size must be >= 1");
  if (a.options.n_threads < 0) throw UsageError("-t/--threads must be >= 1");
  const std::string text = read_text_file(a.text_file);
  auto model = LoadedModel::open(a.model, {a.tokenizer, false});
  ProgressBar bar("perplexity");
  const auto s = model->perplexity(text, a.options, [&](int64_t done, int64_t total, double ppl) {
    bar.update(done, total, fmt::format("PPL {:.4f}", ppl));
  });
  std::fprintf(stderr, "%lld tokens, %lld chunks of %lld, %lld predictions scored, %.2f s\n",
               static_cast<long long>(s.n_tokens), static_cast<long long>(s.n_chunks),
               static_cast<long long>(a.options.n_ctx), static_cast<long long>(s.n_scored), s.seconds);
  for (size_t i = 0; i < s.running_ppl.size(); ++i) fmt::print("[{}]{:.4f},", i + 1, s.running_ppl[i]);
  fmt::print("\nFinal estimate: PPL = {:.4f} +/- {:.5f}\n", s.ppl, s.ppl_error);
  return 0;
}

}  // namespace

Runner add_perplexity_command(CLI::App& app) {
  auto args = std::make_shared<PerplexityArgs>();
  auto* cmd = app.add_subcommand("perplexity", "Measure a model's perplexity on a text (llama-perplexity's method)");
  cmd->add_option("-m,--model", args->model, "Model file")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer file for a llama2.c checkpoint");
  cmd->add_option("-f,--file", args->text_file, "Text file to score")->required();
  cmd->add_option("-c,--ctx-size", args->options.n_ctx, "Tokens per chunk")->capture_default_str();
  cmd->add_option("-b,--batch-size", args->options.n_batch, "Tokens per forward pass")->capture_default_str();
  cmd->add_option("-t,--threads", args->options.n_threads, "Threads (0: all hardware threads)")->capture_default_str();
  cmd->add_option("--chunks", args->options.max_chunks, "Score at most this many chunks (-1: all)")->capture_default_str();
  add_cache_type_options(cmd, args->options.cache_type_k, args->options.cache_type_v);
  return [args] { return perplexity(*args); };
}

}  // namespace tessera::cli
