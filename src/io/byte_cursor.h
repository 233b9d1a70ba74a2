// A bounds-checked little-endian reader over a byte range (a mapped file).
// Every read checks the bytes left first, so a truncated or lying file ends in
// an Error that names the file, the field being read and its byte offset.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace tessera::io {

static_assert(std::endian::native == std::endian::little,
              "model files are little-endian and are read in place; big-endian hosts are not supported");

class ByteCursor {
 public:
  ByteCursor(const uint8_t* data, uint64_t size, std::string path)
      : data_(data), size_(size), path_(std::move(path)) {}

  // Names what is being parsed ("metadata key 'x'", "tensor 'y'") for error messages.
  void set_context(std::string context) {
    context_ = std::move(context);
    item_label_ = nullptr;
  }
  // Like set_context("token 17"), but formatted only if an error needs it (hot loops).
  void set_context_item(const char* label, uint64_t index) {
    item_label_ = label;
    item_index_ = index;
  }
  std::string context() const { return item_label_ ? fmt::format("{} {}", item_label_, item_index_) : context_; }
  const std::string& path() const { return path_; }

  uint64_t offset() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }
  const uint8_t* base() const { return data_; }

  template <typename T>
  T read(std::string_view field) {
    static_assert(std::is_trivially_copyable_v<T>);
    require(sizeof(T), field);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  uint8_t u8(std::string_view field) { return read<uint8_t>(field); }
  uint32_t u32(std::string_view field) { return read<uint32_t>(field); }
  int32_t i32(std::string_view field) { return read<int32_t>(field); }
  uint64_t u64(std::string_view field) { return read<uint64_t>(field); }
  float f32(std::string_view field) { return read<float>(field); }

  // `n` raw bytes, returned as a view into the underlying data.
  std::string_view bytes(uint64_t n, std::string_view field) {
    require(n, field);
    std::string_view view(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return view;
  }

  void skip(uint64_t n, std::string_view field) {
    require(n, field);
    pos_ += n;
  }

  // A GGUF string: u64 length, then that many bytes (no terminator).
  std::string_view gguf_string(std::string_view field) {
    const uint64_t start = pos_;
    const uint64_t n = u64(field);
    if (n > remaining())
      fail("{}: {} of {} at byte offset {} has length {}, beyond the end of the file ({} bytes left)", path_,
           field, context(), start, n, remaining());
    return bytes(n, field);
  }

  // Throws the truncation error unless `n` more bytes are available.
  void require(uint64_t n, std::string_view field) const {
    if (n > remaining())
      fail("{}: truncated file: {} of {} at byte offset {} needs {} bytes, only {} left", path_, field, context(),
           pos_, n, remaining());
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string path_;
  std::string context_ = "the header";
  const char* item_label_ = nullptr;
  uint64_t item_index_ = 0;
};

}  // namespace tessera::io
