#include "engine/kv_block_pool.h"

#include <algorithm>

#include "core/error.h"

namespace tessera::engine {

KvBlockPool::KvBlockPool(int64_t n_blocks, int64_t block_tokens)
    : n_blocks_(n_blocks),
      block_tokens_(block_tokens),
      n_free_(n_blocks),
      refs_(static_cast<size_t>(n_blocks), 0),
      indexed_(static_cast<size_t>(n_blocks), 0),
      hash_(static_cast<size_t>(n_blocks)),
      parent_(static_cast<size_t>(n_blocks)),
      tokens_(static_cast<size_t>(n_blocks * block_tokens)),
      lru_prev_(static_cast<size_t>(n_blocks), -1),
      lru_next_(static_cast<size_t>(n_blocks), -1) {
  if (n_blocks <= 0 || block_tokens <= 0) fail("KV block pool: {} blocks of {} tokens", n_blocks, block_tokens);
  free_.reserve(static_cast<size_t>(n_blocks));
  for (int64_t b = n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));  // block 0 first
  size_t slots = 2;
  while (slots < static_cast<size_t>(2 * n_blocks)) slots *= 2;
  index_.assign(slots, -1);
}

int32_t KvBlockPool::allocate() {
  int32_t b = -1;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
    --n_free_;
  } else if (lru_head_ >= 0) {
    b = lru_head_;
    unlink_lru(b);
    index_erase(b);
    --n_cached_;
  } else {
    return -1;
  }
  refs_[static_cast<size_t>(b)] = 1;
  return b;
}

void KvBlockPool::retain(int32_t block) {
  int32_t& r = refs_[static_cast<size_t>(block)];
  if (r == 0) {  // a cached block comes back into use
    unlink_lru(block);
    --n_cached_;
  }
  ++r;
}

void KvBlockPool::release(int32_t block) {
  int32_t& r = refs_[static_cast<size_t>(block)];
  if (r <= 0) fail("internal error: KV block {} released more often than retained", block);
  if (--r > 0) return;
  if (indexed_[static_cast<size_t>(block)]) {
    push_lru(block);
    ++n_cached_;
  } else {
    free_.push_back(block);
    ++n_free_;
  }
}

uint64_t KvBlockPool::chain_hash(uint64_t parent, const int32_t* tokens) const {
  // splitmix64-style mixing of the parent hash and each token.
  auto mix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  uint64_t h = mix(parent ^ 0x5bd1e9955bd1e995ull);
  for (int64_t i = 0; i < block_tokens_; ++i) h = mix(h ^ static_cast<uint32_t>(tokens[i]));
  return h == 0 ? 1 : h;  // 0 stands for "no parent"
}

int32_t KvBlockPool::lookup(uint64_t hash, uint64_t parent, const int32_t* tokens) {
  for (size_t s = slot_of(hash);; s = (s + 1) & (index_.size() - 1)) {
    const int32_t b = index_[s];
    if (b < 0) return -1;
    const auto bi = static_cast<size_t>(b);
    if (hash_[bi] == hash && parent_[bi] == parent &&
        std::equal(tokens, tokens + block_tokens_, tokens_.begin() + static_cast<int64_t>(bi) * block_tokens_)) {
      retain(b);
      return b;
    }
  }
}

bool KvBlockPool::publish(int32_t block, uint64_t hash, uint64_t parent, const int32_t* tokens) {
  const auto bi = static_cast<size_t>(block);
  if (indexed_[bi]) return false;
  size_t s = slot_of(hash);
  for (; index_[s] >= 0; s = (s + 1) & (index_.size() - 1))
    if (hash_[static_cast<size_t>(index_[s])] == hash) return false;  // that prefix is cached already
  index_[s] = block;
  indexed_[bi] = 1;
  hash_[bi] = hash;
  parent_[bi] = parent;
  std::copy(tokens, tokens + block_tokens_, tokens_.begin() + static_cast<int64_t>(bi) * block_tokens_);
  return true;
}

void KvBlockPool::index_erase(int32_t block) {
  const auto bi = static_cast<size_t>(block);
  const size_t mask = index_.size() - 1;
  size_t s = slot_of(hash_[bi]);
  while (index_[s] != block) s = (s + 1) & mask;
  // Backward-shift deletion: move later entries of the probe run into the hole.
  for (size_t next = (s + 1) & mask; index_[next] >= 0; next = (next + 1) & mask) {
    const size_t home = slot_of(hash_[static_cast<size_t>(index_[next])]);
    // The entry at `next` may move to `s` if its home is not in (s, next].
    if ((next > s && (home <= s || home > next)) || (next < s && home <= s && home > next)) {
      index_[s] = index_[next];
      s = next;
    }
  }
  index_[s] = -1;
  indexed_[bi] = 0;
}

void KvBlockPool::unlink_lru(int32_t block) {
  const auto bi = static_cast<size_t>(block);
  const int32_t p = lru_prev_[bi], n = lru_next_[bi];
  (p >= 0 ? lru_next_[static_cast<size_t>(p)] : lru_head_) = n;
  (n >= 0 ? lru_prev_[static_cast<size_t>(n)] : lru_tail_) = p;
  lru_prev_[bi] = lru_next_[bi] = -1;
}

void KvBlockPool::push_lru(int32_t block) {
  const auto bi = static_cast<size_t>(block);
  lru_prev_[bi] = lru_tail_;
  lru_next_[bi] = -1;
  (lru_tail_ >= 0 ? lru_next_[static_cast<size_t>(lru_tail_)] : lru_head_) = block;
  lru_tail_ = block;
}

}  // namespace tessera::engine
