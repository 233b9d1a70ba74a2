// llama2.c legacy checkpoint: 7 x int32 (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len), then float32 arrays back to back:
// token_embedding_table, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3 (each
// stacked over layers), rms_final, two unused RoPE tables, and wcls only when
// vocab_size < 0. There is no magic, so a file is accepted only if its header
// is sane and its size is exactly what that header implies.
#include "io/llama2c_reader.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/byte_cursor.h"
#include "io/mapped_file.h"

namespace tessera::io {
namespace {

constexpr uint64_t kHeaderBytes = 7 * 4;

struct Llama2cConfig {
  int64_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
  bool shared_classifier;
  int64_t head_size() const { return dim / n_heads; }
  int64_t kv_dim() const { return n_kv_heads * head_size(); }
};

// Floats in the file after the header, in 128 bits so no sane-looking header can overflow it.
unsigned __int128 expected_floats(const Llama2cConfig& c) {
  using u128 = unsigned __int128;
  const u128 dim = c.dim, L = c.n_layers, kv = c.kv_dim(), hidden = c.hidden_dim, vocab = c.vocab_size;
  const u128 per_layer = dim + dim * dim + 2 * kv * dim + dim * dim + dim + 3 * hidden * dim;
  const u128 rope_tables = 2 * (u128(c.seq_len) * u128(c.head_size()) / 2);
  return vocab * dim + L * per_layer + dim + rope_tables + (c.shared_classifier ? 0 : vocab * dim);
}

// Empty when the header and size describe a checkpoint, else why not.
std::string check_checkpoint(const uint8_t* data, uint64_t size, Llama2cConfig& c) {
  if (size < kHeaderBytes) return fmt::format("the file is {} bytes, shorter than the 28-byte header", size);
  ByteCursor cur(data, size, "");
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  int64_t h[7];
  for (int k = 0; k < 7; ++k) h[k] = cur.i32(names[k]);
  for (int k = 0; k < 7; ++k)
    if (h[k] <= 0 && !(k == 5 && h[k] < 0)) return fmt::format("header field {} is {}", names[k], h[k]);
  c = {h[0], h[1], h[2], h[3], h[4], h[5] < 0 ? -h[5] : h[5], h[6], h[5] > 0};
  if (c.dim % c.n_heads != 0) return fmt::format("dim {} is not a multiple of n_heads {}", c.dim, c.n_heads);
  if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
    return fmt::format("n_heads {} is not a multiple of n_kv_heads {}", c.n_heads, c.n_kv_heads);
  if (c.head_size() % 2 != 0) return fmt::format("head size {} is odd", c.head_size());
  const unsigned __int128 expected = kHeaderBytes + 4 * expected_floats(c);
  if (expected != size)
    return fmt::format("its header implies {} bytes with a {} classifier, the file has {}",
                       expected > UINT64_MAX ? std::string("more than 2^64") : std::to_string(uint64_t(expected)),
                       c.shared_classifier ? "shared" : "separate", size);
  return "";
}

std::string magic_hex(const uint8_t* data, uint64_t size) {
  std::string s;
  for (uint64_t k = 0; k < std::min<uint64_t>(size, 4); ++k) s += fmt::format("{}{:02x}", k ? " " : "", data[k]);
  return s;
}

void add_hyperparameters(const Llama2cConfig& c, const std::string& path, Metadata& meta) {
  auto& v = meta.values;
  v["general.architecture"] = meta_string("llama");
  v["general.name"] = meta_string(std::filesystem::path(path).stem().string());
  v["llama.context_length"] = meta_u32(c.seq_len);
  v["llama.embedding_length"] = meta_u32(c.dim);
  v["llama.feed_forward_length"] = meta_u32(c.hidden_dim);
  v["llama.block_count"] = meta_u32(c.n_layers);
  v["llama.attention.head_count"] = meta_u32(c.n_heads);
  v["llama.attention.head_count_kv"] = meta_u32(c.n_kv_heads);
  v["llama.attention.layer_norm_rms_epsilon"] = meta_f32(1e-5);
  v["llama.rope.dimension_count"] = meta_u32(c.head_size());
  v["llama.rope.freq_base"] = meta_f32(10000.0);
  v["llama.vocab_size"] = meta_u32(c.vocab_size);
}

// Walks the float arrays in file order, handing out zero-copy tensor views.
class TensorSlicer {
 public:
  TensorSlicer(const MappedFile& file, std::vector<TensorInfo>& out) : file_(file), out_(out) {}

