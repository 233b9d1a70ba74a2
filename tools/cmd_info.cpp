// tessera info: what a model file holds.
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.2f} MiB", static_cast<double>(b) / (1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.2f} KiB", static_cast<double>(b) / (1ull << 10));
  return fmt::format("{} B", b);
}

int info(const std::string& path, const std::string& tokenizer) {
  auto model = LoadedModel::open(path, {tokenizer, true});
  const ModelSummary s = model->summary();
  fmt::print("file:          {}\nformat:        {}\narchitecture:  {}\n", s.path, s.format, s.architecture);
  if (!s.name.empty()) fmt::print("name:          {}\n", s.name);
  fmt::print("tokenizer:     {}{} ({} tokens, bos {}, eos {})\n", s.tokenizer_model,
             s.tokenizer_pre.empty() ? "" : " / " + s.tokenizer_pre, s.n_vocab, s.bos_id, s.eos_id);
  fmt::print("parameters:    {} ({} of tensor data)\nkernels:       {}\n", s.n_params, human_bytes(s.tensor_bytes),
             s.kernel_isa);
  fmt::print("\nhyper-parameters:\n");
  if (!s.hyper_parameters_error.empty()) fmt::print("  (not available: {})\n", s.hyper_parameters_error);
  for (const auto& [k, v] : s.hyper_parameters) fmt::print("  {:<28} {}\n", k, v);
  fmt::print("\nmetadata ({} keys):\n", s.metadata.size());
  for (const auto& [k, v] : s.metadata) fmt::print("  {:<40} {}\n", k, v);
  fmt::print("\ntensors ({}):\n", s.tensors.size());
  for (const auto& t : s.tensors)
    fmt::print("  {:<32} {:<5} [{}] {}\n", t.name, t.type, fmt::join(t.shape, ", "), human_bytes(t.bytes));
  return 0;
}

}  // namespace

Runner add_info_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto tokenizer = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("info", "Show a model's architecture, hyper-parameters, tokenizer and tensors");
  cmd->add_option("-m,--model", *path, "Model file")->required();
  cmd->add_option("--tokenizer", *tokenizer, "Tokenizer file for a llama2.c checkpoint");
  return [path, tokenizer] { return info(*path, *tokenizer); };
}

}  // namespace tessera::cli
