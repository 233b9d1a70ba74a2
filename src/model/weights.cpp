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
    const auto& t = computable(name, {cols, rows});
    return Matrix{t.type, t.data, rows, cols};
  }

  // A 3-D tensor of n matrices (GGUF ne = [cols, rows, n]) as n row views.
  std::vector<Matrix> stack(std::string_view name, int64_t n, int64_t rows, int64_t cols) const {
    if (!find(name)) refuse_per_expert_layout(name);
    const auto& t = computable(name, {cols, rows, n});
    std::vector<Matrix> out;
    const size_t bytes = row_bytes(t.type, cols) * static_cast<size_t>(rows);
    for (int64_t e = 0; e < n; ++e)
      out.push_back(Matrix{t.type, static_cast<const uint8_t*>(t.data) + static_cast<size_t>(e) * bytes, rows, cols});
    return out;
  }

  // Norm weights and similar short vectors are used as F32; other types are
  // converted once here.
  const float* vector(std::string_view name, int64_t n) {
    const auto& t = require(name);
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
  // Mixtral files converted before the 3-D stacks hold one 2-D tensor per expert
  // (blk.N.ffn_gate.E.weight); llama.cpp c392e5094 no longer reads them either.
  void refuse_per_expert_layout(std::string_view stack_name) const {
    constexpr std::string_view suffix = "_exps.weight";
    if (!stack_name.ends_with(suffix)) return;
    const std::string first = fmt::format("{}.0.weight", stack_name.substr(0, stack_name.size() - suffix.size()));
    if (find(first))
      fail("{}: required tensor '{}' is missing: the file has one tensor per expert ('{}'), an old Mixtral layout "
           "that Tessera (like llama.cpp) does not read; convert the model again",
           file_.path, stack_name, first);
  }

  const io::TensorInfo& computable(std::string_view name, const std::vector<int64_t>& shape) const {
    const auto& t = require(name);
    check_shape(t, shape);
    if (!kernels::supports(t.type))
      fail("{}: tensor '{}' has type {}, which Tessera cannot compute yet", file_.path, t.name,
           dtype_name(t.type));
    return t;
  }

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

Matrix* matrix_slot(ModelWeights& w, BlockWeights* blk, Role role) {
  switch (role) {
    case Role::TokenEmbd: return &w.token_embd;
    case Role::PosEmbd: return &w.pos_embd;
    case Role::TokenTypes: return &w.token_types;
    case Role::Output: return &w.output;
    case Role::AttnQ: return &blk->attention.q;
    case Role::AttnK: return &blk->attention.k;
    case Role::AttnV: return &blk->attention.v;
    case Role::AttnOutput: return &blk->attention.o;
    case Role::FfnGate: return &blk->mlp.gate;
    case Role::FfnUp: return &blk->mlp.up;
    case Role::FfnDown: return &blk->mlp.down;
    case Role::FfnGateInp: return &blk->experts.router;
    case Role::FfnGateShexp: return &blk->experts.shared_gate;
    case Role::FfnUpShexp: return &blk->experts.shared_up;
    case Role::FfnDownShexp: return &blk->experts.shared_down;
    default: return nullptr;
  }
}

const float** vector_slot(ModelWeights& w, BlockWeights* blk, Role role) {
  switch (role) {
    case Role::OutputNorm: return &w.output_norm;
    case Role::TokenEmbdNorm: return &w.embd_norm;
    case Role::TokenEmbdNormBias: return &w.embd_norm_bias;
    case Role::OutputNormBias: return &w.output_norm_bias;
    case Role::RopeFreqs: return &w.rope_freqs;
    case Role::RopeFactorsLong: return &w.rope_factors_long;
    case Role::RopeFactorsShort: return &w.rope_factors_short;
    case Role::AttnNorm: return &blk->mixer_norm;
    case Role::AttnNormBias: return &blk->mixer_norm_bias;
    case Role::AttnOutputBias: return &blk->attention.o_bias;
    case Role::AttnPostNorm: return &blk->attention.post_norm;
    case Role::FfnPostNorm: return &blk->mlp.post_norm;
    case Role::FfnNormBias: return &blk->channel_norm_bias;
    case Role::FfnUpBias: return &blk->mlp.up_bias;
    case Role::FfnDownBias: return &blk->mlp.down_bias;
    case Role::AttnQBias: return &blk->attention.q_bias;
    case Role::AttnKBias: return &blk->attention.k_bias;
    case Role::AttnVBias: return &blk->attention.v_bias;
    case Role::AttnQNorm: return &blk->attention.q_norm;
    case Role::AttnKNorm: return &blk->attention.k_norm;
    case Role::FfnNorm: return &blk->channel_norm;
    case Role::FfnGateInpShexp: return &blk->experts.shared_gate_inp;
    default: return nullptr;
  }
}

std::vector<Matrix>* stack_slot(BlockWeights* blk, Role role) {
  switch (role) {
    case Role::FfnGateExps: return &blk->experts.gate;
    case Role::FfnUpExps: return &blk->experts.up;
    case Role::FfnDownExps: return &blk->experts.down;
    default: return nullptr;
  }
}

// Consecutive row ranges of a fused matrix as matrices of their own (views).
void split_rows(const Matrix& fused, std::initializer_list<std::pair<Matrix*, int64_t>> parts) {
  const size_t stride = row_bytes(fused.type, fused.cols);
  int64_t row = 0;
  for (auto [m, rows] : parts) {
    *m = fused;
    m->data = static_cast<const uint8_t*>(fused.data) + static_cast<size_t>(row) * stride;
    m->rows = rows;
    row += rows;
  }
}

}  // namespace

