// Small random-weight llama GGUF files for tests, built on the engine's model
// maker; adds what only tests need: weights rounded through another format but
// stored as F32, so two files hold the very same values.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "engine/model_maker.h"
#include "io/gguf_writer.h"
#include "kernels/kernels.h"

namespace tessera::test {

struct TinyModelSpec {
  int64_t n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 96, n_ctx = 256, n_vocab = 300;
  DType weight_type = DType::F32;
  bool tied_output = false;
  uint32_t seed = 1;
  DType round_through = DType::F32;  // round weights through this format first
  std::string arch = "llama";
  int64_t n_window = 0;  // sliding window of a family that has one; 0: n_ctx
  int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;  // mixture of experts (ModelShape's defaults)

  engine::ModelShape shape() const {
    return {n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx, arch, n_window, n_expert, n_expert_used, n_ff_exp};
  }
};

inline void add_tiny_metadata(io::GgufWriter& w, const TinyModelSpec& s) {
  engine::add_model_metadata(w, s.shape());
}

inline io::GgufWriter make_tiny_model(const TinyModelSpec& s) {
  io::GgufWriter w;
  add_tiny_metadata(w, s);
  std::mt19937 rng(s.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  engine::for_each_model_tensor(s.shape(), s.tied_output, [&](const std::string& name, std::vector<int64_t> ne) {
    int64_t n = 1;
    for (auto d : ne) n *= d;
    std::vector<float> values(static_cast<size_t>(n));
    const bool is_norm = ne.size() == 1;  // norm weights near 1, biases near 0
    const float sd = is_norm ? 0.1f : 1.0f / std::sqrt(static_cast<float>(ne[0]));
    const float center = is_norm && name.find("norm.weight") != std::string::npos ? 1.0f : 0.0f;
    for (auto& v : values) v = center + sd * normal(rng);
    const bool router = engine::is_expert_router(name);  // F32 in every format, as llama.cpp quantizes
    const DType type = is_norm || router ? DType::F32 : s.weight_type;
    if (!is_norm && !router && s.round_through != DType::F32) {
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
