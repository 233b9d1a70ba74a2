#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"
#include "io/model_file.h"

namespace tessera::io {
namespace {

using ::testing::HasSubstr;

MetaValue scalar(MetaType t, int64_t i, uint64_t u = 0, double f = 0) {
  MetaValue v;
  v.type = t;
  v.i = i;
  v.u = u;
  v.f = f;
  return v;
}

MetaValue array(MetaType elem) {
  MetaValue v;
  v.type = MetaType::ARRAY;
  v.elem_type = elem;
  return v;
}

Metadata sample() {
  Metadata m;
  m.source = "model.gguf";
  m.values["u8"] = scalar(MetaType::U8, 200, 200);
  m.values["i16"] = scalar(MetaType::I16, -300);
  m.values["u32"] = scalar(MetaType::U32, 4000000000, 4000000000);
  m.values["u64_big"] = scalar(MetaType::U64, -1, UINT64_MAX);
  m.values["i64"] = scalar(MetaType::I64, -5000000000);
  m.values["f32"] = scalar(MetaType::F32, 0, 0, 0.5);
  m.values["f64"] = scalar(MetaType::F64, 0, 0, 1e-300);
  m.values["yes"] = scalar(MetaType::BOOL, 1);
  MetaValue s;
  s.type = MetaType::STRING;
  s.s = "llama";
  m.values["name"] = s;
  auto strings = array(MetaType::STRING);
  strings.strings = {"a", "b"};
  m.values["strings"] = strings;
  auto floats = array(MetaType::F32);
  floats.floats = {1.5, -2};
  m.values["floats"] = floats;
  auto ints = array(MetaType::I32);
  ints.ints = {1, -2, 3};
  m.values["ints"] = ints;
  auto wide = array(MetaType::I64);
  wide.ints = {1, int64_t(1) << 40};
  m.values["wide_ints"] = wide;
  return m;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Metadata, IntegersOfAnyWidth) {
  const Metadata m = sample();
  EXPECT_EQ(m.get_int("u8"), 200);
  EXPECT_EQ(m.get_int("i16"), -300);
  EXPECT_EQ(m.get_int("u32"), 4000000000);
  EXPECT_EQ(m.get_int("i64"), -5000000000);
  EXPECT_THAT(error_of([&] { m.get_int("u64_big"); }), HasSubstr("too large"));
}

TEST(Metadata, FloatsAcceptIntegers) {
  const Metadata m = sample();
  EXPECT_EQ(m.get_float("f32"), 0.5);
  EXPECT_EQ(m.get_float("f64"), 1e-300);
  EXPECT_EQ(m.get_float("i16"), -300.0);
  EXPECT_EQ(m.get_float("u64_big"), static_cast<double>(UINT64_MAX));
}

TEST(Metadata, OtherTypes) {
  const Metadata m = sample();
  EXPECT_TRUE(m.get_bool("yes"));
  EXPECT_EQ(m.get_string("name"), "llama");
  EXPECT_EQ(m.get_string_array("strings"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(m.get_float_array("floats"), (std::vector<float>{1.5f, -2.f}));
  EXPECT_EQ(m.get_float_array("ints"), (std::vector<float>{1.f, -2.f, 3.f}));
  EXPECT_EQ(m.get_int_array("ints"), (std::vector<int32_t>{1, -2, 3}));
}

TEST(Metadata, MissingKeyNamesKeyAndFile) {
  const Metadata m = sample();
  EXPECT_EQ(error_of([&] { m.get_int("llama.block_count"); }),
            "model.gguf: metadata key 'llama.block_count' is missing");
  EXPECT_EQ(m.find("llama.block_count"), nullptr);
  EXPECT_FALSE(m.has("llama.block_count"));
}

TEST(Metadata, WrongTypeNamesKeyTypeAndExpectation) {
  const Metadata m = sample();
  EXPECT_EQ(error_of([&] { m.get_int("name"); }),
            "model.gguf: metadata key 'name' has type string, expected an integer");
  EXPECT_THAT(error_of([&] { m.get_int("f32"); }), HasSubstr("has type f32, expected an integer"));
  EXPECT_THAT(error_of([&] { m.get_float("yes"); }), HasSubstr("has type bool, expected a number"));
  EXPECT_THAT(error_of([&] { m.get_bool("u8"); }), HasSubstr("has type u8, expected a bool"));
  EXPECT_THAT(error_of([&] { m.get_string("strings"); }), HasSubstr("has type array of string, expected a string"));
  EXPECT_THAT(error_of([&] { m.get_string_array("floats"); }), HasSubstr("array of f32, expected an array of strings"));
  EXPECT_THAT(error_of([&] { m.get_float_array("strings"); }), HasSubstr("expected an array of numbers"));
  EXPECT_THAT(error_of([&] { m.get_int_array("floats"); }), HasSubstr("expected an array of integers"));
  EXPECT_THAT(error_of([&] { m.get_int_array("wide_ints"); }),
              HasSubstr("'wide_ints' element 1 has value 1099511627776, outside the 32-bit integer range"));
}

TEST(Metadata, OptionalGettersOnlyForgiveAbsence) {
  const Metadata m = sample();
  EXPECT_EQ(m.get_int_opt("absent"), std::nullopt);
  EXPECT_EQ(m.get_float_opt("absent"), std::nullopt);
  EXPECT_EQ(m.get_bool_opt("absent"), std::nullopt);
  EXPECT_EQ(m.get_string_opt("absent"), std::nullopt);
  EXPECT_EQ(m.get_int_opt("u8"), 200);
  EXPECT_EQ(m.get_float_opt("f32"), 0.5);
  EXPECT_EQ(m.get_bool_opt("yes"), true);
  EXPECT_EQ(m.get_string_opt("name"), "llama");
  EXPECT_THAT(error_of([&] { m.get_int_opt("name"); }), HasSubstr("expected an integer"));
}

TEST(Metadata, TypeNames) {
  EXPECT_STREQ(meta_type_name(MetaType::U8), "u8");
  EXPECT_STREQ(meta_type_name(MetaType::F64), "f64");
  EXPECT_STREQ(meta_type_name(MetaType::ARRAY), "array");
  EXPECT_STREQ(meta_type_name(static_cast<MetaType>(99)), "unknown");
}

TEST(ModelFile, FindTensorAndElementCount) {
  ModelFile f;
  TensorInfo a;
  a.name = "a";
  a.ne = {64, 32, 2};
  f.tensors.push_back(a);
  ASSERT_NE(f.find_tensor("a"), nullptr);
  EXPECT_EQ(f.find_tensor("a")->n_elements(), 64 * 32 * 2);
  EXPECT_EQ(f.find_tensor("b"), nullptr);
}

}  // namespace
}  // namespace tessera::io
