#include "core/dtype.h"

#include <array>

#include "core/error.h"
#include "core/text.h"

namespace tessera {
namespace {

struct Entry {
  uint32_t id;
  DTypeInfo info;
};

// Block layouts as GGUF stores them (ggml's block_* structs).
constexpr std::array kTypes = {
    Entry{0, {"F32", 1, 4, true}},       Entry{1, {"F16", 1, 2, true}},
    Entry{2, {"Q4_0", 32, 18, true}},    Entry{3, {"Q4_1", 32, 20, true}},
    Entry{6, {"Q5_0", 32, 22, true}},   Entry{7, {"Q5_1", 32, 24, true}},
    Entry{8, {"Q8_0", 32, 34, true}},    Entry{9, {"Q8_1", 32, 36, false}},
    Entry{10, {"Q2_K", 256, 84, true}},  Entry{11, {"Q3_K", 256, 110, true}},
    Entry{12, {"Q4_K", 256, 144, true}}, Entry{13, {"Q5_K", 256, 176, true}},
    Entry{14, {"Q6_K", 256, 210, true}}, Entry{15, {"Q8_K", 256, 292, false}},
    Entry{20, {"IQ4_NL", 32, 18, true}}, Entry{23, {"IQ4_XS", 256, 136, true}},
    Entry{24, {"I8", 1, 1, false}},      Entry{25, {"I16", 1, 2, false}},
    Entry{26, {"I32", 1, 4, false}},     Entry{27, {"I64", 1, 8, false}},
    Entry{28, {"F64", 1, 8, false}},     Entry{30, {"BF16", 1, 2, true}},
};

}  // namespace

std::optional<DTypeInfo> dtype_info(uint32_t id) {
  for (const auto& e : kTypes)
    if (e.id == id) return e.info;
  return std::nullopt;
}

const DTypeInfo& dtype_info(DType type) {
  for (const auto& e : kTypes)
    if (e.id == static_cast<uint32_t>(type)) return e.info;
  fail("internal error: unknown tensor type id {}", static_cast<uint32_t>(type));
}

std::string_view dtype_name(DType type) { return dtype_info(type).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kTypes)
    if (iequals(e.info.name, name)) return static_cast<DType>(e.id);
  return std::nullopt;
}

size_t row_bytes(DType type, int64_t n) {
  const auto& info = dtype_info(type);
  if (n < 0 || n % info.block_size != 0)
    fail("row of {} elements is not a whole number of {} blocks ({} elements each)", n, info.name,
         info.block_size);
  return static_cast<size_t>(n / info.block_size) * info.block_bytes;
}

}  // namespace tessera
