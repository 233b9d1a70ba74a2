// How a model's attention layers share the blocks of the KV pool. Layers are
// split into groups of equal size, each group's layers of one kind (every
// position, or one sliding window): a pool block holds one group's rows of
// KvStorage::kBlockSize positions, and each sequence has one block table per
// group. So a windowed group's table needs only the blocks its rows' windows
// reach, and the executor can give back the ones every later row has passed:
// a long sequence's windowed layers cost window-sized memory.
#pragma once

#include <cstdint>
#include <vector>

#include "model/architecture.h"

namespace tessera::model {

struct KvGroups {
  int64_t group_size = 0;            // layers per group: the layer slots of a pool block
  std::vector<int64_t> window;       // per group: its layers' sliding window; 0: none
  std::vector<int32_t> layer_group;  // per layer: its group
  std::vector<int32_t> layer_slot;   // per layer: its slot in the group's blocks

  int64_t n_groups() const { return static_cast<int64_t>(window.size()); }
  // The first logical block a row at `pos` of group g reads (0 without a window).
  int64_t first_block(int64_t g, int64_t pos, int64_t block_size) const {
    const int64_t w = window[static_cast<size_t>(g)];
    return w > 0 && pos - w + 1 > 0 ? (pos - w + 1) / block_size : 0;
  }
};

// The groups of a block schedule: layers of each kind in order, `group_size`
// (the fewest layers of any kind) to a group; the last group of a kind may
// leave slots empty. A model of one kind has one group of all its layers.
KvGroups kv_groups(const std::vector<LayerSpec>& layers);

}  // namespace tessera::model
