#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "commands.h"
#include "tessera/error.h"

namespace tessera::cli {

CLI::Validator kv_cache_type_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        std::string lower = value;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower != "f32" && lower != "f16" && lower != "q8_0")
          return "'" + value + "' is not a KV cache type (allowed: f32, f16, q8_0)";
        value = lower;
        return {};
      },
      "f32|f16|q8_0");
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

}  // namespace tessera::cli
