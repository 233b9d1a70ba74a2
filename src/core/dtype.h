// Element and block formats of tensors. Values match GGML's type ids, so a
// GGUF tensor's type field maps directly onto DType.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tessera {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ4_NL = 20,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

struct DTypeInfo {
  std::string_view name;
  uint32_t block_size;   // elements per block (1 for plain types)
  uint32_t block_bytes;  // bytes per block
  bool supported;        // Tessera has kernels for it
};

// Layout facts for a GGML type id, or nullopt when the id is unknown.
std::optional<DTypeInfo> dtype_info(uint32_t id);
const DTypeInfo& dtype_info(DType type);  // id must be known
std::string_view dtype_name(DType type);
std::optional<DType> dtype_from_name(std::string_view name);  // "f32", "Q8_0", ... (case-insensitive)

// Bytes taken by a row of `n` elements; n must be a multiple of the block size.
size_t row_bytes(DType type, int64_t n);

}  // namespace tessera
