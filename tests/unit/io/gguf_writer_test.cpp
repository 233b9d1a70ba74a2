// GgufWriter -> open_model_file round trips.
#include "io/gguf_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "core/half.h"
#include "unit/io/io_test_util.h"
#include "io/mapped_file.h"
#include "test_util.h"

namespace tessera::io {
namespace {

using ::testing::HasSubstr;
using test::iota_f32_bytes;
using tessera::test::TempDir;

MetaValue int_scalar(MetaType t, int64_t v) {
  MetaValue m;
  m.type = t;
  m.i = v;
  if (t == MetaType::U8 || t == MetaType::U16 || t == MetaType::U32 || t == MetaType::U64)
    m.u = static_cast<uint64_t>(v);
  return m;
}

MetaValue int_array(MetaType elem, std::vector<int64_t> v) {
  MetaValue m;
  m.type = MetaType::ARRAY;
  m.elem_type = elem;
  m.array_size = v.size();
  m.ints = std::move(v);
  return m;
}

std::vector<uint8_t> pattern_bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t k = 0; k < n; ++k) out[k] = static_cast<uint8_t>(seed + 7 * k);
  return out;
}

TEST(GgufWriter, EveryMetadataTypeRoundTrips) {
  GgufWriter w;
  w.set("u8", int_scalar(MetaType::U8, 255));
  w.set("i8", int_scalar(MetaType::I8, -128));
  w.set("u16", int_scalar(MetaType::U16, 65535));
  w.set("i16", int_scalar(MetaType::I16, -32768));
  w.set_u32("u32", 4294967295u);
  w.set_i32("i32", -2147483647 - 1);
  w.set_u64("u64", 18446744073709551615ull);
  w.set_i64("i64", -9223372036854775807ll - 1);
  w.set_f32("f32", 1e-5f);
  w.set_f64("f64", 0.1);
  w.set_bool("bool_true", true);
  w.set_bool("bool_false", false);
  w.set_string("string", "h\xC3\xA9llo\n");
  w.set_string("empty_string", "");
  w.set_string_array("strings", {"<unk>", "", "\xE2\x96\x81the"});
  w.set_f32_array("f32s", {0.f, -1.5f, 3e38f});
  w.set_i32_array("i32s", {2, -3, 2147483647});
  w.set("u8s", int_array(MetaType::U8, {0, 255}));
  w.set("i16s", int_array(MetaType::I16, {-32768, 32767}));
  w.set("u64s", int_array(MetaType::U64, {0, int64_t(1) << 62}));
  w.set("bools", int_array(MetaType::BOOL, {1, 0, 1}));
  MetaValue f64s;
  f64s.type = MetaType::ARRAY;
  f64s.elem_type = MetaType::F64;
  f64s.floats = {1e-300, -2.5};
  w.set("f64s", f64s);
  w.set_i32_array("empty_array", {});

  TempDir dir;
  const std::string path = dir.file("meta.gguf");
  w.write(path);
  const ModelFile f = open_model_file(path);
  const Metadata& m = f.meta;
  EXPECT_EQ(f.format, "GGUF v3");
  EXPECT_EQ(f.gguf_version, 3u);
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_EQ(m.values.size(), 23u);

  EXPECT_EQ(m.at("u8").type, MetaType::U8);
  EXPECT_EQ(m.get_int("u8"), 255);
  EXPECT_EQ(m.at("i8").type, MetaType::I8);
  EXPECT_EQ(m.get_int("i8"), -128);
  EXPECT_EQ(m.get_int("u16"), 65535);
  EXPECT_EQ(m.get_int("i16"), -32768);
  EXPECT_EQ(m.at("u32").type, MetaType::U32);
  EXPECT_EQ(m.get_int("u32"), 4294967295ll);
  EXPECT_EQ(m.get_int("i32"), -2147483648ll);
  EXPECT_EQ(m.at("u64").type, MetaType::U64);
  EXPECT_EQ(m.at("u64").u, 18446744073709551615ull);
  EXPECT_EQ(m.get_int("i64"), -9223372036854775807ll - 1);
  EXPECT_EQ(m.at("f32").type, MetaType::F32);
  EXPECT_EQ(m.get_float("f32"), static_cast<double>(1e-5f));
  EXPECT_EQ(m.at("f64").type, MetaType::F64);
  EXPECT_EQ(m.get_float("f64"), 0.1);
  EXPECT_TRUE(m.get_bool("bool_true"));
  EXPECT_FALSE(m.get_bool("bool_false"));
  EXPECT_EQ(m.get_string("string"), "h\xC3\xA9llo\n");
  EXPECT_EQ(m.get_string("empty_string"), "");
  EXPECT_EQ(m.get_string_array("strings"), (std::vector<std::string>{"<unk>", "", "\xE2\x96\x81the"}));
  EXPECT_EQ(m.at("strings").array_size, 3u);
  EXPECT_EQ(m.get_float_array("f32s"), (std::vector<float>{0.f, -1.5f, 3e38f}));
  EXPECT_EQ(m.get_int_array("i32s"), (std::vector<int32_t>{2, -3, 2147483647}));
  EXPECT_EQ(m.at("u8s").elem_type, MetaType::U8);
  EXPECT_EQ(m.at("u8s").ints, (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(m.at("i16s").ints, (std::vector<int64_t>{-32768, 32767}));
  EXPECT_EQ(m.at("u64s").ints, (std::vector<int64_t>{0, int64_t(1) << 62}));
  EXPECT_EQ(m.at("bools").elem_type, MetaType::BOOL);
  EXPECT_EQ(m.get_int_array("bools"), (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(m.at("f64s").floats, (std::vector<double>{1e-300, -2.5}));
  EXPECT_EQ(m.at("empty_array").array_size, 0u);
  EXPECT_TRUE(m.get_int_array("empty_array").empty());
}

TEST(GgufWriter, TensorsOfSeveralTypesRoundTripZeroCopy) {
  std::vector<uint8_t> f16(4 * 3 * 2);
  for (size_t k = 0; k < 12; ++k) {
    const uint16_t h = fp32_to_fp16(0.25f * static_cast<float>(k));
    std::memcpy(f16.data() + 2 * k, &h, 2);
  }
  const auto f32 = iota_f32_bytes(5);        // 20 bytes: needs padding after it
  const auto q8 = pattern_bytes(34 * 2 * 3, 1);  // 64 x 3, two Q8_0 blocks per row
  const auto q4 = pattern_bytes(18 * 4, 2);      // 32 x 2 x 2, one Q4_0 block per row
  const auto q4k = pattern_bytes(144, 3);        // known type without kernels: accepted by the reader

  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.add_tensor("vec", DType::F32, {5}, f32);
  w.add_tensor("half", DType::F16, {4, 3}, f16.data(), f16.size());
  w.add_tensor("q8", DType::Q8_0, {64, 3}, q8);
  w.add_tensor("q4", DType::Q4_0, {32, 2, 2}, q4);
  w.add_tensor("k", DType::Q4_K, {256}, q4k);

  TempDir dir;
  const std::string path = dir.file("tensors.gguf");
  w.write(path);
  EXPECT_EQ(tessera::test::read_file(path), w.to_bytes());
  const ModelFile f = open_model_file(path);
  ASSERT_EQ(f.tensors.size(), 5u);
  EXPECT_EQ(f.alignment, 32u);

  struct Want {
    const char* name;
    DType type;
    std::vector<int64_t> ne;
    const std::vector<uint8_t>* bytes;
  };
  const Want want[] = {{"vec", DType::F32, {5}, &f32},
                       {"half", DType::F16, {4, 3}, &f16},
                       {"q8", DType::Q8_0, {64, 3}, &q8},
                       {"q4", DType::Q4_0, {32, 2, 2}, &q4},
                       {"k", DType::Q4_K, {256}, &q4k}};
  const uint8_t* base = f.mapping->data();
  for (size_t k = 0; k < 5; ++k) {
    const TensorInfo& t = f.tensors[k];  // insertion order is kept
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, want[k].name);
    EXPECT_EQ(t.type, want[k].type);
    EXPECT_EQ(t.ne, want[k].ne);
    ASSERT_EQ(t.nbytes, want[k].bytes->size());
    EXPECT_EQ(std::memcmp(t.data, want[k].bytes->data(), t.nbytes), 0);
    EXPECT_EQ(t.offset % 32, 0u);
    EXPECT_EQ(t.data, base + f.data_offset + t.offset);  // a view into the mapping, not a copy
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 32, 0u);
    EXPECT_EQ(f.find_tensor(want[k].name), &t);
  }
  EXPECT_EQ(f.data_offset % 32, 0u);
}

TEST(GgufWriter, CustomAlignmentIsUsedAndPreserved) {
  GgufWriter w;
  w.set_u32("general.alignment", 256);
  w.add_tensor("a", DType::F32, {3}, iota_f32_bytes(3));
  w.add_tensor("b", DType::F32, {3}, iota_f32_bytes(3, 10));
  TempDir dir;
  const std::string path = dir.file("aligned.gguf");
  w.write(path);
  const ModelFile f = open_model_file(path);
  EXPECT_EQ(f.alignment, 256u);
  EXPECT_EQ(f.data_offset % 256, 0u);
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[1].offset, 256u);
  float b0;
  std::memcpy(&b0, f.tensors[1].data, 4);
  EXPECT_EQ(b0, 10.f);
}

TEST(GgufWriter, SettingAKeyTwiceReplacesIt) {
  GgufWriter w;
  w.set_u32("a", 1);
  w.set_string("a", "two");
  TempDir dir;
  w.write(dir.file("x.gguf"));
  const ModelFile f = open_model_file(dir.file("x.gguf"));
  EXPECT_EQ(f.meta.values.size(), 1u);
  EXPECT_EQ(f.meta.get_string("a"), "two");
}

std::string writer_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GgufWriter, RejectsInconsistentTensors) {
  GgufWriter w;
  w.add_tensor("a", DType::F32, {2}, iota_f32_bytes(2));
  EXPECT_THAT(writer_error([&] { w.add_tensor("a", DType::F32, {2}, iota_f32_bytes(2)); }), HasSubstr("twice"));
  EXPECT_THAT(writer_error([&] { w.add_tensor("b", DType::F32, {3}, iota_f32_bytes(2)); }),
              HasSubstr("has 8 bytes of data, its shape and type need 12"));
  EXPECT_THAT(writer_error([&] { w.add_tensor("c", DType::Q8_0, {16}, pattern_bytes(17, 0)); }),
              HasSubstr("not a multiple of the Q8_0 block size 32"));
  EXPECT_THAT(writer_error([&] { w.add_tensor("d", DType::F32, {}, {}); }), HasSubstr("0 dimensions"));
  EXPECT_THAT(writer_error([&] { w.add_tensor("e", DType::F32, {2, 0}, {}); }), HasSubstr("dimension 1 is 0"));
  EXPECT_THAT(writer_error([&] { w.add_tensor("", DType::F32, {1}, iota_f32_bytes(1)); }), HasSubstr("empty"));
}

TEST(GgufWriter, RejectsBadMetadata) {
  GgufWriter w;
  MetaValue lying = int_scalar(MetaType::U32, 5);
  lying.u = 6;
  EXPECT_THAT(writer_error([&] { w.set("k", lying); }), HasSubstr("'k'"));
  w.set("too_big", int_scalar(MetaType::U8, 256));
  EXPECT_THAT(writer_error([&] { w.to_bytes(); }), HasSubstr("'too_big' value 256 does not fit"));

  GgufWriter a;
  a.set_u32("general.alignment", 48);
  EXPECT_THAT(writer_error([&] { a.to_bytes(); }), HasSubstr("power of two"));
}

TEST(GgufWriter, UnwritablePathThrows) {
  GgufWriter w;
  TempDir dir;
  const std::string path = dir.file("no/such/dir/x.gguf");
  EXPECT_THAT(writer_error([&] { w.write(path); }), HasSubstr("cannot create '" + path + "'"));
}

}  // namespace
}  // namespace tessera::io
