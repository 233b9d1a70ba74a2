// Batch invariance of the kernels the batched engine relies on: a token's
// result must be bit-identical whatever other tokens share the call, wherever
// it sits among them, and however many threads split the rows. (The engine
// packs many sequences' tokens into one forward pass and promises each
// sequence the logits it would get alone.)
#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace tessera::kernels {
namespace {

using test::PerIsa;
using test::random_floats;
using test::random_matrix;

constexpr DType kTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};

struct Case {
  DType type;
  WeightLayout layout;
};

// Every (format, layout) this tier multiplies.
std::vector<Case> cases_of(const KernelTable& table) {
  std::vector<Case> cases;
  for (DType type : kTypes)
    for (WeightLayout layout : {WeightLayout::Plain, WeightLayout::Rows8})
      if (table.matmul_for(type, layout)) cases.push_back({type, layout});
  return cases;
}

class BatchInvariance : public PerIsa {};

// y for each token computed alone (1 thread) equals, bit for bit, its row of a
// call over many tokens in a scrambled order, at 1 and 2 threads.
TEST_P(BatchInvariance, MatmulRowOfATokenDoesNotDependOnTheBatch) {
  ThreadPool one(1), two(2);
  for (const Case& c : cases_of(table())) {
    // Long rows make the prefill path cut the tokens into blocks that stay in L2.
    const int64_t short_cols = dtype_info(c.type).block_size == 256 ? 512 : 320;
    for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{8, short_cols}, {37, short_cols}, {64, short_cols},
                                     {19, 4096}}) {
      SCOPED_TRACE(testing::Message() << dtype_name(c.type) << (c.layout == WeightLayout::Rows8 ? " rows8" : "")
                                      << " rows=" << rows << " cols=" << cols);
      const std::vector<uint8_t> plain = random_matrix(c.type, rows, cols, 31);
      std::vector<uint8_t> w(plain.size());
      if (c.layout == WeightLayout::Plain) w = plain;
      else repack_weights(c.type, c.layout, plain.data(), w.data(), rows, cols);

      constexpr int64_t kMaxTokens = 40;
      const std::vector<float> x = random_floats(static_cast<size_t>(kMaxTokens * cols), 32, -2.0f, 2.0f);
      std::vector<float> alone(static_cast<size_t>(kMaxTokens * rows));
      for (int64_t t = 0; t < kMaxTokens; ++t)
        matmul_with(table(), one, c.type, c.layout, w.data(), rows, cols, x.data() + t * cols, 1,
                    alone.data() + t * rows);

      for (int64_t n : {2, 3, 7, 16, 33, 40})
        for (ThreadPool* pool : {&one, &two}) {
          // Token i of the batch is source token perm[i]: a fixed scramble.
          std::vector<int64_t> perm(static_cast<size_t>(n));
          for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = (i * 17 + n) % kMaxTokens;
          std::vector<float> xb(static_cast<size_t>(n * cols)), yb(static_cast<size_t>(n * rows));
          for (int64_t i = 0; i < n; ++i)
            std::memcpy(&xb[static_cast<size_t>(i * cols)], &x[static_cast<size_t>(perm[i] * cols)],
                        static_cast<size_t>(cols) * sizeof(float));
          matmul_with(table(), *pool, c.type, c.layout, w.data(), rows, cols, xb.data(), n, yb.data());
          for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ(0, std::memcmp(&yb[static_cast<size_t>(i * rows)], &alone[static_cast<size_t>(perm[i] * rows)],
                                     static_cast<size_t>(rows) * sizeof(float)))
                << "n=" << n << " threads=" << pool->size() << " batch index " << i;
        }
    }
  }
}

TESSERA_INSTANTIATE_PER_ISA(BatchInvariance);

}  // namespace
}  // namespace tessera::kernels
