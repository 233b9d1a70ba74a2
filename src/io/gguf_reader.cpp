// GGUF layout (little-endian): "GGUF", u32 version, u64 tensor_count, u64 kv_count,
// kv_count x (string key, u32 value type, value), tensor_count x (string name,
// u32 n_dims, n_dims x u64 dims innermost first, u32 ggml type, u64 offset),
// zero padding to general.alignment (default 32), then the tensor data section,
// to whose start the tensor offsets are relative. Strings are u64 length + bytes.
//
// Nothing read from the file is trusted: every read is bounds-checked by the
// cursor, counts are checked against the bytes left before anything is
// allocated, and sizes are computed with overflow checks.
#include "io/gguf_reader.h"

#include <algorithm>
#include <limits>
#include <set>

#include "core/error.h"
#include "io/byte_cursor.h"
#include "io/checked_math.h"
#include "io/mapped_file.h"

namespace tessera::io {
namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
constexpr int kMaxArrayNesting = 4;  // arrays of arrays are skipped; deeper nesting is refused
// Smallest encodings, used to reject counts that could not fit in the bytes left.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;                // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, 1 dim, type, offset

bool known_meta_type(uint32_t t) { return t <= static_cast<uint32_t>(MetaType::F64); }

// Bytes of one value of a scalar type; strings and arrays have variable size.
uint64_t scalar_bytes(MetaType t) {
  switch (t) {
    case MetaType::U8: case MetaType::I8: case MetaType::BOOL: return 1;
    case MetaType::U16: case MetaType::I16: return 2;
    case MetaType::U32: case MetaType::I32: case MetaType::F32: return 4;
    case MetaType::U64: case MetaType::I64: case MetaType::F64: return 8;
    case MetaType::STRING: case MetaType::ARRAY: return 0;
  }
  return 0;
}

// Smallest encoding of one value of type t (string: its length; array: type + count).
uint64_t min_value_bytes(MetaType t) {
  if (t == MetaType::STRING) return 8;
  if (t == MetaType::ARRAY) return 12;
  return scalar_bytes(t);
}

class GgufParser {
 public:
  GgufParser(const MappedFile& file, ModelFile& out)
      : cur_(file.data(), file.size(), file.path()), out_(out), path_(file.path()) {}

  void parse() {
    cur_.set_context("the header");
    cur_.skip(4, "magic");
    read_version();
    const uint64_t tensor_count = read_count("tensor count", kMinTensorInfoBytes);
    const uint64_t kv_count = read_count("metadata count", kMinKvBytes);
    for (uint64_t i = 0; i < kv_count; ++i) read_kv(i);
    read_alignment();
    cur_.set_context("the header");
    check_count_fits(tensor_count, kMinTensorInfoBytes, "tensor count", 8);
    out_.tensors.reserve(tensor_count);
    std::set<std::string> names;
    for (uint64_t i = 0; i < tensor_count; ++i) read_tensor_info(i, names);
    place_tensor_data();
  }

 private:
  void read_version() {
    const uint32_t v = cur_.u32("version");
    if (v == 2 || v == 3) {
      out_.gguf_version = v;
      out_.format = "GGUF v" + std::to_string(v);
      return;
    }
    if (__builtin_bswap32(v) == 2 || __builtin_bswap32(v) == 3)
      fail("{}: big-endian GGUF (version {} byte-swapped) is not supported", path_, __builtin_bswap32(v));
    fail("{}: unsupported GGUF version {} (byte offset 4); Tessera reads versions 2 and 3", path_, v);
  }

  uint64_t read_count(const char* what, uint64_t min_item_bytes) {
    const uint64_t at = cur_.offset();
    const uint64_t n = cur_.u64(what);
    check_count_fits(n, min_item_bytes, what, at);
    return n;
  }

  // A count whose items could not fit in the rest of the file is corrupt: refuse it before allocating.
  void check_count_fits(uint64_t n, uint64_t min_item_bytes, const char* what, uint64_t at) {
    if (n > cur_.remaining() / min_item_bytes)
      fail("{}: {} {} in {} (byte offset {}) cannot fit in the {} bytes left in the file", path_, what, n,
           cur_.context(), at, cur_.remaining());
  }

  MetaType read_type(const char* field) {
    const uint64_t at = cur_.offset();
    const uint32_t t = cur_.u32(field);
    if (!known_meta_type(t)) fail("{}: {} has unknown {} {} (byte offset {})", path_, cur_.context(), field, t, at);
    return static_cast<MetaType>(t);
  }

  void read_kv(uint64_t index) {
    cur_.set_context(fmt::format("metadata entry #{}", index));
    const uint64_t at = cur_.offset();
    std::string key(cur_.gguf_string("key"));
    cur_.set_context(fmt::format("metadata key '{}'", key));
    if (out_.meta.has(key)) fail("{}: duplicate metadata key '{}' (byte offset {})", path_, key, at);
    const MetaType type = read_type("value type");
    out_.meta.values.emplace(std::move(key), read_value(type));
  }