ModelWeights bind_weights(const io::ModelFile& file, const Architecture& arch, const ModelConfig& c) {
  ModelWeights w;
  Binder b(file, w);
  w.blocks.resize(static_cast<size_t>(c.n_layer));
  auto bind = [&](const TensorSpec& spec, const std::string& name, BlockWeights* blk) {
    if (!present_in(spec, c.n_expert > 0) || (spec.optional && !b.find(name))) return;
    const std::vector<int64_t> ne = tensor_shape(spec, c);
    if (std::vector<Matrix>* experts = ne.size() == 3 ? stack_slot(blk, spec.role) : nullptr) {
      *experts = b.stack(name, ne[2], ne[1], ne[0]);
    } else if (spec.role == Role::AttnQKV) {
      split_rows(b.matrix(name, ne[1], ne[0]),
                 {{&blk->attention.q, c.q_dim()}, {&blk->attention.k, c.kv_dim()}, {&blk->attention.v, c.kv_dim()}});
    } else if (spec.role == Role::AttnQKVBias) {
      const float* bias = b.vector(name, ne[0]);
      blk->attention.q_bias = bias;
      blk->attention.k_bias = bias + c.q_dim();
      blk->attention.v_bias = bias + c.q_dim() + c.kv_dim();
    } else if (spec.role == Role::FfnGateUp) {
      split_rows(b.matrix(name, ne[1], ne[0]), {{&blk->mlp.gate, c.n_ff}, {&blk->mlp.up, c.n_ff}});
    } else if (Matrix* m = matrix_slot(w, blk, spec.role))
      *m = b.matrix(name, ne[1], ne[0]);
    else if (const float** v = vector_slot(w, blk, spec.role))
      *v = b.vector(name, ne[0]);
    else
      fail("internal error: tensor role {} of '{}' has no slot", static_cast<int>(spec.role), name);
  };
  for (const TensorSpec& spec : arch.tensors) {
    if (!spec.per_layer()) {
      bind(spec, std::string(spec.name), nullptr);
      continue;
    }
    for (int64_t l = 0; l < c.n_layer; ++l) bind(spec, block_name(spec.name, l), &w.blocks[static_cast<size_t>(l)]);
  }
  if (w.output.data == nullptr && arch.output == ModelOutput::Logits) w.output = w.token_embd;  // tied head
  if ((w.rope_factors_long == nullptr) != (w.rope_factors_short == nullptr))
    fail("{}: LongRoPE needs both rope_factors_long.weight and rope_factors_short.weight; the file has only {}",
         file.path, w.rope_factors_long ? "the long one" : "the short one");
  return w;
}

namespace {

std::vector<Matrix*> matrices_to_repack(ModelWeights& w) {
  std::vector<Matrix*> out;
  for (auto& b : w.blocks) {
    for (Matrix* m : {&b.attention.q, &b.attention.k, &b.attention.v, &b.attention.o, &b.mlp.gate, &b.mlp.up,
                      &b.mlp.down, &b.experts.router, &b.experts.shared_gate, &b.experts.shared_up,
                      &b.experts.shared_down})
      out.push_back(m);
    for (auto* stack : {&b.experts.gate, &b.experts.up, &b.experts.down})
      for (Matrix& m : *stack) out.push_back(&m);
  }
  out.push_back(&w.output);  // a tied head gets its own copy; token_embd stays plain
  std::erase_if(out, [](const Matrix* m) {  // absent (a GELU MLP's gate) or used as stored
    return m->data == nullptr || kernels::preferred_layout(m->type) == kernels::WeightLayout::Plain;
  });
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
