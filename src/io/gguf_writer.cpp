#include "io/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "core/error.h"
#include "io/checked_math.h"
#include "io/output_file.h"

namespace tessera::io {
namespace {

// Appends little-endian encodings to a byte string (the host is little-endian; see byte_cursor.h).
class Encoder {
 public:
  std::string bytes;

  template <typename T>
  void put(T v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes += s;
  }
};

template <typename T>
T checked_narrow(int64_t v, const std::string& key) {
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
    fail("GGUF writer: metadata key '{}' value {} does not fit its type", key, v);
  return static_cast<T>(v);
}

// One integer (or bool) of type t; unsigned values arrive here as int64 (U64 as its bit pattern).
void put_integer(Encoder& e, MetaType t, int64_t v, const std::string& key) {
  switch (t) {
    case MetaType::U8: e.put(checked_narrow<uint8_t>(v, key)); break;
    case MetaType::I8: e.put(checked_narrow<int8_t>(v, key)); break;
    case MetaType::U16: e.put(checked_narrow<uint16_t>(v, key)); break;
    case MetaType::I16: e.put(checked_narrow<int16_t>(v, key)); break;
    case MetaType::U32: e.put(checked_narrow<uint32_t>(v, key)); break;
    case MetaType::I32: e.put(checked_narrow<int32_t>(v, key)); break;
    case MetaType::U64: e.put(static_cast<uint64_t>(v)); break;
    case MetaType::I64: e.put(v); break;
    case MetaType::BOOL:
      if (v != 0 && v != 1) fail("GGUF writer: metadata key '{}' bool value {} is not 0 or 1", key, v);
      e.put(static_cast<uint8_t>(v));
      break;
    default: fail("GGUF writer: metadata key '{}': {} is not an integer type", key, meta_type_name(t));
  }
}

void put_array(Encoder& e, const MetaValue& v, const std::string& key) {
  e.put(static_cast<uint32_t>(v.elem_type));
  switch (v.elem_type) {
    case MetaType::STRING:
      e.put<uint64_t>(v.strings.size());
      for (const auto& s : v.strings) e.string(s);
      break;
    case MetaType::F32:
      e.put<uint64_t>(v.floats.size());
      for (double f : v.floats) e.put(static_cast<float>(f));
      break;
    case MetaType::F64:
      e.put<uint64_t>(v.floats.size());
      for (double f : v.floats) e.put(f);
      break;
    case MetaType::ARRAY: fail("GGUF writer: metadata key '{}': arrays of arrays are not supported", key);
    default:
      e.put<uint64_t>(v.ints.size());
      for (int64_t i : v.ints) put_integer(e, v.elem_type, i, key);
  }
}

void put_value(Encoder& e, const MetaValue& v, const std::string& key) {
  e.put(static_cast<uint32_t>(v.type));
  switch (v.type) {
    case MetaType::STRING: e.string(v.s); break;
    case MetaType::ARRAY: put_array(e, v, key); break;
    case MetaType::F32: e.put(static_cast<float>(v.f)); break;
    case MetaType::F64: e.put(v.f); break;
    case MetaType::U8: case MetaType::U16: case MetaType::U32: case MetaType::U64:
      put_integer(e, v.type, static_cast<int64_t>(v.u), key);
      break;
    default: put_integer(e, v.type, v.i, key);
  }
}

bool is_unsigned(MetaType t) {
  return t == MetaType::U8 || t == MetaType::U16 || t == MetaType::U32 || t == MetaType::U64;
}

MetaValue scalar(MetaType t, int64_t i, uint64_t u) {
  MetaValue v;
  v.type = t;
  v.i = i;
  v.u = u;
  return v;
}

MetaValue array_of(MetaType elem, uint64_t n) {
  MetaValue v;
  v.type = MetaType::ARRAY;
  v.elem_type = elem;
  v.array_size = n;
  return v;
}

}  // namespace

void GgufWriter::set(const std::string& key, MetaValue value) {
  if (is_unsigned(value.type) && value.i != static_cast<int64_t>(value.u))
    fail("GGUF writer: metadata key '{}' is {} {} but its signed copy says {}", key, meta_type_name(value.type),
         value.u, value.i);
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::set_u32(const std::string& key, uint32_t v) { set(key, scalar(MetaType::U32, v, v)); }
void GgufWriter::set_i32(const std::string& key, int32_t v) { set(key, scalar(MetaType::I32, v, 0)); }
void GgufWriter::set_u64(const std::string& key, uint64_t v) {
  set(key, scalar(MetaType::U64, static_cast<int64_t>(v), v));
}
void GgufWriter::set_i64(const std::string& key, int64_t v) { set(key, scalar(MetaType::I64, v, 0)); }
void GgufWriter::set_bool(const std::string& key, bool v) { set(key, scalar(MetaType::BOOL, v ? 1 : 0, 0)); }

void GgufWriter::set_f32(const std::string& key, float v) {
  MetaValue m;
  m.type = MetaType::F32;
  m.f = v;
  set(key, std::move(m));
}

void GgufWriter::set_f64(const std::string& key, double v) {
  MetaValue m;
  m.type = MetaType::F64;
  m.f = v;
  set(key, std::move(m));
}

void GgufWriter::set_string(const std::string& key, std::string v) {
  MetaValue m;
  m.type = MetaType::STRING;
  m.s = std::move(v);
  set(key, std::move(m));
}

void GgufWriter::set_string_array(const std::string& key, std::vector<std::string> v) {
  MetaValue m = array_of(MetaType::STRING, v.size());
  m.strings = std::move(v);
  set(key, std::move(m));
}

void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& v) {
  MetaValue m = array_of(MetaType::F32, v.size());
  m.floats.assign(v.begin(), v.end());
  set(key, std::move(m));
}

void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
  MetaValue m = array_of(MetaType::I32, v.size());
  m.ints.assign(v.begin(), v.end());
  set(key, std::move(m));
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> ne,
                            std::vector<uint8_t> bytes) {
  if (name.empty()) fail("GGUF writer: tensor name is empty");
  for (const auto& t : tensors_)
    if (t.name == name) fail("GGUF writer: tensor '{}' added twice", name);
  if (ne.empty() || ne.size() > 4) fail("GGUF writer: tensor '{}' has {} dimensions (1 to 4 allowed)", name, ne.size());
  uint64_t rows = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] <= 0) fail("GGUF writer: tensor '{}' dimension {} is {}", name, d, ne[d]);
    if (d > 0) rows *= static_cast<uint64_t>(ne[d]);
  }
  const auto& info = dtype_info(type);
  if (ne[0] % info.block_size != 0)
    fail("GGUF writer: tensor '{}' first dimension {} is not a multiple of the {} block size {}", name, ne[0],
         info.name, info.block_size);
  const uint64_t expected = row_bytes(type, ne[0]) * rows;
  if (bytes.size() != expected)
    fail("GGUF writer: tensor '{}' has {} bytes of data, its shape and type need {}", name, bytes.size(), expected);
  tensors_.push_back({name, type, std::move(ne), std::move(bytes)});
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, const void* data,
                            size_t nbytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  add_tensor(name, type, std::move(ne), std::vector<uint8_t>(p, p + nbytes));
}

