#include "io/mapped_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

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
