// Bookkeeping of the KV block pool one executor shares among its sequences:
// reference counts, a free list, and the prefix cache (full blocks indexed by
// a hash chain of their tokens, as vLLM's automatic prefix caching keys them;
// blocks nobody references stay cached and are evicted least recently used,
// only when the pool needs room). The block bytes live in model::KvStorage;
// this class only says which block ids are whose. Nothing is allocated after
// construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tessera::engine {

class KvBlockPool {
 public:
  // n_blocks blocks of block_tokens positions each.
  KvBlockPool(int64_t n_blocks, int64_t block_tokens);

  int64_t n_blocks() const { return n_blocks_; }
  int64_t block_tokens() const { return block_tokens_; }
  int64_t n_free() const { return n_free_; }      // never used, or dropped from the cache
  int64_t n_cached() const { return n_cached_; }  // unreferenced, kept for their prefix
  int64_t n_used() const { return n_blocks_ - n_free_ - n_cached_; }  // referenced by a sequence
  // Blocks allocate() can still hand out (free, or cached and evictable).
  int64_t n_available() const { return n_free_ + n_cached_; }

  // A block for the caller alone (reference count 1): a free one, else the
  // least recently used cached block, dropped from the index. -1 when every
  // block is referenced.
  int32_t allocate();
  void retain(int32_t block);
  // One reference fewer; at none the block stays cached if it is indexed, or
  // returns to the free list.
  void release(int32_t block);
  int32_t ref_count(int32_t block) const { return refs_[static_cast<size_t>(block)]; }

  // The hash of a full block holding `tokens` (block_tokens of them) after the
  // prefix whose chain hash is `parent` (0 for the first block).
  uint64_t chain_hash(uint64_t parent, const int32_t* tokens) const;
  // The indexed block with that hash, parent and tokens, retained for the
  // caller (and taken off the cache's LRU list); -1 when there is none.
  int32_t lookup(uint64_t hash, uint64_t parent, const int32_t* tokens);
  // Indexes full block `block` as holding `tokens` after `parent` under `hash`;
  // false (and nothing changes) when another block already holds that prefix.
  bool publish(int32_t block, uint64_t hash, uint64_t parent, const int32_t* tokens);
  bool is_indexed(int32_t block) const { return indexed_[static_cast<size_t>(block)] != 0; }

 private:
  void unlink_lru(int32_t block);
  void push_lru(int32_t block);  // most recently used end
  void index_erase(int32_t block);
  size_t slot_of(uint64_t hash) const { return static_cast<size_t>(hash) & (index_.size() - 1); }

  int64_t n_blocks_, block_tokens_;
  int64_t n_free_ = 0, n_cached_ = 0;
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;  // stack of free block ids
  // Per block: its key when indexed, and its place in the LRU list (cached only).
  std::vector<uint8_t> indexed_;
  std::vector<uint64_t> hash_, parent_;
  std::vector<int32_t> tokens_;  // n_blocks x block_tokens
  std::vector<int32_t> lru_prev_, lru_next_;
  int32_t lru_head_ = -1, lru_tail_ = -1;  // head: least recently used
  // Open addressing (linear probing) from hash to block; -1 empty. Twice the
  // blocks, a power of two, so it never fills.
  std::vector<int32_t> index_;
};

}  // namespace tessera::engine