uint64_t GgufWriter::alignment() const {
  for (const auto& [k, v] : kv_) {
    if (k != "general.alignment") continue;
    const uint64_t a = v.type == MetaType::U32 ? v.u : 0;
    if (!is_power_of_two(a)) fail("GGUF writer: general.alignment must be a u32 power of two");
    return a;
  }
  return 32;
}

// Produces the file as a sequence of byte ranges: header, metadata and tensor
// infos, then each tensor's data followed by zero padding to the alignment.
template <typename Sink>
void GgufWriter::emit(Sink&& sink) const {
  const uint64_t align = alignment();
  Encoder head;
  head.bytes = "GGUF";
  head.put<uint32_t>(3);
  head.put<uint64_t>(tensors_.size());
  head.put<uint64_t>(kv_.size());
  for (const auto& [key, value] : kv_) {
    head.string(key);
    put_value(head, value, key);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    head.string(t.name);
    head.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) head.put<uint64_t>(static_cast<uint64_t>(n));
    head.put<uint32_t>(static_cast<uint32_t>(t.type));
    head.put<uint64_t>(offset);
    offset = *align_up(offset + t.bytes.size(), align);
  }
  const std::string zeros(align, '\0');
  sink(head.bytes.data(), head.bytes.size());
  if (tensors_.empty()) return;
  sink(zeros.data(), *align_up(head.bytes.size(), align) - head.bytes.size());
  for (const auto& t : tensors_) {
    sink(t.bytes.data(), t.bytes.size());
    sink(zeros.data(), *align_up(t.bytes.size(), align) - t.bytes.size());
  }
}

std::string GgufWriter::to_bytes() const {
  std::string out;
  emit([&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

void GgufWriter::write(const std::string& path) const {
  OutputFile out(path);
  emit([&](const void* p, size_t n) { out.write(p, n); });
  out.commit();
}

}  // namespace tessera::io
