#include "io/mapped_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "test_util.h"

namespace tessera::io {
namespace {

using ::testing::HasSubstr;
using tessera::test::TempDir;
using namespace std::string_literals;

std::string error_of(const std::string& path, const std::string& what = "model file") {
  try {
    MappedFile f(path, what);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(MappedFile, MapsTheWholeFileReadOnly) {
  TempDir dir;
  const std::string path = dir.file("blob");
  const std::string content = "hello, mapped world\0with a nul"s;
  tessera::test::write_file(path, content);
  MappedFile f(path);
  EXPECT_EQ(f.path(), path);
  ASSERT_EQ(f.size(), content.size());
  EXPECT_EQ(std::memcmp(f.data(), content.data(), content.size()), 0);
}

// Released pages come back from the file on the next read: contents never
// change; ranges outside the mapping are ignored (never madvised).
TEST(MappedFile, ReleasedPagesReadTheSameBytes) {
  TempDir dir;
  const std::string path = dir.file("blob");
  std::string content(5 * 4096 + 123, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 4096);
  tessera::test::write_file(path, content);
  MappedFile f(path);
  ASSERT_EQ(std::memcmp(f.data(), content.data(), content.size()), 0);  // every page resident
  f.release(f.data() + 100, 3 * 4096);  // the whole pages inside: 1 and 2
  f.release(f.data(), f.size());
  EXPECT_EQ(std::memcmp(f.data(), content.data(), content.size()), 0);
  std::vector<char> heap(3 * 4096, 'x');
  f.release(heap.data(), heap.size());  // not in the mapping
  f.release(f.data() + 1, f.size());    // runs past its end
  EXPECT_EQ(heap, std::vector<char>(3 * 4096, 'x'));
  EXPECT_EQ(std::memcmp(f.data(), content.data(), content.size()), 0);
}

TEST(MappedFile, MissingFileNamesPathAndReason) {
  TempDir dir;
  const std::string path = dir.file("nope.gguf");
  EXPECT_EQ(error_of(path), "cannot open model file '" + path + "': No such file or directory");
}

TEST(MappedFile, DirectoryIsRejected) {
  TempDir dir;
  const std::string path = dir.file("sub");
  std::filesystem::create_directory(path);
  EXPECT_THAT(error_of(path), HasSubstr("'" + path + "': is a directory"));
}

TEST(MappedFile, EmptyFileIsRejected) {
  TempDir dir;
  const std::string path = dir.file("empty");
  tessera::test::write_file(path, "");
  EXPECT_THAT(error_of(path), HasSubstr("'" + path + "': the file is empty"));
}

TEST(MappedFile, RoleAppearsInTheMessage) {
  TempDir dir;
  EXPECT_THAT(error_of(dir.file("tok.bin"), "tokenizer file"), HasSubstr("cannot open tokenizer file"));
}

TEST(MappedFile, NonRegularFileIsRejected) {
  EXPECT_THAT(error_of("/dev/null"), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace tessera::io
