// Per-token work of a forward pass (norms, rotary embedding, residual adds) on
// the pool when a prompt has enough tokens to pay for a pool job; decode's one
// token runs inline.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace tessera::model {

inline constexpr int64_t kParallelTokens = 16;

// fn(begin, end) for token ranges covering [0, n).
template <class Fn>
void for_token_ranges(ThreadPool& pool, int64_t n, const Fn& fn) {
  if (n >= kParallelTokens && pool.size() > 1)
    pool.parallel_for(n, 1, [&](int64_t begin, int64_t end, int) { fn(begin, end); });
  else
    fn(0, n);
}

// y[t] += bias for each of n rows of `width` floats (a projection's bias).
inline void add_row_bias(ThreadPool& pool, float* y, const float* bias, int64_t n, int64_t width) {
  for_token_ranges(pool, n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) kernels::add(y + t * width, y + t * width, bias, width);
  });
}

}  // namespace tessera::model
