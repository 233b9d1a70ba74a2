// Files changing under a running process: an interrupted write leaves nothing
// under the output name, and a model file truncated while mapped ends the
// process with a one-line error instead of SIGBUS.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "io/output_file.h"
#include "tessera/tessera.h"
#include "test_util.h"

namespace tessera {
namespace {

using test::TempDir;

bool directory_is_empty(const TempDir& dir) {
  return std::filesystem::is_empty(std::filesystem::path(dir.file("")).parent_path());
}

TEST(FileFaults, InterruptedWriteRemovesItsTemporaryAndEndsByTheSignal) {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    TempDir dir;
    const pid_t pid = ::fork();
    if (pid == 0) {
      remove_unfinished_outputs_on_signals();  // as the CLI does
      io::OutputFile out(dir.file("quantized.gguf"));
      out.write("partial", 7);
      std::raise(sig);  // e.g. Ctrl-C in the middle of quantize writing its output
      ::_exit(0);       // not reached
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "signal " << sig;
    EXPECT_EQ(WTERMSIG(status), sig);
    EXPECT_TRUE(directory_is_empty(dir)) << "signal " << sig;
  }
}

// F32 weights are used in place from the mapping, so the forward pass reads the file's pages.
TEST(FileFaultsDeathTest, ModelFileTruncatedWhileMappedIsAClearError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  const std::string path = dir.file("model.gguf");
  RandomModelSpec spec;
  spec.weight_type = "f32";
  make_random_model(path, spec);
  const auto model = LoadedModel::open(path);
  EngineOptions options;
  options.n_threads = 1;
  options.n_ctx = 16;
  const auto engine = model->new_engine(options);
  const SequenceId seq = engine->add_sequence();
  engine->eval(seq, {1, 2});  // works while the file is whole
  EXPECT_EXIT(
      {
        std::filesystem::resize_file(path, 4096);  // another program truncates it in place
        engine->eval(seq, {3});
      },
      testing::ExitedWithCode(1), "model file '.*model.gguf' shrank while in use");
}

}  // namespace
}  // namespace tessera
