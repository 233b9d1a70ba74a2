// Once warmed up, a step allocates nothing: the engine's buffers, batch arrays,
// sequences' token and block vectors, the pool's bookkeeping and the kernels'
// scratch are all sized ahead. Counted by replacing the global operator new in
// this test binary (counting only while a test asks).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine/engine.h"
#include "engine_test_util.h"
#include "io/model_file.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's temporary buffer), or it would come from
// the default operator new and go back through the free() below (ASan: alloc-dealloc mismatch).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace tessera {
namespace {

TEST(EngineAllocation, StepsAllocateNothingOnceWarm) {
  test::TempDir dir;
  test::make_tiny_model({}).write(dir.file("tiny.gguf"));
  model::Model m(std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("tiny.gguf"))));
  engine::EngineOptions o = test::engine_options(256, 64, 2);
  o.kv_tokens = 4096;
  engine::Engine e(m, o);
  std::vector<engine::SeqId> seqs;
  for (int i = 0; i < 6; ++i) {
    seqs.push_back(e.add_sequence({0.8f, 40, 0.95f, 0.05f, 1.1f, 64, static_cast<uint64_t>(i), {}}));
    e.feed(seqs.back(), std::vector<int32_t>(static_cast<size_t>(20 + 9 * i), 5 + i));
  }
  auto run_steps = [&](int n) {
    for (int k = 0; k < n; ++k) {
      for (engine::SeqId s : seqs)
        if (e.info(s).n_pending == 0) {
          const int32_t t = e.sample(s);
          e.feed(s, &t, 1);
        }
      e.step();
    }
  };
  run_steps(12);  // warm-up: prompts in chunks, then decode steps of all six
  g_allocations = 0;
  g_counting = true;
  run_steps(20);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  for (engine::SeqId s : seqs) EXPECT_TRUE(e.info(s).error.empty());
}

}  // namespace
}  // namespace tessera
