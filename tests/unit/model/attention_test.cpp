// Attention over the KV block storage against a direct softmax(QK^T)V.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/kv_storage.h"

namespace tessera {
namespace {

TEST(Attention, MatchesDirectSoftmaxOnPagedCache) {
  std::mt19937 rng(3);
  std::normal_distribution<float> N(0, 1);
  for (int64_t n_head_kv : {1, 2, 3}) {
    for (int64_t group : {1, 3}) {
      const int64_t n_head = n_head_kv * group, d = 9, n_ctx = 75, pos0 = 70, n_tok = 5;
      // Positions through a block table that is not the identity.
      const int32_t table[] = {2, 0, 3};
      model::KvStorage cache(2, n_head_kv, d, 4, {DType::F32, DType::F32});
      std::vector<float> K(n_ctx * n_head_kv * d), V(K.size());
      for (auto& x : K) x = N(rng);
      for (auto& x : V) x = N(rng);
      for (int64_t p = 0; p < n_ctx; ++p)
        cache.store(1, table[p / 32], p % 32, K.data() + p * n_head_kv * d, V.data() + p * n_head_kv * d);
      std::vector<float> q(n_tok * n_head * d), out(q.size());
      for (auto& x : q) x = N(rng) * 2;
      ThreadPool pool(3);
      const float scale = 0.4f;
      const kernels::AttentionSeq seq{0, n_tok, pos0, table};
      kernels::attention(pool, q.data(), n_head, cache.layer_view(1), &seq, 1, scale, out.data());

      for (int64_t t = 0; t < n_tok; ++t)
        for (int64_t h = 0; h < n_head; ++h) {
          const int64_t kh = h / group, n_pos = pos0 + t + 1;
          std::vector<double> s(n_pos);
          double mx = -1e300, z = 0;
          for (int64_t p = 0; p < n_pos; ++p) {
            double dot = 0;
            for (int64_t i = 0; i < d; ++i) dot += double(q[(t * n_head + h) * d + i]) * K[(p * n_head_kv + kh) * d + i];
            s[p] = dot * scale;
            mx = std::max(mx, s[p]);
          }
          for (auto& x : s) z += (x = std::exp(x - mx));
          for (int64_t i = 0; i < d; ++i) {
            double want = 0;
            for (int64_t p = 0; p < n_pos; ++p) want += s[p] / z * V[(p * n_head_kv + kh) * d + i];
            EXPECT_NEAR(out[(t * n_head + h) * d + i], want, 1e-5) << t << " " << h << " " << i;
          }
        }
    }
  }
}

}  // namespace
}  // namespace tessera