  // Starts the next array of `n_floats` floats; returns its file offset.
  uint64_t array(uint64_t n_floats) {
    const uint64_t at = next_;
    next_ += 4 * n_floats;
    return at;
  }

  void view(std::string name, uint64_t offset, std::vector<int64_t> ne) {
    TensorInfo t;
    t.name = std::move(name);
    t.type = DType::F32;
    t.ne = std::move(ne);
    t.offset = offset;
    t.nbytes = 4 * static_cast<uint64_t>(t.n_elements());
    t.data = file_.data() + offset;
    if (offset + t.nbytes > file_.size())  // guaranteed by the size check; kept as a last guard
      fail("{}: internal error: tensor '{}' lies outside the checkpoint", file_.path(), t.name);
    out_.push_back(std::move(t));
  }

 private:
  const MappedFile& file_;
  std::vector<TensorInfo>& out_;
  uint64_t next_ = kHeaderBytes;
};

// Names and order follow llama.cpp's llama2.c converter, so both routes give the same ModelFile.
void add_tensors(const Llama2cConfig& c, const MappedFile& file, std::vector<TensorInfo>& out) {
  const uint64_t dim = c.dim, L = c.n_layers, kv = c.kv_dim(), hidden = c.hidden_dim, vocab = c.vocab_size;
  TensorSlicer s(file, out);
  const uint64_t embedding = s.array(vocab * dim);
  const uint64_t rms_att = s.array(L * dim), wq = s.array(L * dim * dim), wk = s.array(L * kv * dim),
                 wv = s.array(L * kv * dim), wo = s.array(L * dim * dim), rms_ffn = s.array(L * dim),
                 w1 = s.array(L * hidden * dim), w2 = s.array(L * dim * hidden), w3 = s.array(L * hidden * dim),
                 rms_final = s.array(dim);
  s.array(2 * (static_cast<uint64_t>(c.seq_len) * c.head_size() / 2));  // legacy RoPE tables, unused
  const uint64_t classifier = c.shared_classifier ? embedding : s.array(vocab * dim);

  const int64_t d = c.dim, h = c.hidden_dim, v = c.vocab_size, k = c.kv_dim();
  s.view("token_embd.weight", embedding, {d, v});
  s.view("output_norm.weight", rms_final, {d});
  s.view("output.weight", classifier, {d, v});
  for (uint64_t l = 0; l < L; ++l) {
    const std::string p = fmt::format("blk.{}.", l);
    s.view(p + "attn_q.weight", wq + 4 * l * dim * dim, {d, d});
    s.view(p + "attn_k.weight", wk + 4 * l * kv * dim, {d, k});
    s.view(p + "attn_v.weight", wv + 4 * l * kv * dim, {d, k});
    s.view(p + "attn_output.weight", wo + 4 * l * dim * dim, {d, d});
    s.view(p + "attn_norm.weight", rms_att + 4 * l * dim, {d});
    s.view(p + "ffn_gate.weight", w1 + 4 * l * hidden * dim, {d, h});
    s.view(p + "ffn_down.weight", w2 + 4 * l * dim * hidden, {h, d});
    s.view(p + "ffn_up.weight", w3 + 4 * l * hidden * dim, {d, h});
    s.view(p + "ffn_norm.weight", rms_ffn + 4 * l * dim, {d});
  }
}

}  // namespace

ModelFile read_llama2c_checkpoint(std::shared_ptr<const MappedFile> file, const std::string& tokenizer_path) {
  Llama2cConfig c{};
  const std::string why_not = check_checkpoint(file->data(), file->size(), c);
  if (!why_not.empty())
    fail("'{}' is neither a GGUF file (bad magic {}) nor a llama2.c checkpoint ({})", file->path(),
         magic_hex(file->data(), file->size()), why_not);
  if (tokenizer_path.empty())
    fail("llama2.c checkpoint '{}' needs its tokenizer file: pass --tokenizer", file->path());

  ModelFile out;
  out.path = file->path();
  out.format = "llama2.c checkpoint";
  out.alignment = 4;  // float arrays follow a 28-byte header
  out.data_offset = 0;  // tensor offsets are file offsets
  out.meta.source = file->path();
  add_hyperparameters(c, file->path(), out.meta);
  add_tensors(c, *file, out.tensors);

  auto tokenizer = std::make_shared<MappedFile>(tokenizer_path, "tokenizer file");
  read_llama2c_tokenizer(*tokenizer, c.vocab_size, out.meta);
  out.mapping = std::move(file);
  out.extra_mapping = std::move(tokenizer);
  return out;
}

}  // namespace tessera::io
