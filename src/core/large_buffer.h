// Memory for large, long-lived data written once and then streamed (weights
// rearranged at load): an anonymous mapping with transparent huge pages asked
// for, so reading a gigabyte of weights per token walks few page-table entries.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera {

class LargeBuffer {
 public:
  LargeBuffer() = default;
  explicit LargeBuffer(size_t bytes);  // zero-filled; throws Error when the mapping fails
  ~LargeBuffer();
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tessera
