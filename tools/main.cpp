// tessera: run, inspect and tokenize transformer models on the CPU.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "tessera/error.h"
#include "tessera/tessera.h"

int main(int argc, char** argv) {
  tessera::remove_unfinished_outputs_on_signals();  // an interrupted quantize leaves no temporary behind
  CLI::App app{"Tessera: transformer inference on the CPU", "tessera"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tessera 0.1.0");
  std::vector<std::pair<CLI::App*, tessera::cli::Runner>> commands;
  auto add = [&](tessera::cli::Runner (*adder)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    auto runner = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(runner));
  };
  add(tessera::cli::add_run_command);
  add(tessera::cli::add_info_command);
  add(tessera::cli::add_tokenize_command);
  add(tessera::cli::add_embed_command);
  add(tessera::cli::add_convert_command);
  add(tessera::cli::add_perplexity_command);
  add(tessera::cli::add_quantize_command);
  add(tessera::cli::add_mkmodel_command);
  add(tessera::cli::add_bench_command);
  add(tessera::cli::add_batched_bench_command);
  add(tessera::cli::add_serve_command);

  // CLI11 reports an unknown command as a missing one; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (auto& [sub, runner] : commands) known |= sub->get_name() == argv[1];
    if (!known) {
      std::fprintf(stderr, "tessera: error: unknown command '%s' (commands: run, info, tokenize, embed, perplexity, convert, quantize, mkmodel, bench, batched-bench, serve; see 'tessera --help')\n", argv[1]);
      return 2;
    }
  }

  // CLI11 parses a vector of the arguments in reverse order (program name dropped).
  std::vector<std::string> args(argv + 1, argv + argc);
  tessera::cli::expand_llama_cpp_aliases(args);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tessera: error: %s (see 'tessera --help' or 'tessera COMMAND --help')\n", e.what());
    return 2;
  }

  try {
    for (auto& [sub, runner] : commands)
      if (sub->parsed()) return runner();
  } catch (const tessera::UsageError& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 1;
  }
  return 2;
}
