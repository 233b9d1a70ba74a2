// The `tessera` subcommands. Each registers its options on a CLI11 subcommand
// and returns a function that runs it (exit status as result).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace tessera::cli {

using Runner = std::function<int()>;

// Help text of the weight type of convert, quantize and mkmodel.
inline constexpr const char* kWeightTypeHelp =
    "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q3_k, q4_k, q5_k, iq4_nl, iq4_xs, or a llama.cpp mixture: q2_k, "
    "q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k";

Runner add_run_command(CLI::App& app);
Runner add_info_command(CLI::App& app);
Runner add_tokenize_command(CLI::App& app);
Runner add_embed_command(CLI::App& app);
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
// At most max_bytes (a larger file is an Error), for files that must be small.
std::string read_text_file(const std::string& path, size_t max_bytes);
// The text given with -p (`text`) or read from -f (`file`), never both; `what`
// names it in the errors ("prompt", "text to embed"), `required`: one must be given.
std::string prompt_or_file(const std::string& text, const std::string& file, const char* what, bool required);

}  // namespace tessera::cli
