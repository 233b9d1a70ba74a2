// Hostile files cost little memory: hand-made GGUF and llama2.c files of a few
// hundred bytes that claim huge counts, strings, arrays, tensors or dimensions
// are refused with one line before anything is allocated for them. Each is fed
// to `tessera run` in a fresh process whose peak resident memory (wait4's
// ru_maxrss) is compared with the same command on a small valid model; the
// disk-full case of `quantize` is here too (RLIMIT_FSIZE in the child).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "test_util.h"
#include "unit/io/io_test_util.h"

namespace tessera {
namespace {

using ::testing::HasSubstr;
using io::test::RawBytes;
using test::TempDir;

constexpr uint32_t kU8 = 0, kU32 = 4, kString = 8, kArray = 9, kF32Tensor = 0;

struct Measured {
  int exit_code = -1;
  std::string err;
  long max_rss_kb = 0;
};

// Runs tessera with `args` (no shell), stdout discarded, stderr kept; file_size_limit > 0 sets RLIMIT_FSIZE.
Measured run_measured(const std::vector<std::string>& args, rlim_t file_size_limit = 0) {
  TempDir dir;
  const std::string err_path = dir.file("err");
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open("/dev/null", O_WRONLY), err = ::open(err_path.c_str(), O_WRONLY | O_CREAT, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    if (file_size_limit > 0) {
      std::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail (EFBIG) as on a full disk (ENOSPC)
      const rlimit r{file_size_limit, file_size_limit};
      ::setrlimit(RLIMIT_FSIZE, &r);
    }
    std::vector<char*> argv{const_cast<char*>(TESSERA_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(TESSERA_BIN, argv.data());
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  Measured m;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  m.err = test::read_file(err_path);
  m.max_rss_kb = usage.ru_maxrss;
  return m;
}

RawBytes llama_keys(uint64_t n_kv_extra, uint64_t n_tensors) {
  RawBytes b;
  b.header(3, n_tensors, 1 + n_kv_extra).kv_string("general.architecture", "llama");
  return b;
}

struct Hostile {
  std::string name;
  std::string bytes;
  std::string expected;  // part of the one-line error
};

std::vector<Hostile> hostile_files() {
  std::vector<Hostile> h;
  const uint64_t huge = uint64_t(1) << 40;
  h.push_back({"metadata count", RawBytes().header(3, 0, huge).zeros(64).bytes, "metadata count"});
  h.push_back({"tensor count", RawBytes().header(3, huge, 1).kv_u32("a", 1).zeros(64).bytes, "tensor count"});
  h.push_back({"token array of 2^40 strings",
               llama_keys(1, 0).str("tokenizer.ggml.tokens").u32(kArray).u32(kString).u64(huge).zeros(64).bytes,
               "array length 1099511627776"});
  h.push_back({"u8 array of 2^40 elements",
               llama_keys(1, 0).str("x").u32(kArray).u32(kU8).u64(huge).zeros(64).bytes, "array length"});
  h.push_back({"string of 2^62 bytes",
               llama_keys(1, 0).str("general.name").u32(kString).u64(uint64_t(1) << 62).zeros(64).bytes,
               "beyond the end of the file"});
  h.push_back({"key of 2^62 bytes", RawBytes().header(3, 0, 1).u64(uint64_t(1) << 62).zeros(64).bytes,
               "beyond the end of the file"});
  RawBytes nested = llama_keys(1, 0).str("n").u32(kArray).u32(kArray).u64(3);
  for (int level = 0; level < 3; ++level) nested.u32(kArray).u64(1u << 30);
  h.push_back({"arrays nested with 2^30 elements each", nested.zeros(64).bytes, "nested array length"});
  h.push_back({"tensor of 2^30 x 2^30 floats",
               llama_keys(0, 1).tensor_info("token_embd.weight", {1u << 30, 1u << 30}, kF32Tensor, 0).pad_to(32).zeros(64).bytes,
               "lies outside the file"});
  h.push_back({"tensor whose element count overflows",
               llama_keys(0, 1).tensor_info("t", {uint64_t(1) << 40, uint64_t(1) << 40}, kF32Tensor, 0).zeros(64).bytes,
               "element count overflows"});
  // Parses, but the hyper-parameters describe a model of gigabytes whose tensors are absent.
  RawBytes dims = llama_keys(8, 1);
  dims.kv_u32("llama.embedding_length", 1 << 20).kv_u32("llama.block_count", 4096)
      .kv_u32("llama.feed_forward_length", 1 << 22).kv_u32("llama.attention.head_count", 4096)
      .kv_u32("llama.context_length", 1 << 24)
      .kv_string("tokenizer.ggml.model", "llama").str("tokenizer.ggml.add_bos_token").u32(7).u8(0).str("tokenizer.ggml.tokens").u32(kArray).u32(kString).u64(1).str("a")
      .tensor_info("token_embd.weight", {4}, kF32Tensor, 0).pad_to(32).zeros(32);
  h.push_back({"huge hyper-parameters, tiny tensors", dims.bytes, "token_embd.weight"});
  // llama2.c: no magic, the header's dimensions must match the file size exactly.
  RawBytes ckpt;
  for (int32_t v : {1 << 30, 1 << 30, 4096, 1 << 20, 1 << 20, 1 << 30, 1 << 30}) ckpt.i32(v);
  h.push_back({"llama2.c header of 2^30 dims", ckpt.zeros(256).bytes, "nor a llama2.c checkpoint"});
  return h;
}

TEST(ResourceLimits, HostileFilesAreRefusedInOneLineWithLittleMemory) {
  TempDir dir;
  const std::string valid = dir.file("valid.gguf");
  ASSERT_EQ(run_measured({"mkmodel", valid, "--dim", "64", "--vocab", "512"}).exit_code, 0);
  const Measured baseline = run_measured({"run", "-m", valid, "-n", "1", "-c", "16", "-t", "1", "-p", "a"});
  ASSERT_EQ(baseline.exit_code, 0) << baseline.err;
  for (const Hostile& f : hostile_files()) {
    SCOPED_TRACE(f.name);
    const std::string path = dir.file("hostile.gguf");
    test::write_file(path, f.bytes);
    ASSERT_LT(f.bytes.size(), 1024u);
    const Measured m = run_measured({"run", "-m", path, "-n", "1", "-c", "16", "-t", "1", "-p", "a",
                                     "--tokenizer", valid});
    EXPECT_EQ(m.exit_code, 1);
    EXPECT_THAT(m.err, HasSubstr(f.expected));
    EXPECT_EQ(std::count(m.err.begin(), m.err.end(), '\n'), 1) << m.err;
    // No more than the valid model's run plus 16 MiB (the hostile files claim terabytes).
    EXPECT_LT(m.max_rss_kb, baseline.max_rss_kb + 16 * 1024) << "baseline " << baseline.max_rss_kb << " KiB";
  }
}

TEST(ResourceLimits, QuantizeToAFullDiskLeavesNoOutput) {
  TempDir dir;
  const std::string src = dir.file("src.gguf"), out = dir.file("out.gguf");
  ASSERT_EQ(run_measured({"mkmodel", src, "--dim", "128", "--vocab", "2048"}).exit_code, 0);
  const auto before = std::filesystem::file_size(src);
  const Measured m = run_measured({"quantize", src, out, "q8_0"}, /*file_size_limit=*/before / 8);
  EXPECT_EQ(m.exit_code, 1) << m.err;
  EXPECT_THAT(m.err, HasSubstr("cannot write '" + out + "'"));
  EXPECT_THAT(m.err, HasSubstr("nothing was written under that name"));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(src).parent_path()))
    EXPECT_EQ(e.path().filename(), "src.gguf");
  // The same command with room to write succeeds (the limit was the only obstacle).
  EXPECT_EQ(run_measured({"quantize", src, out, "q8_0"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace tessera
