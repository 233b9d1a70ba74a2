// Helpers for the io tests: a raw byte builder for hand-made (often broken)
// GGUF and llama2.c files, and a check that opening a file fails as expected.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/model_file.h"

namespace tessera::io::test {

// Appends little-endian fields; nothing is validated, so it can build any broken file.
class RawBytes {
 public:
  std::string bytes;

  template <typename T>
  RawBytes& put(T v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  RawBytes& u8(uint8_t v) { return put(v); }
  RawBytes& u32(uint32_t v) { return put(v); }
  RawBytes& i32(int32_t v) { return put(v); }
  RawBytes& u64(uint64_t v) { return put(v); }
  RawBytes& f32(float v) { return put(v); }
  RawBytes& raw(const std::string& s) {
    bytes += s;
    return *this;
  }
  RawBytes& str(const std::string& s) { return u64(s.size()).raw(s); }
  RawBytes& zeros(size_t n) { return raw(std::string(n, '\0')); }
  RawBytes& pad_to(size_t alignment) { return zeros((alignment - bytes.size() % alignment) % alignment); }

  // GGUF pieces.
  RawBytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  }
  RawBytes& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(4).u32(v); }
  RawBytes& kv_string(const std::string& key, const std::string& v) { return str(key).u32(8).str(v); }
  RawBytes& tensor_info(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
};

// The message of the Error thrown by open_model_file, or "" (with a test failure) if none is thrown.
inline std::string open_error(const std::string& path, const std::string& tokenizer = "") {
  try {
    open_model_file(path, tokenizer);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "opening '" << path << "' did not throw";
  return "";
}

// `msg` must be one line that names the file at fault and contains every word.
inline void expect_message(const std::string& msg, const std::string& path, std::initializer_list<std::string> words) {
  EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
  for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "missing '" << w << "' in: " << msg;
}

// Opening must throw an Error whose one-line message names the file and contains every word.
inline void expect_open_error(const std::string& path, std::initializer_list<std::string> words,
                              const std::string& tokenizer = "") {
  expect_message(open_error(path, tokenizer), path, words);
}

// The float32 bytes of 0, 1, 2, ... (n values): recognisable tensor contents.
inline std::vector<uint8_t> iota_f32_bytes(size_t n, float start = 0) {
  std::vector<uint8_t> out(n * 4);
  for (size_t k = 0; k < n; ++k) {
    const float v = start + static_cast<float>(k);
    std::memcpy(out.data() + 4 * k, &v, 4);
  }
  return out;
}

}  // namespace tessera::io::test