  MetaValue read_value(MetaType type) {
    MetaValue v;
    v.type = type;
    switch (type) {
      case MetaType::STRING: v.s = std::string(cur_.gguf_string("value")); break;
      case MetaType::ARRAY: read_array(v); break;
      case MetaType::F32: v.f = cur_.f32("value"); break;
      case MetaType::F64: v.f = cur_.read<double>("value"); break;
      case MetaType::BOOL: v.i = read_bool("value"); break;
      default: read_integer(type, "value", v.i, v.u); break;
    }
    return v;
  }

  int64_t read_bool(const char* field) {
    const uint64_t at = cur_.offset();
    const uint8_t b = cur_.u8(field);
    if (b > 1) fail("{}: {} has invalid bool value {} (byte offset {})", path_, cur_.context(), b, at);
    return b;
  }

  // Signed types fill `i`; unsigned types fill `u` and `i` (which wraps only for U64 > INT64_MAX).
  void read_integer(MetaType type, const char* field, int64_t& i, uint64_t& u) {
    switch (type) {
      case MetaType::U8: u = cur_.read<uint8_t>(field); break;
      case MetaType::U16: u = cur_.read<uint16_t>(field); break;
      case MetaType::U32: u = cur_.read<uint32_t>(field); break;
      case MetaType::U64: u = cur_.read<uint64_t>(field); break;
      case MetaType::I8: i = cur_.read<int8_t>(field); return;
      case MetaType::I16: i = cur_.read<int16_t>(field); return;
      case MetaType::I32: i = cur_.read<int32_t>(field); return;
      case MetaType::I64: i = cur_.read<int64_t>(field); return;
      default: fail("{}: internal error: {} is not an integer type", path_, meta_type_name(type));
    }
    i = static_cast<int64_t>(u);
  }

  void read_array(MetaValue& v) {
    v.elem_type = read_type("array element type");
    const uint64_t at = cur_.offset();
    v.array_size = cur_.u64("array length");
    check_count_fits(v.array_size, min_value_bytes(v.elem_type), "array length", at);
    switch (v.elem_type) {
      case MetaType::ARRAY:
        for (uint64_t k = 0; k < v.array_size; ++k) skip_array(1);
        break;
      case MetaType::STRING:
        v.strings.reserve(v.array_size);
        for (uint64_t k = 0; k < v.array_size; ++k) v.strings.emplace_back(cur_.gguf_string("array element"));
        break;
      case MetaType::F32:
        v.floats.reserve(v.array_size);
        for (uint64_t k = 0; k < v.array_size; ++k) v.floats.push_back(cur_.f32("array element"));
        break;
      case MetaType::F64:
        v.floats.reserve(v.array_size);
        for (uint64_t k = 0; k < v.array_size; ++k) v.floats.push_back(cur_.read<double>("array element"));
        break;
      case MetaType::BOOL:
        v.ints.reserve(v.array_size);
        for (uint64_t k = 0; k < v.array_size; ++k) v.ints.push_back(read_bool("array element"));
        break;
      default: {
        v.ints.reserve(v.array_size);
        int64_t i = 0;
        uint64_t u = 0;
        for (uint64_t k = 0; k < v.array_size; ++k) {
          read_integer(v.elem_type, "array element", i, u);
          v.ints.push_back(i);
        }
      }
    }
  }

  // Arrays of arrays carry nothing Tessera uses; they are walked (bounds-checked) and dropped.
  void skip_array(int depth) {
    if (depth > kMaxArrayNesting)
      fail("{}: {} nests arrays more than {} deep (byte offset {})", path_, cur_.context(), kMaxArrayNesting,
           cur_.offset());
    const MetaType elem = read_type("nested array element type");
    const uint64_t at = cur_.offset();
    const uint64_t n = cur_.u64("nested array length");
    check_count_fits(n, min_value_bytes(elem), "nested array length", at);
    if (elem == MetaType::ARRAY) {
      for (uint64_t k = 0; k < n; ++k) skip_array(depth + 1);
    } else if (elem == MetaType::STRING) {
      for (uint64_t k = 0; k < n; ++k) cur_.gguf_string("nested array element");
    } else {
      cur_.skip(n * scalar_bytes(elem), "nested array elements");  // n * size <= remaining, checked above
    }
  }

  void read_alignment() {
    if (!out_.meta.has("general.alignment")) {
      out_.alignment = kDefaultAlignment;
      return;
    }
    const int64_t a = out_.meta.get_int("general.alignment");
    if (a <= 0 || !is_power_of_two(static_cast<uint64_t>(a)))
      fail("{}: general.alignment is {}, not a power of two", path_, a);
    out_.alignment = static_cast<uint64_t>(a);
  }

