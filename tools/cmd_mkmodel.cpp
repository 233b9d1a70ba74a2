// tessera mkmodel: a random-weight GGUF of any supported family of any shape and weight format,
// for benchmarks and tests that need no download.
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "tessera/tessera.h"

namespace tessera::cli {

Runner add_mkmodel_command(CLI::App& app) {
  auto spec = std::make_shared<RandomModelSpec>();
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("mkmodel", "Write a random-weight GGUF of a supported family (benchmark / test model)");
  cmd->add_option("output", *path, "GGUF file to write")->required();
  cmd->add_option("--arch", spec->arch, "Architecture: " + fmt::format("{}", fmt::join(architecture_names(), ", ")))->capture_default_str();
  cmd->add_option("--preset", spec->preset, "Shape: tiny, 110m, tinyllama-1.1b")->capture_default_str();
  cmd->add_option("--type", spec->weight_type, std::string("Weight format: ") + kWeightTypeHelp)
      ->capture_default_str();
  cmd->add_option("--vocab", spec->n_vocab, "Override: vocabulary size (>= 259)");
  cmd->add_option("--dim", spec->n_embd, "Override: embedding dim");
  cmd->add_option("--layers", spec->n_layer, "Override: layers");
  cmd->add_option("--heads", spec->n_head, "Override: attention heads");
  cmd->add_option("--kv-heads", spec->n_head_kv, "Override: kv heads");
  cmd->add_option("--ffn", spec->n_ff, "Override: feed-forward dim");
  cmd->add_option("--ctx", spec->n_ctx, "Override: context length");
  cmd->add_option("--window", spec->sliding_window, "Sliding window (llama, phi3, gemma2, gemma3); default: the context, and no key for llama");
  cmd->add_flag("--tied", spec->tied_output, "Share the output head with the token embedding");
  cmd->add_option("--seed", spec->seed, "Random seed")->capture_default_str();
  auto template_file = std::make_shared<std::string>();
  cmd->add_option("--chat-template-file", *template_file, "Jinja chat template to store as tokenizer.chat_template");
  return [spec, path, template_file] {
    if (!template_file->empty()) spec->chat_template = read_text_file(*template_file, 1 << 20);
    spec->on_tensor = [](size_t i, size_t n, const std::string& name) {
      std::fprintf(stderr, "\r[%zu/%zu] %-40s", i + 1, n, name.c_str());
    };
    make_random_model(*path, *spec);
    std::fprintf(stderr, "\nwrote %s\n", path->c_str());
    return 0;
  };
}

Runner add_quantize_command(CLI::App& app) {
  auto options = std::make_shared<ConvertOptions>();
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("quantize", "Re-encode a model's weight matrices: quantize IN OUT TYPE");
  cmd->add_option("input", *in, "Model file to read (F32 / F16 / BF16 weights give the best result)")->required();
  cmd->add_option("output", *out, "GGUF file to write")->required();
  cmd->add_option("type", options->weight_type, kWeightTypeHelp)
      ->required();
  cmd->add_option("--tokenizer", options->tokenizer_path, "Tokenizer file for a llama2.c checkpoint");
  return [options, in, out] {
    options->on_tensor = [](size_t i, size_t n, const std::string& name, const std::string& from,
                            const std::string& to) {
      std::fprintf(stderr, "\r[%zu/%zu] %-32s %-5s -> %-5s", i + 1, n, name.c_str(), from.c_str(), to.c_str());
    };
    convert_model_file(*in, *out, *options);
    std::fprintf(stderr, "\nwrote %s\n", out->c_str());
    return 0;
  };
}

}  // namespace tessera::cli
