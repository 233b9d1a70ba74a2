// tessera tokenize: the token ids of a text (like llama-tokenize).
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "tessera/error.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

struct TokenizeArgs {
  std::string model, tokenizer, prompt, prompt_file;
  bool ids_only = false, no_bos = false, no_parse_special = false;
};

int tokenize(const TokenizeArgs& a) {
  const std::string text = prompt_or_file(a.prompt, a.prompt_file, "text", false);
  auto model = LoadedModel::open(a.model, {a.tokenizer, true});
  const auto ids = model->tokenize(text, !a.no_bos, !a.no_parse_special);
  if (a.ids_only) {
    fmt::print("[{}]\n", fmt::join(ids, ", "));
    return 0;
  }
  for (int32_t id : ids) fmt::print("{:6} -> '{}'\n", id, model->token_piece(id));
  return 0;
}

}  // namespace

Runner add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Show the tokens of a text");
  cmd->add_option("-m,--model", args->model, "Model or vocabulary file")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer file for a llama2.c checkpoint");
  cmd->add_option("-p,--prompt", args->prompt, "Text to tokenize");
  cmd->add_option("-f,--file", args->prompt_file, "Read the text from a file");
  cmd->add_flag("--ids", args->ids_only, "Print only the ids, as a list");
  cmd->add_flag("--no-bos", args->no_bos, "Do not add the BOS token");
  cmd->add_flag("--no-parse-special", args->no_parse_special, "Treat special-token text (e.g. <s>) as plain text");
  return [args] { return tokenize(*args); };
}

}  // namespace tessera::cli
