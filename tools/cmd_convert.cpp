// tessera convert: write a model as GGUF (from GGUF or a llama2.c checkpoint),
// optionally with its weight matrices in another format.
#include <cstdio>

#include "commands.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

struct ConvertArgs {
  std::string in, out;
  ConvertOptions options;
};

int convert(ConvertArgs& a) {
  a.options.on_tensor = [](size_t i, size_t n, const std::string& name, const std::string& from,
                           const std::string& to) {
    std::fprintf(stderr, "\r[%zu/%zu] %-32s %-5s -> %-5s", i + 1, n, name.c_str(), from.c_str(), to.c_str());
  };
  convert_model_file(a.in, a.out, a.options);
  std::fprintf(stderr, "\nwrote %s\n", a.out.c_str());
  return 0;
}

}  // namespace

Runner add_convert_command(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand("convert", "Write a model (GGUF or llama2.c checkpoint) as GGUF");
  cmd->add_option("input", args->in, "Model file to read")->required();
  cmd->add_option("output", args->out, "GGUF file to write")->required();
  cmd->add_option("--tokenizer", args->options.tokenizer_path, "Tokenizer file for a llama2.c checkpoint");
  cmd->add_option("--type", args->options.weight_type,
                  std::string("Format for weight matrices: ") + kWeightTypeHelp + " (default: keep each tensor's)");
  return [args] { return convert(*args); };
}

}  // namespace tessera::cli
