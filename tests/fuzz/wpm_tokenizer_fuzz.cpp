// Fuzz target: the WordPiece tokenizer on arbitrary bytes with llama.cpp's
// bert-bge test vocabulary and the tiny BERT's synthetic one. WordPiece lowercases, strips accents and drops what
// it cannot spell, so decoding is not checked against the text; ids must be in
// range and decoding any ids must not fail but with an Error.
#include "tokenizer_fuzz.h"

namespace {
std::vector<tessera::fuzz::LoadedVocabulary> vocabs;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vocabs = tessera::fuzz::load_vocabularies({{"llamacpp-vocab/ggml-vocab-bert-bge.gguf", false},
                                              {TESSERA_SOURCE_DIR "/tests/data/families/bert-tiny.gguf", false}});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tessera::fuzz::exercise_tokenizer(vocabs, data, size, [](std::string_view text) { return std::string(text); });
  return 0;
}
