// One forward pass's input: a packed, padding-free batch of tokens of several
// sequences (as llama.cpp's ubatch or ByteTransformer's packed layout). Each
// sequence's tokens are consecutive rows at consecutive positions; sequences
// may be prompt chunks or single decode tokens of any length. Matmuls run once
// over all rows; attention runs per sequence through its own block table.
#pragma once

#include <cstdint>

namespace tessera::model {

struct BatchSequence {
  int64_t row0 = 0;      // its first row in the batch
  int64_t n_tokens = 0;  // its rows: row0 .. row0 + n_tokens - 1
  int64_t pos0 = 0;      // position of its first row
  // Physical KV blocks of positions [0, pos0 + n_tokens), one table per KV
  // group (Model::kv_groups()): logical block i of group g is block_tables[g][i].
  // Blocks the batch writes must be its own. A windowed group's entries before
  // the first block its rows' windows reach may be -1 (given back).
  const int32_t* const* block_tables = nullptr;
  int64_t n_blocks = 0;
  // The sequence's fixed-size mixer state (Model::fixed_state_bytes(); recurrent
  // mixers keep theirs here), or null when the model keeps none.
  uint8_t* fixed_state = nullptr;
};

struct Batch {
  const int32_t* tokens = nullptr;  // n_tokens ids
  int64_t n_tokens = 0;
  const BatchSequence* seqs = nullptr;  // in row order, covering rows 0 .. n_tokens - 1
  int64_t n_seqs = 0;
  // Rows whose logits are wanted; the logits come out in this order.
  const int64_t* logit_rows = nullptr;
  int64_t n_logit_rows = 0;
};

}  // namespace tessera::model
