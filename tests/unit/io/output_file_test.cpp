// Writing files: nothing partial ever appears under the output name, whether the
// write completes, fails (disk full, simulated with RLIMIT_FSIZE in a child
// process: the kernel then refuses writes past the limit with EFBIG, as a full
// disk refuses them with ENOSPC). Interruption: tests/unit/engine/file_faults_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "core/error.h"
#include "io/gguf_writer.h"
#include "io/output_file.h"
#include "test_util.h"

namespace tessera::io {
namespace {

using ::testing::HasSubstr;
using test::TempDir;

// Names of the files in `dir`.
std::vector<std::string> listing(const TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir.file("")).parent_path()))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

GgufWriter writer_of_bytes(size_t n) {
  GgufWriter w;
  w.set_string("general.name", "output file test");
  w.add_tensor("t", DType::F32, {static_cast<int64_t>(n / 4)}, std::vector<uint8_t>(n, 7));
  return w;
}

// Runs fn in a child process whose files may grow to at most `limit` bytes; returns its exit status.
template <typename Fn>
int in_child_with_file_size_limit(rlim_t limit, Fn fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // so writes past the limit fail with EFBIG instead of killing
    const rlimit r{limit, limit};
    ::setrlimit(RLIMIT_FSIZE, &r);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(OutputFile, CommitRenamesTheCompleteFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("out.gguf");
  const GgufWriter w = writer_of_bytes(4096);
  w.write(path);
  EXPECT_EQ(test::read_file(path), w.to_bytes());
  EXPECT_EQ(listing(dir), std::vector<std::string>{"out.gguf"});
}

TEST(OutputFile, WithoutCommitNothingIsLeftAndTheOldFileIsIntact) {
  TempDir dir;
  const std::string path = dir.file("model.gguf");
  test::write_file(path, "old contents");
  {
    OutputFile out(path);
    out.write("new", 3);
    EXPECT_TRUE(std::filesystem::exists(out.temporary_path()));
    EXPECT_EQ(std::filesystem::path(out.temporary_path()).parent_path(), std::filesystem::path(path).parent_path());
  }  // e.g. an exception while converting
  EXPECT_EQ(test::read_file(path), "old contents");
  EXPECT_EQ(listing(dir), std::vector<std::string>{"model.gguf"});
}

TEST(OutputFile, DiskFullLeavesNoFileUnderTheFinalName) {
  TempDir dir;
  const std::string path = dir.file("big.gguf");
  const int status = in_child_with_file_size_limit(64 * 1024, [&] {
    try {
      writer_of_bytes(1 << 20).write(path);
    } catch (const Error& e) {
      const std::string msg = e.what();
      return msg.find("cannot write '" + path + "'") != std::string::npos &&
                     msg.find("File too large") != std::string::npos
                 ? 0
                 : 3;
    }
    return 2;  // the write did not fail
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: the write succeeded; 3: unexpected message";
  EXPECT_TRUE(listing(dir).empty()) << "left behind: " << testing::PrintToString(listing(dir));
}

TEST(OutputFile, DiskFullKeepsTheFileBeingReplaced) {
  TempDir dir;
  const std::string path = dir.file("model.gguf");
  const GgufWriter old = writer_of_bytes(1024);
  old.write(path);
  const int status = in_child_with_file_size_limit(64 * 1024, [&] {
    try {
      writer_of_bytes(1 << 20).write(path);
    } catch (const Error&) {
      return 0;
    }
    return 2;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(test::read_file(path), old.to_bytes());
  EXPECT_EQ(listing(dir), std::vector<std::string>{"model.gguf"});
}

TEST(OutputFile, DirectoryOrMissingDirectoryIsAClearError) {
  TempDir dir;
  EXPECT_THROW(OutputFile{dir.file("")}, Error);
  try {
    OutputFile out(dir.file("no/such/dir/x.gguf"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

}  // namespace
}  // namespace tessera::io
