// Builds small random-weight llama GGUF files for tests: any shape, any weight
// format, a valid SentencePiece-style vocabulary (specials, 256 byte tokens,
// a few words), written through Tessera's own GGUF writer.
#pragma once

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/gguf_writer.h"
#include "kernels/kernels.h"

namespace tessera::test {

struct TinyModelSpec {
  int64_t n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 96, n_ctx = 256;
  DType weight_type = DType::F32;
  bool tied_output = false;
  uint32_t seed = 1;
  // When set, weights are rounded through this format and stored as F32, so a
  // file with weight_type = round_through has the very same values.
  DType round_through = DType::F32;
};

inline std::vector<std::string> tiny_vocab() {
  std::vector<std::string> v = {"<unk>", "<s>", "</s>"};
  const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) v.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
  const std::string space = "\xe2\x96\x81";  // U+2581, SentencePiece's word marker
  for (const char* w : {"", "the", "a", "cat", "dog", "sat"}) v.push_back(space + w);
  for (const char* w : {"e", "t", "a", "h", "s", "c", "o", "d", "g", "n", "th", "he"}) v.push_back(w);
  return v;
}

// Writes the llama metadata and tokenizer keys of `spec`.
inline void add_tiny_metadata(io::GgufWriter& w, const TinyModelSpec& s) {
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "tiny-test");
  w.set_u32("llama.context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32("llama.embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32("llama.block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32("llama.attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  const auto vocab = tiny_vocab();
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (size_t i = 0; i < vocab.size(); ++i) {
    scores.push_back(i < 259 ? 0.0f : -static_cast<float>(i));
    types.push_back(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", vocab);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
}

// Calls add(name, ne) for every tensor of a llama model of this shape.
inline void for_each_tiny_tensor(const TinyModelSpec& s, int64_t n_vocab,
                                 const std::function<void(const std::string&, std::vector<int64_t>)>& add) {
  const int64_t hd = s.n_embd / s.n_head, kv = s.n_head_kv * hd;
  add("token_embd.weight", {s.n_embd, n_vocab});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", {s.n_embd});
    add(p + "attn_q.weight", {s.n_embd, s.n_embd});
    add(p + "attn_k.weight", {s.n_embd, kv});
    add(p + "attn_v.weight", {s.n_embd, kv});
    add(p + "attn_output.weight", {s.n_embd, s.n_embd});
    add(p + "ffn_norm.weight", {s.n_embd});
    add(p + "ffn_gate.weight", {s.n_embd, s.n_ff});
    add(p + "ffn_up.weight", {s.n_embd, s.n_ff});
    add(p + "ffn_down.weight", {s.n_ff, s.n_embd});
  }
  add("output_norm.weight", {s.n_embd});
  if (!s.tied_output) add("output.weight", {s.n_embd, n_vocab});
}

inline io::GgufWriter make_tiny_model(const TinyModelSpec& s) {
  io::GgufWriter w;
  const int64_t n_vocab = static_cast<int64_t>(tiny_vocab().size());
  add_tiny_metadata(w, s);
  std::mt19937 rng(s.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for_each_tiny_tensor(s, n_vocab, [&](const std::string& name, std::vector<int64_t> ne) {
    int64_t n = 1;
    for (auto d : ne) n *= d;
    std::vector<float> values(static_cast<size_t>(n));
    const bool is_norm = ne.size() == 1;
    const float sd = is_norm ? 0.1f : 1.0f / std::sqrt(static_cast<float>(ne[0]));
    for (auto& v : values) v = (is_norm ? 1.0f : 0.0f) + sd * normal(rng);
    const DType type = is_norm ? DType::F32 : s.weight_type;
    if (!is_norm && s.round_through != DType::F32) {  // round each row through the format
      std::vector<uint8_t> tmp(row_bytes(s.round_through, ne[0]));
      for (int64_t r = 0; r < n / ne[0]; ++r) {
        kernels::quantize_row(s.round_through, values.data() + r * ne[0], tmp.data(), ne[0]);
        kernels::dequantize_row(s.round_through, tmp.data(), values.data() + r * ne[0], ne[0]);
      }
    }
    std::vector<uint8_t> bytes(row_bytes(type, ne[0]) * static_cast<size_t>(n / ne[0]));
    for (int64_t r = 0; r < n / ne[0]; ++r)
      kernels::quantize_row(type, values.data() + r * ne[0], bytes.data() + r * row_bytes(type, ne[0]), ne[0]);
    w.add_tensor(name, type, ne, std::move(bytes));
  });
  return w;
}

}  // namespace tessera::test
