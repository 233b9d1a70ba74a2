// Perplexity against llama.cpp's llama-perplexity on the same GGUF and text.
#include <gtest/gtest.h>

#include "tessera/tessera.h"
#include "test_util.h"

namespace tessera {
namespace {

// Reference: llama.cpp llama-perplexity (commit c392e5094, Feb 2025) run as
//   llama-perplexity -m stories260K-f32.gguf -f tests/data/little_stories.txt -c 128 -b 128
// printed "[1]3.4980,[2]3.1489,[3]3.1417,...,[14]4.2134" and
// "Final estimate: PPL = 4.2134 +/- 0.24407".
TEST(PerplexityConformance, Stories260KMatchesLlamaCpp) {
  TESSERA_REQUIRE_TESTDATA(model_path, "gguf/stories260K-f32.gguf");
  auto model = LoadedModel::open(model_path);
  const std::string text = test::read_file(std::string(TESSERA_SOURCE_DIR) + "/tests/data/little_stories.txt");
  PerplexityOptions o;
  o.n_ctx = 128;
  o.n_batch = 128;
  o.n_threads = 2;
  const auto s = model->perplexity(text, o, {});
  EXPECT_EQ(s.n_chunks, 14);
  EXPECT_NEAR(s.ppl, 4.2134, 4.2134 * 1e-3);
  EXPECT_NEAR(s.ppl_error, 0.24407, 0.24407 * 1e-2);
  ASSERT_EQ(s.running_ppl.size(), 14u);
  EXPECT_NEAR(s.running_ppl[0], 3.4980, 3.4980 * 1e-3);
  EXPECT_NEAR(s.running_ppl[2], 3.1417, 3.1417 * 1e-3);
}

}  // namespace
}  // namespace tessera
