// Fuzz target: the SentencePiece-style tokenizer on arbitrary bytes with real
// vocabularies (llama.cpp's llama-spm test vocabulary, llama2.c's tok512 and
// the demo model's). All have byte fallback, so every byte string round-trips,
// except that U+2581 (SentencePiece's space marker) in the text comes back as a
// space, as in llama.cpp.
#include "tokenizer_fuzz.h"

namespace {
std::vector<tessera::fuzz::LoadedVocabulary> vocabs;
}  // namespace

// Loading the vocabularies takes seconds under ASan: done once, outside the timed runs.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using tessera::fuzz::load_vocabularies;
  vocabs = load_vocabularies(
      {{"llamacpp-vocab/ggml-vocab-llama-spm.gguf", true},
       {"llama2c/tok512.bin", true},
       {TESSERA_SOURCE_DIR "/models/tessera-demo.gguf", true}});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::fuzz;
  exercise_tokenizer(vocabs, data, size, [](std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.substr(i, 3) == "\xE2\x96\x81") {
        out += ' ';
        i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  });
  return 0;
}
