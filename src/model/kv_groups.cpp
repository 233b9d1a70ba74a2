#include "model/kv_groups.h"

#include <algorithm>
#include <map>

namespace tessera::model {

KvGroups kv_groups(const std::vector<LayerSpec>& layers) {
  std::map<int64_t, int64_t> per_window;  // layers of each kind (window 0: every position)
  for (const LayerSpec& l : layers) ++per_window[l.attention.window];
  KvGroups g;
  g.group_size = static_cast<int64_t>(layers.size());
  for (const auto& [window, n] : per_window) g.group_size = std::min(g.group_size, n);
  // A kind's i-th layer goes to slot i % group_size of its (i / group_size)-th
  // group; groups are numbered in the order they are opened.
  std::map<int64_t, std::vector<int32_t>> groups_of;  // per kind
  std::map<int64_t, int64_t> seen;
  for (const LayerSpec& l : layers) {
    const int64_t w = l.attention.window;
    const int64_t i = seen[w]++;
    if (i % g.group_size == 0) {
      groups_of[w].push_back(static_cast<int32_t>(g.n_groups()));
      g.window.push_back(w);
    }
    g.layer_group.push_back(groups_of[w][static_cast<size_t>(i / g.group_size)]);
    g.layer_slot.push_back(static_cast<int32_t>(i % g.group_size));
  }
  return g;
}

}  // namespace tessera::model
