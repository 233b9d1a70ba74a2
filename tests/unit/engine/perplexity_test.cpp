// Perplexity against a direct computation: every chunk evaluated one token at a
// time from an empty cache, log-softmax in double, second halves averaged.
#include "engine/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "engine_test_util.h"
#include "io/model_file.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace tessera {
namespace {

TEST(Perplexity, MatchesDirectComputation) {
  test::TempDir dir;
  test::make_tiny_model({}).write(dir.file("m.gguf"));
  model::Model m(std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("m.gguf"))));
  const int64_t n_ctx = 20, n_vocab = m.config().n_vocab;
  std::vector<int32_t> tokens;
  for (int i = 0; i < 67; ++i) tokens.push_back(3 + (i * 53 + i * i) % 270);

  engine::Engine session(m, test::engine_options(n_ctx, 7, 2));
  const auto r = engine::perplexity(session, tokens, 1, -1, {});
  EXPECT_EQ(r.n_chunks, 3);
  EXPECT_EQ(r.n_scored, 3 * (n_ctx - 1 - n_ctx / 2));

  double nll = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < 3; ++c) {
    engine::Engine direct(m, test::engine_options(n_ctx, 1, 1));
    const engine::SeqId seq = direct.add_sequence();
    for (int64_t p = 0; p < n_ctx - 1; ++p) {
      const int32_t in = p == 0 ? 1 : tokens[c * n_ctx + p];
      const float* logits = direct.eval(seq, &in, 1);
      if (p < n_ctx / 2) continue;
      double z = 0, mx = -1e300;
      for (int64_t i = 0; i < n_vocab; ++i) mx = std::max(mx, double(logits[i]));
      for (int64_t i = 0; i < n_vocab; ++i) z += std::exp(logits[i] - mx);
      nll += std::log(z) + mx - logits[tokens[c * n_ctx + p + 1]];
      ++count;
    }
  }
  EXPECT_NEAR(r.ppl, std::exp(nll / count), 1e-4 * r.ppl);
  EXPECT_GT(r.ppl_error, 0);
  EXPECT_EQ(r.running_ppl.size(), 3u);
  EXPECT_DOUBLE_EQ(r.running_ppl.back(), r.ppl);

  const auto two = engine::perplexity(session, tokens, 1, 2, {});
  EXPECT_EQ(two.n_chunks, 2);
  EXPECT_DOUBLE_EQ(two.ppl, r.running_ppl[1]);
}

TEST(Perplexity, TextShorterThanTwoContextsIsAnError) {
  test::TempDir dir;
  test::make_tiny_model({}).write(dir.file("m.gguf"));
  model::Model m(std::make_shared<const io::ModelFile>(io::open_model_file(dir.file("m.gguf"))));
  engine::Engine session(m, test::engine_options(32, 8, 1));
  std::vector<int32_t> tokens(63, 5);
  try {
    engine::perplexity(session, tokens, 1, -1, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs at least 64"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tessera
