// Malformed GGUF files: each must end in one Error naming the file and the fault,
// never a crash, an over-allocation or a silently wrong ModelFile.
#include <gtest/gtest.h>

#include <random>

#include "io/gguf_writer.h"
#include "test_util.h"
#include "unit/io/io_test_util.h"

namespace tessera::io {
namespace {

using test::expect_open_error;
using test::iota_f32_bytes;
using test::RawBytes;
using tessera::test::TempDir;

constexpr uint32_t kF32 = 0, kQ8_0 = 8, kQ4_K = 12;
constexpr uint32_t kTypeU8 = 0, kTypeU32 = 4, kTypeBool = 7, kTypeString = 8, kTypeArray = 9;

class GgufBadInput : public ::testing::Test {
 protected:
  // Writes `bytes` to a fresh file and returns its path.
  std::string file(const std::string& bytes, const std::string& name = "bad.gguf") {
    const std::string path = dir_.file(name);
    tessera::test::write_file(path, bytes);
    return path;
  }

  // A valid file with one F32 tensor [8, 2] (64 bytes) described by the given info fields.
  std::string one_tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                         uint64_t offset, size_t data_bytes = 64) {
    RawBytes b;
    b.header(3, 1, 1).kv_string("general.architecture", "test").tensor_info(name, dims, type, offset);
    b.pad_to(32).zeros(data_bytes);
    return file(b.bytes);
  }

  TempDir dir_;
};

TEST_F(GgufBadInput, HandMadeBaselineIsValid) {
  const ModelFile f = open_model_file(one_tensor("w", {8, 2}, kF32, 0));
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].nbytes, 64u);
}

// Every proper prefix of a small valid file must fail cleanly.
TEST_F(GgufBadInput, EveryTruncationIsAnError) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.set_u32("test.count", 7);
  w.set_f32("test.eps", 1e-5f);
  w.set_bool("test.flag", true);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "bc", ""});
  w.set_f32_array("tokenizer.ggml.scores", {1, 2, 3});
  w.add_tensor("a", DType::F32, {3}, iota_f32_bytes(3));
  w.add_tensor("b", DType::F32, {8}, iota_f32_bytes(8));  // 32 bytes: the file ends with tensor data
  const std::string full = w.to_bytes();
  ASSERT_NO_THROW(open_model_file(file(full)));
  for (size_t n = 1; n < full.size(); ++n) {
    SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
    const std::string path = file(full.substr(0, n), "prefix" + std::to_string(n) + ".gguf");
    expect_open_error(path, {});
  }
}

// Random byte corruption of the header, metadata and tensor infos: each result
// either loads or fails with an Error (the sanitizer build checks for bad reads).
TEST_F(GgufBadInput, RandomCorruptionLoadsOrFailsCleanly) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.set_u32("general.alignment", 32);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "bc", "def"});
  w.set_i32_array("tokenizer.ggml.token_type", {1, 2, 3});
  w.add_tensor("a", DType::F32, {3, 2}, iota_f32_bytes(6));
  w.add_tensor("q", DType::Q8_0, {32}, std::vector<uint8_t>(34, 1));
  const std::string full = w.to_bytes();
  const size_t header_end = full.size() - 64 - 64;  // the two tensors' padded data
  std::mt19937 rng(1234);
  int loaded = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string bytes = full;
    const int flips = 1 + iter % 3;
    for (int k = 0; k < flips; ++k) {
      const size_t at = 4 + rng() % (header_end - 4);  // keep the magic
      bytes[at] = static_cast<char>(iter % 2 ? rng() : bytes[at] ^ (1 << (rng() % 8)));
    }
    const std::string path = file(bytes, "corrupt" + std::to_string(iter) + ".gguf");
    try {
      open_model_file(path);
      ++loaded;
    } catch (const Error& e) {
      ASSERT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_LT(loaded, 1500);
}

TEST_F(GgufBadInput, TruncationMessageNamesFieldAndOffset) {
  RawBytes b;
  b.header(3, 0, 1).str("general.architecture").u32(kTypeString).u64(5).raw("lla");
  expect_open_error(file(b.bytes), {"value of metadata key 'general.architecture' at byte offset 56 has length 5",
                                    "beyond the end of the file (3 bytes left)"});
  RawBytes c;
  c.header(3, 0, 1).str("general.name").u32(kTypeU32).u8(1);
  expect_open_error(file(c.bytes), {"truncated file: value of metadata key 'general.name' at byte offset 48"});
}

TEST_F(GgufBadInput, WrongMagic) {
  std::string bytes = RawBytes().header(3, 0, 0).bytes + std::string(40, '\0');
  bytes[3] = 'X';
  expect_open_error(file(bytes), {"is neither a GGUF file (bad magic 47 47 55 58)", "nor a llama2.c checkpoint"});
}

