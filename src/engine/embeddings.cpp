#include "engine/embeddings.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/forward_buffers.h"

namespace tessera::engine {
namespace {

// Rows per forward pass at least (a longer input gets a pass of its own size).
constexpr int64_t kBatchRows = 512;

}  // namespace

void normalize_embedding(float* v, int64_t n, int norm) {
  if (norm < 0) return;
  double sum = 0;
  if (norm == 0) {
    for (int64_t i = 0; i < n; ++i) sum = std::max(sum, std::fabs(static_cast<double>(v[i])));
    sum /= 32760.0;  // the largest value becomes 32760
  } else if (norm == 2) {
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(v[i]) * v[i];
    sum = std::sqrt(sum);
  } else {
    for (int64_t i = 0; i < n; ++i) sum += std::pow(std::fabs(static_cast<double>(v[i])), norm);
    sum = std::pow(sum, 1.0 / norm);
  }
  const double scale = sum > 0 ? 1.0 / sum : 0.0;
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(v[i] * scale);
}

std::vector<std::vector<float>> embed(const model::Model& m, ThreadPool& pool,
                                      const std::vector<std::vector<int32_t>>& inputs, model::Pooling pooling,
                                      int normalize) {
  const model::ModelConfig& c = m.config();
  if (m.architecture().output != model::ModelOutput::Embeddings)
    fail("{}: a '{}' model is a text generator, not an embedding model", m.file().path, c.arch);
  if (pooling == model::Pooling::None)
    fail("{}: the model names no pooling ({}.pooling_type): choose mean, cls or last", m.file().path, c.arch);
  int64_t longest = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto n = static_cast<int64_t>(inputs[i].size());
    if (n == 0) fail("input {} is empty: nothing to embed", i);
    if (c.max_positions > 0 && n > c.max_positions)
      fail("input {} has {} tokens, more than the model's {} positions", i, n, c.max_positions);
    longest = std::max(longest, n);
  }
  const int64_t budget = std::max(kBatchRows, longest);
  const int64_t block = model::KvStorage::kBlockSize;
  std::vector<std::vector<float>> out(inputs.size());
  for (size_t first = 0; first < inputs.size();) {
    // As many whole inputs as fit the budget.
    size_t last = first;
    int64_t rows = 0, blocks = 0;
    while (last < inputs.size() && rows + static_cast<int64_t>(inputs[last].size()) <= budget) {
      rows += static_cast<int64_t>(inputs[last].size());
      blocks += (static_cast<int64_t>(inputs[last].size()) + block - 1) / block;
      ++last;
    }
    // Each input's own blocks, in every KV group (one table per group).
    const int64_t n_groups = m.kv_groups().n_groups();
    const auto n_inputs = static_cast<int64_t>(last - first);
    model::KvStorage kv = m.make_kv_storage(blocks * n_groups, {DType::F32, DType::F32});
    model::ForwardBuffers buf(c, rows);
    std::vector<int32_t> tokens, tables(static_cast<size_t>(blocks * n_groups));
    for (size_t b = 0; b < tables.size(); ++b) tables[b] = static_cast<int32_t>(b);
    std::vector<const int32_t*> group_tables(static_cast<size_t>(n_inputs * n_groups));
    std::vector<model::BatchSequence> seqs;
    int64_t next_block = 0;
    for (size_t i = first; i < last; ++i) {
      const auto n = static_cast<int64_t>(inputs[i].size());
      const int64_t k = static_cast<int64_t>(i - first);
      model::BatchSequence s;
      s.row0 = static_cast<int64_t>(tokens.size());
      s.n_tokens = n;
      s.n_blocks = (n + block - 1) / block;
      for (int64_t g = 0; g < n_groups; ++g)
        group_tables[static_cast<size_t>(k * n_groups + g)] = tables.data() + g * blocks + next_block;
      s.block_tables = group_tables.data() + k * n_groups;
      next_block += s.n_blocks;
      tokens.insert(tokens.end(), inputs[i].begin(), inputs[i].end());
      seqs.push_back(s);
    }
    model::Batch batch;
    batch.tokens = tokens.data();
    batch.n_tokens = rows;
    batch.seqs = seqs.data();
    batch.n_seqs = static_cast<int64_t>(seqs.size());
    std::vector<float> pooled(static_cast<size_t>(batch.n_seqs * c.n_embd));
    m.embed(pool, kv, buf, batch, pooling, pooled.data());
    for (size_t i = first; i < last; ++i) {
      float* v = pooled.data() + (i - first) * static_cast<size_t>(c.n_embd);
      normalize_embedding(v, c.n_embd, normalize);
      out[i].assign(v, v + c.n_embd);
    }
    first = last;
  }
  return out;
}

}  // namespace tessera::engine
