// A model file as the rest of the engine sees it: key/value metadata (GGUF's
// vocabulary of keys) and named tensor views into memory-mapped data. GGUF files
// map onto it directly; llama2.c checkpoints are translated into the same keys
// and tensor names, so model and tokenizer code read one format.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace tessera::io {

class MappedFile;  // io/mapped_file.h

// GGUF's metadata value types (the numbers are the on-disk ids).
enum class MetaType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* meta_type_name(MetaType t);
bool meta_type_is_integer(MetaType t);  // U8 .. I64 (not BOOL)
bool meta_type_is_float(MetaType t);    // F32, F64

// One metadata value. Scalars keep the on-disk type; arrays keep their element
// type and the elements in the one vector that fits that type.
struct MetaValue {
  MetaType type = MetaType::U32;
  MetaType elem_type = MetaType::U32;  // arrays only
  int64_t i = 0;                       // any integer type or bool
  uint64_t u = 0;                      // unsigned integer types (exact for U64)
  double f = 0;                        // F32 / F64
  std::string s;                       // STRING
  std::vector<int64_t> ints;           // array of integers / bools
  std::vector<double> floats;          // array of F32 / F64
  std::vector<std::string> strings;    // array of STRING
  uint64_t array_size = 0;             // array length (arrays of arrays keep only this)
};

// "u32", "array of string", ... as type-mismatch messages name a value's type.
std::string describe_meta_type(const MetaValue& v);

// Scalar values as a GGUF file would hold them (F32 rounded to float).
MetaValue meta_u32(uint32_t v);
MetaValue meta_f32(double v);
MetaValue meta_string(std::string s);

// Typed access to metadata; a missing key or a value of the wrong type throws
// an Error naming the key and the file.
class Metadata {
 public:
  std::string source;  // file path, for messages
  std::map<std::string, MetaValue> values;

  bool has(const std::string& key) const { return values.count(key) != 0; }
  const MetaValue* find(const std::string& key) const;
  const MetaValue& at(const std::string& key) const;

  int64_t get_int(const std::string& key) const;  // any integer type
  double get_float(const std::string& key) const;  // any float or integer type
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<std::string>& get_string_array(const std::string& key) const;
  std::vector<float> get_float_array(const std::string& key) const;
  std::vector<int32_t> get_int_array(const std::string& key) const;

  std::optional<int64_t> get_int_opt(const std::string& key) const;
  std::optional<double> get_float_opt(const std::string& key) const;
  std::optional<bool> get_bool_opt(const std::string& key) const;
  std::optional<std::string> get_string_opt(const std::string& key) const;
};

struct TensorInfo {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> ne;     // dimensions, innermost first (GGUF order): a matrix of
                               // R rows of C columns is ne = {C, R}
  uint64_t offset = 0;         // from the start of the tensor data section (GGUF) or file
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // points into the mapping

  int64_t n_elements() const;
};

struct ModelFile {
  std::string path;
  std::string format;  // "GGUF v3", "llama2.c checkpoint", ...
  uint32_t gguf_version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // GGUF: file offset of the tensor data section (tensor offsets are relative to it)
  Metadata meta;
  std::vector<TensorInfo> tensors;
  std::shared_ptr<const MappedFile> mapping;  // keeps tensor data alive
  std::shared_ptr<const MappedFile> extra_mapping;  // e.g. a separate tokenizer file

  const TensorInfo* find_tensor(const std::string& name) const;  // nullptr if absent
};

// Opens a model file. GGUF is recognised by its magic; anything else is tried as
// a llama2.c checkpoint, whose tokenizer comes from `tokenizer_path` (required for
// that format). Throws Error with a one-line message naming the file and the fault.
ModelFile open_model_file(const std::string& path, const std::string& tokenizer_path = "");

}  // namespace tessera::io