TEST_F(GgufBadInput, UnsupportedVersions) {
  expect_open_error(file(RawBytes().header(1, 0, 0).bytes), {"unsupported GGUF version 1"});
  expect_open_error(file(RawBytes().header(4, 0, 0).bytes), {"unsupported GGUF version 4"});
  expect_open_error(file(RawBytes().header(0, 0, 0).bytes), {"unsupported GGUF version 0"});
  expect_open_error(file(RawBytes().header(0x03000000, 0, 0).bytes), {"big-endian"});
  EXPECT_EQ(open_model_file(file(RawBytes().header(2, 0, 0).bytes)).format, "GGUF v2");
}

TEST_F(GgufBadInput, HugeCountsAreRejectedBeforeAllocating) {
  expect_open_error(file(RawBytes().header(3, uint64_t(1) << 62, 0).bytes),
                    {"tensor count 4611686018427387904", "cannot fit"});
  expect_open_error(file(RawBytes().header(3, 0, ~uint64_t(0)).bytes), {"metadata count", "cannot fit"});
  // Plausible at the header, impossible once the metadata has been read.
  RawBytes b;
  b.header(3, 2, 1).kv_u32("a", 1).zeros(40);
  expect_open_error(file(b.bytes), {"tensor count 2", "cannot fit"});
}

TEST_F(GgufBadInput, HugeStringLengths) {
  RawBytes key;
  key.header(3, 0, 1).u64(~uint64_t(0)).raw("abcdefghijklmnop");
  expect_open_error(file(key.bytes), {"key of metadata entry #0", "has length 18446744073709551615", "beyond the end"});
  RawBytes value;
  value.header(3, 0, 1).str("k").u32(kTypeString).u64(1000).raw("short");
  expect_open_error(file(value.bytes), {"metadata key 'k'", "length 1000", "beyond the end"});
  RawBytes element;
  element.header(3, 0, 1).str("k").u32(kTypeArray).u32(kTypeString).u64(2).str("ok").u64(1);
  expect_open_error(file(element.bytes), {"array element of metadata key 'k'", "beyond the end"});
  RawBytes name;
  name.header(3, 1, 0).u64(uint64_t(1) << 40).zeros(40);
  expect_open_error(file(name.bytes), {"name of tensor info #0", "beyond the end"});
}

TEST_F(GgufBadInput, HugeArrayLength) {
  RawBytes b;
  b.header(3, 0, 1).str("tokenizer.ggml.scores").u32(kTypeArray).u32(6).u64(uint64_t(1) << 60).zeros(16);
  expect_open_error(file(b.bytes), {"array length 1152921504606846976", "cannot fit"});
}

TEST_F(GgufBadInput, UnknownMetadataTypes) {
  RawBytes b;
  b.header(3, 0, 1).str("k").u32(13).u32(0);
  expect_open_error(file(b.bytes), {"metadata key 'k' has unknown value type 13", "byte offset 33"});
  RawBytes a;
  a.header(3, 0, 1).str("k").u32(kTypeArray).u32(77).u64(0);
  expect_open_error(file(a.bytes), {"metadata key 'k' has unknown array element type 77"});
}

TEST_F(GgufBadInput, InvalidBool) {
  RawBytes b;
  b.header(3, 0, 1).str("flag").u32(kTypeBool).u8(2);
  expect_open_error(file(b.bytes), {"metadata key 'flag' has invalid bool value 2"});
}

TEST_F(GgufBadInput, NestedArraysAreSkippedSafelyOrRefusedWhenTooDeep) {
  RawBytes ok;  // [[1, 2], ["x"]] then a normal key
  ok.header(3, 0, 2).str("nested").u32(kTypeArray).u32(kTypeArray).u64(2);
  ok.u32(kTypeU8).u64(2).u8(1).u8(2).u32(kTypeString).u64(1).str("x");
  ok.kv_u32("after", 9);
  const ModelFile f = open_model_file(file(ok.bytes));
  EXPECT_EQ(f.meta.at("nested").elem_type, MetaType::ARRAY);
  EXPECT_EQ(f.meta.at("nested").array_size, 2u);
  EXPECT_EQ(f.meta.get_int("after"), 9);

  RawBytes deep;
  deep.header(3, 0, 1).str("deep").u32(kTypeArray);
  for (int k = 0; k < 10; ++k) deep.u32(kTypeArray).u64(1);
  deep.u32(kTypeU8).u64(0);
  expect_open_error(file(deep.bytes), {"metadata key 'deep' nests arrays more than"});

  RawBytes lying;  // an inner array claiming more elements than the file holds
  lying.header(3, 0, 1).str("n").u32(kTypeArray).u32(kTypeArray).u64(1).u32(kTypeU32).u64(1000).u32(1);
  expect_open_error(file(lying.bytes), {"nested array length 1000", "cannot fit"});
}

