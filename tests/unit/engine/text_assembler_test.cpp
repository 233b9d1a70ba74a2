// Stop strings across token boundaries and whole UTF-8 characters only,
// against the plain answer: the full text cut before the first stop string.
#include "engine/text_assembler.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tessera::engine {
namespace {

std::string run(const std::vector<std::string>& pieces, const std::vector<std::string>& stop, bool* stopped = nullptr) {
  TextAssembler a(stop);
  std::string out;
  for (const auto& p : pieces) {
    const std::string sent = a.push(p);
    // Never an unfinished UTF-8 character at the end of what is sent.
    if (!sent.empty()) {
      const auto last = static_cast<unsigned char>(sent.back());
      EXPECT_FALSE(last >= 0xC0) << "sent a lead byte at the end";
    }
    out += sent;
    if (a.stopped()) break;
  }
  if (stopped) *stopped = a.stopped();
  return out + a.finish();
}

TEST(TextAssembler, StopStringSplitAcrossPieces) {
  bool stopped = false;
  EXPECT_EQ(run({"Hello", " wor", "ld<|e", "nd|> more"}, {"<|end|>"}, &stopped), "Hello world");
  EXPECT_TRUE(stopped);
  EXPECT_EQ(run({"a", "b", "c"}, {"bc", "c"}), "a");       // the earliest stop wins
  EXPECT_EQ(run({"x<", "y"}, {"<|end|>"}), "x<y");          // a held-back prefix that did not complete
  EXPECT_EQ(run({"abc"}, {}), "abc");
  EXPECT_EQ(run({"no", "stop"}, {""}), "nostop");           // empty stop strings are ignored
  EXPECT_EQ(run({"\n\nUser:"}, {"\nUser:"}), "\n");
}

TEST(TextAssembler, HoldsBackUnfinishedUtf8) {
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  TextAssembler a;
  EXPECT_EQ(a.push("a\xE2"), "a");
  EXPECT_EQ(a.push("\x82"), "");
  EXPECT_EQ(a.push("\xAC" "b"), euro + "b");
  EXPECT_EQ(a.finish(), "");
}

// Random texts cut into random pieces: the result is always the text before the
// first stop string.
TEST(TextAssembler, RandomSplitsMatchThePlainCut) {
  std::mt19937 rng(3);
  const std::string alphabet = "ab<|>\n";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (int i = 0; i < 30; ++i) text += alphabet[rng() % alphabet.size()];
    const std::vector<std::string> stop = {"<|>", "ab\n", "bbb"};
    size_t cut = std::string::npos;
    for (const auto& s : stop) cut = std::min(cut, text.find(s));
    const std::string want = cut == std::string::npos ? text : text.substr(0, cut);
    std::vector<std::string> pieces;
    for (size_t i = 0; i < text.size();) {
      const size_t n = 1 + rng() % 4;
      pieces.push_back(text.substr(i, n));
      i += n;
    }
    ASSERT_EQ(run(pieces, stop), want) << text;
  }
}

}  // namespace
}  // namespace tessera::engine
