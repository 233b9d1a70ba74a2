// The `tessera` subcommands. Each registers its options on a CLI11 subcommand
// and returns a function that runs it (exit status as result).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace tessera::cli {

using Runner = std::function<int()>;

Runner add_run_command(CLI::App& app);
Runner add_info_command(CLI::App& app);
Runner add_tokenize_command(CLI::App& app);
Runner add_convert_command(CLI::App& app);
Runner add_perplexity_command(CLI::App& app);
Runner add_mkmodel_command(CLI::App& app);
Runner add_quantize_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);

// Threads used when none are given: the machine's hardware threads.
int default_threads();

// Reads a whole file for -f options; throws UsageError naming the file.
std::string read_text_file(const std::string& path);

}  // namespace tessera::cli
