// The `tessera` subcommands. Each registers its options on a CLI11 subcommand
// and returns a function that runs it (exit status as result).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

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
Runner add_batched_bench_command(CLI::App& app);
Runner add_serve_command(CLI::App& app);

// Checks (and lower-cases) a KV cache type value: f32, f16 or q8_0.
CLI::Validator kv_cache_type_validator();

// llama.cpp's -ctk/--cache-type-k and -ctv/--cache-type-v on `cmd`.
void add_cache_type_options(CLI::App* cmd, std::string& type_k, std::string& type_v);

// Rewrites llama.cpp's multi-letter single-dash options (-ctk, -ctv, -np,
// -npp, -ntg, -npl, -pps), which
// CLI11 cannot declare, into their long forms, in place.
void expand_llama_cpp_aliases(std::vector<std::string>& args);

// Reads a whole file for -f options; throws UsageError naming the file.
std::string read_text_file(const std::string& path);

}  // namespace tessera::cli
