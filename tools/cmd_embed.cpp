// tessera embed: the embedding of a text by an embedding model (BERT and its
// kin), printed as JSON; flags as llama.cpp's llama-embedding where they mean
// the same (each line of the prompt is a text of its own, --embd-separator).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "commands.h"
#include "tessera/error.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

struct EmbedArgs {
  std::string model, prompt, prompt_file, separator = "\n";
  EmbedOptions options;
};

std::vector<std::string> split(const std::string& text, const std::string& sep) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (size_t hit; !sep.empty() && (hit = text.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
    parts.push_back(text.substr(pos, hit - pos));
  parts.push_back(text.substr(pos));
  return parts;
}

int embed(EmbedArgs& a) {
  const std::string text = prompt_or_file(a.prompt, a.prompt_file, "text to embed", true);
  if (a.options.pooling == "model") a.options.pooling.clear();
  auto model = LoadedModel::open(a.model);
  if (!model->is_embedding_model())
    throw Error(fmt::format("{}: not an embedding model (architecture '{}'): 'tessera embed' needs one such as bert",
                            a.model, model->summary().architecture));
  std::vector<std::vector<int32_t>> inputs;
  for (const std::string& part : split(text, a.separator)) inputs.push_back(model->tokenize(part, true));
  const auto vectors = model->embed(inputs, a.options);
  nlohmann::json data = nlohmann::json::array();
  for (size_t i = 0; i < vectors.size(); ++i)
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vectors[i]}});
  fmt::print("{}\n", nlohmann::json{{"object", "list"}, {"data", data}}.dump());
  return 0;
}

}  // namespace

Runner add_embed_command(CLI::App& app) {
  auto a = std::make_shared<EmbedArgs>();
  auto* cmd = app.add_subcommand("embed", "Print the embedding of a text by an embedding model (BERT) as JSON");
  cmd->add_option("-m,--model", a->model, "Embedding model file")->required();
  cmd->add_option("-p,--prompt", a->prompt, "Text to embed (each line a text of its own)");
  cmd->add_option("-f,--file", a->prompt_file, "Read the text from a file");
  cmd->add_option("--embd-separator", a->separator, "Separator between texts (default: newline)");
  cmd->add_option("--pooling", a->options.pooling, "mean, cls or last (default: the model's)")
      ->check(CLI::IsMember({"model", "mean", "cls", "last"}));
  cmd->add_option("--embd-normalize", a->options.normalize,
                  "-1 none, 0 max-abs (int16 range), 1 taxicab, 2 euclidean, >2 p-norm")
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->options.n_threads, "Threads (0: all hardware threads)")->capture_default_str();
  return [a] { return embed(*a); };
}

}  // namespace tessera::cli
