// Writes GGUF v3 files: metadata in insertion order, tensors in insertion order,
// each tensor's data aligned to general.alignment (32 unless set) with zero padding.
// Used by tests to build model files and by tools (quantize) to write them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "io/model_file.h"

namespace tessera::io {

class GgufWriter {
 public:
  // Sets a metadata value; setting an existing key replaces it in place. For
  // unsigned types the value is taken from `u` (and `i` must equal it, as the
  // reader fills both); arrays are written from ints / floats / strings.
  void set(const std::string& key, MetaValue value);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_i64(const std::string& key, int64_t v);
  void set_f32(const std::string& key, float v);
  void set_f64(const std::string& key, double v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, std::string v);
  void set_string_array(const std::string& key, std::vector<std::string> v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);

  // Adds a tensor of shape `ne` (innermost first); `bytes` must be exactly its
  // size in `type`'s layout. The data are kept until write().
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, std::vector<uint8_t> bytes);
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, const void* data, size_t nbytes);

  std::string to_bytes() const;            // the whole file image
  // Throws Error if the file cannot be written; never leaves a partial file at
  // `path` (written under a temporary name, then renamed: io/output_file.h).
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> bytes;
  };
  template <typename Sink>
  void emit(Sink&& sink) const;
  uint64_t alignment() const;

  std::vector<std::pair<std::string, MetaValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace tessera::io
