#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "commands.h"
#include "tessera/error.h"
#include "tessera/tessera.h"

namespace tessera::cli {

CLI::Validator kv_cache_type_validator() {
  const std::vector<std::string> names = kv_cache_type_names();
  std::string allowed, choices;
  for (const auto& n : names) {
    allowed += (allowed.empty() ? "" : ", ") + n;
    choices += (choices.empty() ? "" : "|") + n;
  }
  return CLI::Validator(
      [names, allowed](std::string& value) -> std::string {
        std::string lower = value;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (std::find(names.begin(), names.end(), lower) == names.end())
          return "'" + value + "' is not a KV cache type (allowed: " + allowed + ")";
        value = lower;
        return {};
      },
      choices);
}

void add_cache_type_options(CLI::App* cmd, std::string& type_k, std::string& type_v) {
  cmd->add_option("--cache-type-k", type_k, "KV cache type of keys (-ctk): f32, f16 or q8_0")
      ->check(kv_cache_type_validator())
      ->capture_default_str();
  cmd->add_option("--cache-type-v", type_v, "KV cache type of values (-ctv): f32, f16 or q8_0")
      ->check(kv_cache_type_validator())
      ->capture_default_str();
}

void expand_llama_cpp_aliases(std::vector<std::string>& args) {
  for (auto& a : args) {
    if (a == "--") break;  // what follows is not an option
    if (a == "-ctk") a = "--cache-type-k";
    if (a == "-ctv") a = "--cache-type-v";
    if (a == "-np") a = "--parallel";
    for (const char* name : {"npp", "ntg", "npl", "pps"})
      if (a == std::string("-") + name) a = std::string("--") + name;
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read text file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_text_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read text file '" + path + "'");
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > max_bytes) throw Error("'" + path + "' is larger than " + std::to_string(max_bytes) + " bytes");
  return text;
}

std::string prompt_or_file(const std::string& text, const std::string& file, const char* what, bool required) {
  if (!text.empty() && !file.empty()) throw UsageError(std::string("give the ") + what + " with -p or -f, not both");
  if (required && text.empty() && file.empty()) throw UsageError(std::string("give the ") + what + " with -p or -f");
  return file.empty() ? text : read_text_file(file);
}

}  // namespace tessera::cli
