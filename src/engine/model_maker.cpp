#include "engine/model_maker.h"

#include <algorithm>
#include <cmath>
#include <variant>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/row_converter.h"
#include "kernels/kernels.h"
#include "model/architecture.h"
#include "tessera/tessera.h"

namespace tessera::engine {
namespace {

struct Preset {
  const char* name;
  ModelShape shape;
};

const Preset kPresets[] = {
    {"tiny", ModelShape{}},
    {"110m", ModelShape{32000, 768, 12, 12, 12, 2048, 1024}},
    {"tinyllama-1.1b", ModelShape{32000, 2048, 22, 32, 4, 5632, 2048}},
};

// splitmix64: fast, seedable, the same on every platform.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-24f * 2.0f - 1.0f; }  // [-1, 1)
};

std::string block_tensor(std::string_view pattern, int64_t layer) { return fmt::format(fmt::runtime(pattern), layer); }

}  // namespace

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

ModelShape model_preset(const std::string& name) {
  for (const auto& p : kPresets)
    if (name == p.name) return p.shape;
  throw UsageError(fmt::format("unknown model preset '{}' (presets: {})", name, fmt::join(model_preset_names(), ", ")));
}

std::vector<std::string> synthetic_vocab(int64_t n) {
  if (n < 259) fail("a vocabulary needs at least 259 tokens (3 specials + 256 bytes), got {}", n);
  std::vector<std::string> v = {"<unk>", "<s>", "</s>"};
  const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) v.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
  // Pieces of growing length over a-z, alternately with and without the word marker.
  const std::string marker = "\xe2\x96\x81";  // U+2581
  for (int64_t k = 0; static_cast<int64_t>(v.size()) < n; ++k) {
    std::string piece;
    for (int64_t x = k / 2; ; x = x / 26 - 1) {
      piece.insert(piece.begin(), static_cast<char>('a' + x % 26));
      if (x < 26) break;
    }
    v.push_back(k % 2 == 0 ? marker + piece : piece);
  }
  return v;
}

void add_llama_metadata(io::GgufWriter& w, const ModelShape& s, const std::vector<std::string>& vocab) {
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "tessera-random");
  w.set_u32("llama.context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32("llama.embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32("llama.block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32("llama.attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
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

void for_each_llama_tensor(const ModelShape& s, bool tied_output,
                           const std::function<void(const std::string&, std::vector<int64_t>)>& add) {
  const auto& n = model::find_architecture("llama", "model maker").tensors;
  const int64_t kv = s.n_head_kv * (s.n_embd / s.n_head);
  add(std::string(n.token_embd), {s.n_embd, s.n_vocab});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    add(block_tensor(n.mixer_norm, l), {s.n_embd});
    add(block_tensor(n.attn_q, l), {s.n_embd, s.n_embd});
    add(block_tensor(n.attn_k, l), {s.n_embd, kv});
    add(block_tensor(n.attn_v, l), {s.n_embd, kv});
    add(block_tensor(n.attn_output, l), {s.n_embd, s.n_embd});
    add(block_tensor(n.channel_norm, l), {s.n_embd});
    add(block_tensor(n.ffn_gate, l), {s.n_embd, s.n_ff});
    add(block_tensor(n.ffn_up, l), {s.n_embd, s.n_ff});
    add(block_tensor(n.ffn_down, l), {s.n_ff, s.n_embd});
  }
  add(std::string(n.output_norm), {s.n_embd});
  if (!tied_output) add(std::string(n.output), {s.n_embd, s.n_vocab});
}

void write_random_model(const std::string& path, const RandomModelOptions& o) {
  const ModelShape& s = o.shape;
  if (s.n_embd % s.n_head != 0 || s.n_head % s.n_head_kv != 0)
    fail("model shape: dim {} must be a multiple of heads {}, and heads of kv heads {}", s.n_embd, s.n_head,
         s.n_head_kv);
  if (!kernels::supports(o.weight_type)) fail("cannot write weights as {}: no kernels for it", dtype_name(o.weight_type));
  io::GgufWriter w;
  add_llama_metadata(w, s, synthetic_vocab(s.n_vocab));
  if (!o.chat_template.empty()) w.set_string("tokenizer.chat_template", o.chat_template);
  // llama.cpp's tools name a mixture by this key; without it they guess from the
  // commonest tensor type, which cannot tell Q4_K_S from Q4_K_M.
  if (o.mix) w.set_u32("general.file_type", quant_mix_file_type(*o.mix));
  const MixedModel mixed{s.n_layer, !o.tied_output, s.n_head / s.n_head_kv};
  size_t count = 0, index = 0;
  for_each_llama_tensor(s, o.tied_output, [&](const std::string&, std::vector<int64_t>) { ++count; });
  Rng rng{o.seed};
  std::vector<float> values;
  ThreadPool pool(default_thread_count());
  for_each_llama_tensor(s, o.tied_output, [&](const std::string& name, std::vector<int64_t> ne) {
    if (o.on_tensor) o.on_tensor(index++, count, name);
    const bool is_vector = ne.size() == 1;
    const DType type = o.mix ? tensor_type_for(*o.mix, name, ne, mixed) : is_vector ? DType::F32 : o.weight_type;
    const int64_t cols = ne[0], rows = is_vector ? 1 : ne[1];
    const size_t stride = row_bytes(type, cols);
    // Uniform on [-a, a] has variance a^2 / 3: a = sqrt(3 / fan_in) matches N(0, 1/fan_in).
    const float scale = is_vector ? 0.1f : std::sqrt(3.0f / static_cast<float>(cols));
    // Values drawn in order from one generator (the file depends only on the
    // seed), then quantized on all threads.
    values.resize(static_cast<size_t>(rows * cols));
    for (auto& x : values) x = (is_vector ? 1.0f : 0.0f) + scale * rng.uniform();
    std::vector<uint8_t> bytes(stride * static_cast<size_t>(rows));
    convert_rows(pool, type, rows, cols, bytes.data(), [&](int64_t r, float* row) {
      std::copy_n(values.data() + r * cols, cols, row);
    });
    w.add_tensor(name, type, ne, std::move(bytes));
  });
  w.write(path);
}

}  // namespace tessera::engine

namespace tessera {

void make_random_model(const std::string& path, const RandomModelSpec& spec) {
  engine::RandomModelOptions o;
  o.shape = engine::model_preset(spec.preset);
  auto over = [](int64_t& field, int64_t value) {
    if (value > 0) field = value;
  };
  over(o.shape.n_vocab, spec.n_vocab);
  over(o.shape.n_embd, spec.n_embd);
  over(o.shape.n_layer, spec.n_layer);
  over(o.shape.n_head, spec.n_head);
  over(o.shape.n_head_kv, spec.n_head_kv);
  over(o.shape.n_ff, spec.n_ff);
  over(o.shape.n_ctx, spec.n_ctx);
  const auto choice = engine::parse_weight_type(spec.weight_type);
  if (const auto* mix = std::get_if<engine::QuantMix>(&choice))
    o.mix = *mix;
  else
    o.weight_type = std::get<DType>(choice);
  o.tied_output = spec.tied_output;
  o.seed = spec.seed;
  o.chat_template = spec.chat_template;
  o.on_tensor = spec.on_tensor;
  engine::write_random_model(path, o);
}

}  // namespace tessera