  void read_tensor_info(uint64_t index, std::set<std::string>& names) {
    cur_.set_context(fmt::format("tensor info #{}", index));
    const uint64_t at = cur_.offset();
    TensorInfo t;
    t.name = std::string(cur_.gguf_string("name"));
    cur_.set_context(fmt::format("tensor '{}'", t.name));
    if (t.name.empty()) fail("{}: tensor info #{} has an empty name (byte offset {})", path_, index, at);
    if (!names.insert(t.name).second) fail("{}: duplicate tensor name '{}' (byte offset {})", path_, t.name, at);

    read_shape(t);
    const uint64_t type_at = cur_.offset();
    const uint32_t type_id = cur_.u32("type");
    const auto info = dtype_info(type_id);
    if (!info) fail("{}: tensor '{}' has unknown type {} (byte offset {})", path_, t.name, type_id, type_at);
    t.type = static_cast<DType>(type_id);
    if (t.ne[0] % info->block_size != 0)
      fail("{}: tensor '{}' has first dimension {}, not a multiple of the {} block size {}", path_, t.name, t.ne[0],
           info->name, info->block_size);
    t.nbytes = tensor_bytes(t, *info);

    const uint64_t offset_at = cur_.offset();
    t.offset = cur_.u64("data offset");
    if (t.offset % out_.alignment != 0)
      fail("{}: tensor '{}' data offset {} is misaligned (not a multiple of the alignment {}; byte offset {})", path_,
           t.name, t.offset, out_.alignment, offset_at);
    out_.tensors.push_back(std::move(t));
  }

  void read_shape(TensorInfo& t) {
    const uint64_t at = cur_.offset();
    const uint32_t n_dims = cur_.u32("dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      fail("{}: tensor '{}' has {} dimensions (byte offset {}); 1 to {} are allowed", path_, t.name, n_dims, at,
           kMaxDims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim_at = cur_.offset();
      const uint64_t n = cur_.u64("dimension");
      if (n == 0 || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("{}: tensor '{}' dimension {} is {} (byte offset {}); dimensions must be positive", path_, t.name, d,
             static_cast<int64_t>(n), dim_at);
      const auto product = checked_mul(elements, n);
      if (!product || *product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("{}: tensor '{}' element count overflows (dimension {} is {}, byte offset {})", path_, t.name, d, n,
             dim_at);
      elements = *product;
      t.ne.push_back(static_cast<int64_t>(n));
    }
  }

  uint64_t tensor_bytes(const TensorInfo& t, const DTypeInfo& info) {
    const uint64_t rows = static_cast<uint64_t>(t.n_elements() / t.ne[0]);
    const auto row = checked_mul(static_cast<uint64_t>(t.ne[0]) / info.block_size, info.block_bytes);
    const auto total = row ? checked_mul(*row, rows) : std::nullopt;
    if (!total) fail("{}: tensor '{}' byte size overflows", path_, t.name);
    return *total;
  }

  // Resolves each tensor's data pointer and checks that the data lie inside the
  // file and that no two tensors share bytes.
  void place_tensor_data() {
    const auto data_start = align_up(cur_.offset(), out_.alignment);
    if (!data_start) fail("{}: tensor data section start overflows", path_);
    const uint64_t file_size = cur_.size();
    for (auto& t : out_.tensors) {
      const auto begin = checked_add(*data_start, t.offset);
      const auto end = begin ? checked_add(*begin, t.nbytes) : std::nullopt;
      if (!end || *end > file_size)
        fail("{}: tensor data for '{}' (offset {}, size {}) lies outside the file ({} bytes)", path_, t.name,
             begin ? std::to_string(*begin) : std::string("overflowing"), t.nbytes, file_size);
      t.data = cur_.base() + *begin;
    }
    out_.data_offset = *data_start;
    check_no_overlap();
  }

  void check_no_overlap() const {
    std::vector<const TensorInfo*> by_offset;
    by_offset.reserve(out_.tensors.size());
    for (const auto& t : out_.tensors) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t k = 1; k < by_offset.size(); ++k) {
      const TensorInfo& prev = *by_offset[k - 1];
      const TensorInfo& next = *by_offset[k];
      if (prev.offset + prev.nbytes > next.offset)
        fail("{}: tensors '{}' (offset {}, size {}) and '{}' (offset {}) overlap", path_, prev.name, prev.offset,
             prev.nbytes, next.name, next.offset);
    }
  }

  ByteCursor cur_;
  ModelFile& out_;
  const std::string& path_;
};

}  // namespace

ModelFile read_gguf(std::shared_ptr<const MappedFile> file) {
  ModelFile out;
  out.path = file->path();
  out.meta.source = file->path();
  GgufParser(*file, out).parse();
  out.mapping = std::move(file);
  return out;
}

}  // namespace tessera::io
