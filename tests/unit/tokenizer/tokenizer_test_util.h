// Helpers for the tokenizer tests: metadata built by hand, llama2.c tokenizer
// files read into GGUF keys, and llama.cpp's .inp / .out test vectors.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace tessera::test {

inline io::MetaValue meta_string(const std::string& s) {
  io::MetaValue v;
  v.type = io::MetaType::STRING;
  v.s = s;
  return v;
}

inline io::MetaValue meta_u32(int64_t x) {
  io::MetaValue v;
  v.type = io::MetaType::U32;
  v.i = x;
  v.u = static_cast<uint64_t>(x);
  return v;
}

inline io::MetaValue meta_bool(bool b) {
  io::MetaValue v;
  v.type = io::MetaType::BOOL;
  v.i = b;
  return v;
}

inline io::MetaValue meta_strings(const std::vector<std::string>& items) {
  io::MetaValue v;
  v.type = io::MetaType::ARRAY;
  v.elem_type = io::MetaType::STRING;
  v.strings = items;
  v.array_size = items.size();
  return v;
}

inline io::MetaValue meta_f32s(const std::vector<float>& items) {
  io::MetaValue v;
  v.type = io::MetaType::ARRAY;
  v.elem_type = io::MetaType::F32;
  v.floats.assign(items.begin(), items.end());
  v.array_size = items.size();
  return v;
}

inline io::MetaValue meta_i32s(const std::vector<int32_t>& items) {
  io::MetaValue v;
  v.type = io::MetaType::ARRAY;
  v.elem_type = io::MetaType::I32;
  v.ints.assign(items.begin(), items.end());
  v.array_size = items.size();
  return v;
}

// A llama2.c tokenizer file (u32 max_len; per token f32 score, i32 len, bytes)
// as "llama" tokenizer metadata: ' ' -> "▁" in pieces; id 0 unknown, 1-2
// control, "<0xXX>" byte, the rest normal; BOS 1, EOS 2, UNK 0.
inline io::Metadata llama2c_tokenizer_metadata(const std::string& path, size_t n_vocab) {
  const std::string bytes = read_file(path);
  size_t pos = 4;  // max_token_length is not needed
  const auto take = [&](void* dst, size_t n) {
    if (pos + n > bytes.size()) throw std::runtime_error(path + ": truncated llama2.c tokenizer file");
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
  };
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (size_t id = 0; id < n_vocab; ++id) {
    float score = 0;
    int32_t len = 0;
    take(&score, 4);
    take(&len, 4);
    std::string piece(static_cast<size_t>(len), '\0');
    take(piece.data(), piece.size());
    std::string spm;
    for (char c : piece) spm += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
    const bool is_byte = spm.size() == 6 && spm.rfind("<0x", 0) == 0 && spm.back() == '>';
    types.push_back(id == 0 ? 2 : id <= 2 ? 3 : is_byte ? 6 : 1);
    tokens.push_back(std::move(spm));
    scores.push_back(score);
  }
  io::Metadata meta;
  meta.source = path;
  meta.values["tokenizer.ggml.model"] = meta_string("llama");
  meta.values["tokenizer.ggml.tokens"] = meta_strings(tokens);
  meta.values["tokenizer.ggml.scores"] = meta_f32s(scores);
  meta.values["tokenizer.ggml.token_type"] = meta_i32s(types);
  meta.values["tokenizer.ggml.bos_token_id"] = meta_u32(1);
  meta.values["tokenizer.ggml.eos_token_id"] = meta_u32(2);
  meta.values["tokenizer.ggml.unknown_token_id"] = meta_u32(0);
  return meta;
}

// Tokenizers of the test data files, built once per process (the large
// vocabularies take a noticeable time to load in Debug builds).
inline const Tokenizer& cached_tokenizer(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[path];
  if (!slot) slot = Tokenizer::from_metadata(io::open_model_file(path).meta);
  return *slot;
}

// llama.cpp's vocabulary test vectors: each input is followed by the separator
// (so the file ends with one); each .out line is " id id id".
struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

inline std::vector<VocabCase> read_vocab_cases(const std::string& inp_path, const std::string& out_path) {
  static const std::string kSeparator = "\n__ggml_vocab_test__\n";
  const std::string inp = read_file(inp_path);
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t end = inp.find(kSeparator, pos);
    if (end == std::string::npos) break;  // nothing follows the last separator
    texts.push_back(inp.substr(pos, end - pos));
    pos = end + kSeparator.size();
  }
  std::vector<VocabCase> cases;
  std::istringstream out(read_file(out_path));
  std::string line;
  for (const auto& text : texts) {
    if (!std::getline(out, line)) break;
    VocabCase c{text, {}};
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

// Printable form of a string for failure messages.
inline std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace tessera::test
