#include "model/weights.h"

#include <fmt/format.h>

#include "core/error.h"
#include "io/mapped_file.h"
#include "kernels/kernels.h"

namespace tessera::model {
namespace {

class Binder {
 public:
  Binder(const io::ModelFile& file, ModelWeights& w) : file_(file), w_(w) {}

  const io::TensorInfo* find(std::string_view name) const { return file_.find_tensor(std::string(name)); }

  const io::TensorInfo& require(std::string_view name) const {
    const auto* t = find(name);
    if (!t) fail("{}: required tensor '{}' is missing", file_.path, name);
    return *t;
  }

  Matrix matrix(std::string_view name, int64_t rows, int64_t cols) const {
    const auto& t = require(name);
    check_shape(t, {cols, rows});
    if (!kernels::supports(t.type))
      fail("{}: tensor '{}' has type {}, which Tessera cannot compute yet", file_.path, t.name,
           dtype_name(t.type));
    return Matrix{t.type, t.data, rows, cols};
  }

  // Norm weights and similar short vectors are used as F32; other types are
  // converted once here.
  const float* vector(std::string_view name, int64_t n) {
    const auto& t = require(name);
    return vector_of(t, n);
  }

  const float* vector_of(const io::TensorInfo& t, int64_t n) {
    check_shape(t, {n});
    if (t.type == DType::F32) return reinterpret_cast<const float*>(t.data);
    if (!kernels::supports(t.type))
      fail("{}: tensor '{}' has type {}, which Tessera cannot compute yet", file_.path, t.name,
           dtype_name(t.type));
    auto& v = w_.owned.emplace_back(static_cast<size_t>(n));
    kernels::dequantize_row(t.type, t.data, v.data(), n);
    return v.data();
  }

 private:
  void check_shape(const io::TensorInfo& t, const std::vector<int64_t>& want) const {
    if (t.ne != want)
      fail("{}: tensor '{}' has shape [{}], expected [{}]", file_.path, t.name, fmt::join(t.ne, ", "),
           fmt::join(want, ", "));
  }

  const io::ModelFile& file_;
  ModelWeights& w_;
};

std::string block_name(std::string_view pattern, int64_t layer) {
  return fmt::format(fmt::runtime(pattern), layer);
}

}  // namespace

ModelWeights bind_weights(const io::ModelFile& file, const Architecture& arch, const ModelConfig& c) {
  ModelWeights w;
  Binder b(file, w);
  const auto& n = arch.tensors;
  w.token_embd = b.matrix(n.token_embd, c.n_vocab, c.n_embd);
  w.output_norm = b.vector(n.output_norm, c.n_embd);
  w.output = b.find(n.output) ? b.matrix(n.output, c.n_vocab, c.n_embd) : w.token_embd;
  if (const auto* f = b.find(n.rope_freqs)) w.rope_freqs = b.vector_of(*f, c.rope_dim / 2);

  w.blocks.resize(static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    auto& blk = w.blocks[static_cast<size_t>(l)];
    blk.mixer_norm = b.vector(block_name(n.mixer_norm, l), c.n_embd);
    blk.attention.q = b.matrix(block_name(n.attn_q, l), c.q_dim(), c.n_embd);
    blk.attention.k = b.matrix(block_name(n.attn_k, l), c.kv_dim(), c.n_embd);
    blk.attention.v = b.matrix(block_name(n.attn_v, l), c.kv_dim(), c.n_embd);
    blk.attention.o = b.matrix(block_name(n.attn_output, l), c.n_embd, c.q_dim());
    blk.channel_norm = b.vector(block_name(n.channel_norm, l), c.n_embd);
    blk.mlp.gate = b.matrix(block_name(n.ffn_gate, l), c.n_ff, c.n_embd);
    blk.mlp.up = b.matrix(block_name(n.ffn_up, l), c.n_ff, c.n_embd);
    blk.mlp.down = b.matrix(block_name(n.ffn_down, l), c.n_embd, c.n_ff);
  }
  return w;
}

namespace {

std::vector<Matrix*> matrices_to_repack(ModelWeights& w) {
  std::vector<Matrix*> out;
  for (auto& b : w.blocks)
    for (Matrix* m : {&b.attention.q, &b.attention.k, &b.attention.v, &b.attention.o, &b.mlp.gate, &b.mlp.up,
                      &b.mlp.down})
      out.push_back(m);
  out.push_back(&w.output);  // a tied head gets its own copy; token_embd stays plain
  std::erase_if(out, [](const Matrix* m) { return kernels::preferred_layout(m->type) == kernels::WeightLayout::Plain; });
  return out;
}

size_t aligned_bytes(const Matrix& m) { return (row_bytes(m.type, m.cols) * static_cast<size_t>(m.rows) + 63) / 64 * 64; }

}  // namespace

void repack_for_kernels(ModelWeights& w, const io::MappedFile* source) {
  const std::vector<Matrix*> todo = matrices_to_repack(w);
  size_t total = 0;
  for (const Matrix* m : todo) total += aligned_bytes(*m);
  w.repacked = LargeBuffer(total);  // one mapping, huge pages: decode streams all of it per token
  uint8_t* dst = w.repacked.data();
  for (Matrix* m : todo) {
    const kernels::WeightLayout layout = kernels::preferred_layout(m->type);
    kernels::repack_weights(m->type, layout, m->data, dst, m->rows, m->cols);
    if (source) source->release(m->data, row_bytes(m->type, m->cols) * static_cast<size_t>(m->rows));
    m->data = dst;
    m->layout = layout;
    dst += aligned_bytes(*m);
  }
}

}  // namespace tessera::model