TEST_F(GgufBadInput, DuplicateMetadataKey) {
  RawBytes b;
  b.header(3, 0, 2).kv_u32("llama.block_count", 1).kv_u32("llama.block_count", 2);
  expect_open_error(file(b.bytes), {"duplicate metadata key 'llama.block_count'"});
}

TEST_F(GgufBadInput, BadAlignment) {
  RawBytes b;
  b.header(3, 0, 1).kv_u32("general.alignment", 48);
  expect_open_error(file(b.bytes), {"general.alignment is 48, not a power of two"});
  RawBytes z;
  z.header(3, 0, 1).kv_u32("general.alignment", 0);
  expect_open_error(file(z.bytes), {"general.alignment is 0"});
  RawBytes s;
  s.header(3, 0, 1).kv_string("general.alignment", "32");
  expect_open_error(file(s.bytes), {"metadata key 'general.alignment' has type string, expected an integer"});
}

TEST_F(GgufBadInput, DimensionCount) {
  expect_open_error(one_tensor("w", {}, kF32, 0), {"tensor 'w' has 0 dimensions"});
  expect_open_error(one_tensor("w", {8, 2, 1, 1, 1}, kF32, 0), {"tensor 'w' has 5 dimensions"});
}

TEST_F(GgufBadInput, ZeroNegativeAndOverflowingDimensions) {
  expect_open_error(one_tensor("w", {8, 0}, kF32, 0), {"tensor 'w' dimension 1 is 0", "must be positive"});
  expect_open_error(one_tensor("w", {uint64_t(-3), 2}, kF32, 0), {"tensor 'w' dimension 0 is -3"});
  expect_open_error(one_tensor("w", {uint64_t(1) << 32, uint64_t(1) << 32}, kF32, 0),
                    {"tensor 'w' element count overflows"});
  // Fits in int64 elements, but not in bytes.
  expect_open_error(one_tensor("w", {uint64_t(1) << 31, uint64_t(1) << 31}, kF32, 0),
                    {"tensor 'w' byte size overflows"});
}

TEST_F(GgufBadInput, UnknownTensorType) {
  expect_open_error(one_tensor("blk.0.attn_q.weight", {8, 2}, 99, 0),
                    {"tensor 'blk.0.attn_q.weight' has unknown type 99"});
  expect_open_error(one_tensor("w", {8, 2}, 4, 0), {"unknown type 4"});  // a removed ggml type id
}

TEST_F(GgufBadInput, KnownButUnsupportedTypeIsAccepted) {
  const ModelFile f = open_model_file(one_tensor("w", {256}, kQ4_K, 0, 144));
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].type, DType::Q4_K);
  EXPECT_EQ(f.tensors[0].nbytes, 144u);
}

TEST_F(GgufBadInput, FirstDimensionNotAWholeNumberOfBlocks) {
  expect_open_error(one_tensor("w", {33, 1}, kQ8_0, 0),
                    {"tensor 'w' has first dimension 33, not a multiple of the Q8_0 block size 32"});
}

TEST_F(GgufBadInput, MisalignedOffset) {
  expect_open_error(one_tensor("w", {2}, kF32, 16), {"tensor 'w' data offset 16 is misaligned"});
}

TEST_F(GgufBadInput, DataOutsideTheFile) {
  expect_open_error(one_tensor("x", {8, 2}, kF32, 0, 63), {"tensor data for 'x'", "size 64", "lies outside the file"});
  expect_open_error(one_tensor("x", {8, 2}, kF32, 4096), {"tensor data for 'x'", "lies outside the file"});
  expect_open_error(one_tensor("x", {8, 2}, kF32, ~uint64_t(31)), {"tensor data for 'x'", "lies outside the file"});
}

TEST_F(GgufBadInput, DuplicateTensorNames) {
  RawBytes b;
  b.header(3, 2, 0).tensor_info("w", {8}, kF32, 0).tensor_info("w", {8}, kF32, 32).pad_to(32).zeros(64);
  expect_open_error(file(b.bytes), {"duplicate tensor name 'w'"});
}

TEST_F(GgufBadInput, OverlappingTensors) {
  RawBytes b;
  b.header(3, 2, 0).tensor_info("a", {16}, kF32, 0).tensor_info("b", {8}, kF32, 32).pad_to(32).zeros(64);
  expect_open_error(file(b.bytes), {"tensors 'a'", "and 'b'", "overlap"});
}

TEST_F(GgufBadInput, EmptyTensorName) {
  expect_open_error(one_tensor("", {8, 2}, kF32, 0), {"tensor info #0 has an empty name"});
}

TEST_F(GgufBadInput, TinyNonGgufFiles) {
  expect_open_error(file("GG"), {"neither a GGUF file", "2 bytes"});
  expect_open_error(file(std::string(27, 'x')), {"neither a GGUF file", "shorter than the 28-byte header"});
}

}  // namespace
}  // namespace tessera::io
