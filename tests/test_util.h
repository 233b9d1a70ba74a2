// Shared test helpers: where the conformance data lives, temp files, running the CLI.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tessera::test {

inline std::filesystem::path testdata_dir() { return TESSERA_TESTDATA_DIR; }

// Path of a file under ../shared/testdata, or "" when it is absent.
inline std::string testdata_file(const std::string& rel) {
  auto p = testdata_dir() / rel;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

// Skips the current test with a visible reason when a testdata file is missing.
#define TESSERA_REQUIRE_TESTDATA(var, rel)                                                      \
  const std::string var = ::tessera::test::testdata_file(rel);                                  \
  if (var.empty()) GTEST_SKIP() << "test data absent: " << (::tessera::test::testdata_dir() / rel) \
                                << " (../shared/testdata is not beside the checkout)"

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path();
    for (int i = 0;; ++i) {
      path_ = base / ("tessera_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `ENV tessera ARGS` through the shell; ENV (e.g. "VAR=value") and ARGS are
// pasted as they are (quote paths yourself).
inline CommandResult run_tessera_env(const std::string& env, const std::string& args) {
  TempDir dir;
  const std::string out = dir.file("out"), err = dir.file("err");
  const std::string cmd = env + " '" + TESSERA_BIN + "' " + args + " >'" + out + "' 2>'" + err + "' </dev/null";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline CommandResult run_tessera(const std::string& args) { return run_tessera_env("", args); }

}  // namespace tessera::test
