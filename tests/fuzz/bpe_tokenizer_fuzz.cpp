// Fuzz target: the byte-level BPE tokenizer on arbitrary bytes with llama.cpp's
// test vocabularies, one per pre-tokenizer. Invalid UTF-8 is repaired before
// the pre-tokenizer runs, so text round-trips up to that repair where the
// vocabulary has a token for every byte. Falcon's lacks 28 bytes (control bytes,
// 0xC0, 0xC1, 0xF2, 0xF5..0xFF) and StarCoder's 14 (0xC0, 0xC1, 0xF1, 0xF5..0xFF):
// those are dropped, as llama.cpp does, so their text is not checked.
#include "tokenizer_fuzz.h"

namespace {
std::vector<tessera::fuzz::LoadedVocabulary> vocabs;
}  // namespace

// Loading the vocabularies takes seconds under ASan: done once, outside the timed runs.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using tessera::fuzz::load_vocabularies;
  vocabs = load_vocabularies({
      {"llamacpp-vocab/ggml-vocab-gpt-2.gguf", true},
      {"llamacpp-vocab/ggml-vocab-deepseek-llm.gguf", true},
      {"llamacpp-vocab/ggml-vocab-deepseek-coder.gguf", true},
      {"llamacpp-vocab/ggml-vocab-falcon.gguf", false},
      {"llamacpp-vocab/ggml-vocab-starcoder.gguf", false},
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::fuzz;
  exercise_tokenizer(vocabs, data, size, [](std::string_view text) { return tessera::utf8::sanitize(text); });
  return 0;
}
