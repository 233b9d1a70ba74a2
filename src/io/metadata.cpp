// Typed access to model metadata, plus the small ModelFile / TensorInfo helpers.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "io/model_file.h"

namespace tessera::io {
namespace {

[[noreturn]] void wrong_type(const Metadata& m, const std::string& key, const MetaValue& v, const char* expected) {
  fail("{}: metadata key '{}' has type {}, expected {}", m.source, key, describe_meta_type(v), expected);
}

}  // namespace

bool meta_type_is_integer(MetaType t) {
  switch (t) {
    case MetaType::U8: case MetaType::I8: case MetaType::U16: case MetaType::I16:
    case MetaType::U32: case MetaType::I32: case MetaType::U64: case MetaType::I64:
      return true;
    default:
      return false;
  }
}

bool meta_type_is_float(MetaType t) { return t == MetaType::F32 || t == MetaType::F64; }

std::string describe_meta_type(const MetaValue& v) {
  if (v.type != MetaType::ARRAY) return meta_type_name(v.type);
  return std::string("array of ") + meta_type_name(v.elem_type);
}

MetaValue meta_u32(uint32_t v) {
  MetaValue m;
  m.type = MetaType::U32;
  m.i = v;
  m.u = v;
  return m;
}

MetaValue meta_f32(double v) {
  MetaValue m;
  m.type = MetaType::F32;
  m.f = static_cast<float>(v);
  return m;
}

MetaValue meta_string(std::string s) {
  MetaValue m;
  m.type = MetaType::STRING;
  m.s = std::move(s);
  return m;
}

const char* meta_type_name(MetaType t) {
  switch (t) {
    case MetaType::U8: return "u8";
    case MetaType::I8: return "i8";
    case MetaType::U16: return "u16";
    case MetaType::I16: return "i16";
    case MetaType::U32: return "u32";
    case MetaType::I32: return "i32";
    case MetaType::F32: return "f32";
    case MetaType::BOOL: return "bool";
    case MetaType::STRING: return "string";
    case MetaType::ARRAY: return "array";
    case MetaType::U64: return "u64";
    case MetaType::I64: return "i64";
    case MetaType::F64: return "f64";
  }
  return "unknown";
}

const MetaValue* Metadata::find(const std::string& key) const {
  auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

const MetaValue& Metadata::at(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) fail("{}: metadata key '{}' is missing", source, key);
  return *v;
}

int64_t Metadata::get_int(const std::string& key) const {
  const MetaValue& v = at(key);
  if (!meta_type_is_integer(v.type)) wrong_type(*this, key, v, "an integer");
  if (v.type == MetaType::U64 && v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail("{}: metadata key '{}' has value {}, too large for a signed 64-bit integer", source, key, v.u);
  return v.i;
}

double Metadata::get_float(const std::string& key) const {
  const MetaValue& v = at(key);
  if (meta_type_is_float(v.type)) return v.f;
  if (v.type == MetaType::U64) return static_cast<double>(v.u);
  if (meta_type_is_integer(v.type)) return static_cast<double>(v.i);
  wrong_type(*this, key, v, "a number");
}

bool Metadata::get_bool(const std::string& key) const {
  const MetaValue& v = at(key);
  if (v.type != MetaType::BOOL) wrong_type(*this, key, v, "a bool");
  return v.i != 0;
}

const std::string& Metadata::get_string(const std::string& key) const {
  const MetaValue& v = at(key);
  if (v.type != MetaType::STRING) wrong_type(*this, key, v, "a string");
  return v.s;
}

const std::vector<std::string>& Metadata::get_string_array(const std::string& key) const {
  const MetaValue& v = at(key);
  if (v.type != MetaType::ARRAY || v.elem_type != MetaType::STRING) wrong_type(*this, key, v, "an array of strings");
  return v.strings;
}

std::vector<float> Metadata::get_float_array(const std::string& key) const {
  const MetaValue& v = at(key);
  if (v.type != MetaType::ARRAY) wrong_type(*this, key, v, "an array of numbers");
  if (meta_type_is_float(v.elem_type)) return {v.floats.begin(), v.floats.end()};
  if (meta_type_is_integer(v.elem_type)) return {v.ints.begin(), v.ints.end()};
  wrong_type(*this, key, v, "an array of numbers");
}

std::vector<int32_t> Metadata::get_int_array(const std::string& key) const {
  const MetaValue& v = at(key);
  if (v.type != MetaType::ARRAY || !(meta_type_is_integer(v.elem_type) || v.elem_type == MetaType::BOOL))
    wrong_type(*this, key, v, "an array of integers");
  std::vector<int32_t> out;
  out.reserve(v.ints.size());
  for (size_t i = 0; i < v.ints.size(); ++i) {
    const int64_t x = v.ints[i];
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
      fail("{}: metadata key '{}' element {} has value {}, outside the 32-bit integer range", source, key, i, x);
    out.push_back(static_cast<int32_t>(x));
  }
  return out;
}

// The optional getters: a missing key is fine, a key of the wrong type is still an error.
std::optional<int64_t> Metadata::get_int_opt(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key);
}

std::optional<double> Metadata::get_float_opt(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_float(key);
}

std::optional<bool> Metadata::get_bool_opt(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_bool(key);
}

std::optional<std::string> Metadata::get_string_opt(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // the readers reject shapes whose product overflows
  return n;
}

const TensorInfo* ModelFile::find_tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace tessera::io
