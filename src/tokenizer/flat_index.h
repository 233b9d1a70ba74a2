// Open-addressing hash tables for the vocabulary lookups. Vocabularies of
// 100k+ tokens and merges are indexed at every load, and std::unordered_map's
// node-per-entry layout makes that the slowest part of loading (in Debug builds
// especially); these keep entries in one flat array with linear probing.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace tessera {

// Strings -> non-negative ids. Keys are views: the caller keeps the text alive.
class StringIndex {
 public:
  // Returns false (and keeps the old id) when the key is already present.
  bool insert(std::string_view key, int32_t id) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = {h, key, id};
        ++size_;
        return true;
      }
      if (s.hash == h && s.key == key) return false;
    }
  }

  // The id of `key`, or -1.
  int32_t find(std::string_view key) const {
    if (size_ == 0) return -1;
    const uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && s.key == key) return s.id;
    }
  }

  void reserve(size_t n) {
    while (slots_.size() < 2 * n) grow();
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::string_view key;
    int32_t id = -1;  // -1: empty
  };

  static uint64_t hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

  void grow() {
    std::vector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Pairs of 32-bit ids -> a value. The pair (-1, -1) cannot be a key.
template <typename Value>
class PairIndex {
 public:
  // Returns false (and keeps the old value) when the pair is already present.
  bool insert(int32_t a, int32_t b, const Value& value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t k = key(a, b);
    for (size_t i = slot_of(k);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == kEmpty) {
        s = {k, value};
        ++size_;
        return true;
      }
      if (s.key == k) return false;
    }
  }

  // The value of the pair, or nullptr.
  const Value* find(int32_t a, int32_t b) const {
    if (size_ == 0) return nullptr;
    const uint64_t k = key(a, b);
    for (size_t i = slot_of(k);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == kEmpty) return nullptr;
      if (s.key == k) return &s.value;
    }
  }

  void reserve(size_t n) {
    while (slots_.size() < 2 * n) grow();
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Value value{};
  };

  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  // Fibonacci hashing spreads the consecutive ids of small vocabularies over the table.
  size_t slot_of(uint64_t k) const { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_); }

  void grow() {
    std::vector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    shift_ = 64;
    for (size_t n = slots_.size(); n > 1; n >>= 1) --shift_;
    for (const Slot& s : old) {
      if (s.key == kEmpty) continue;
      size_t i = slot_of(s.key);
      while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

}  // namespace tessera
