// Fuzz target: a llama2.c checkpoint and its tokenizer file from arbitrary
// bytes. Input: u16 checkpoint length, the checkpoint, then the tokenizer file.
// Read, checked, tokenizer built and the model run as in gguf_fuzz.cpp.
#include <cstring>

#include "fuzz_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::fuzz;
  static MemFile checkpoint("fuzz.bin"), tokenizer("fuzz-tokenizer.bin");
  InputReader in(data, size);
  const size_t split = std::min<size_t>(in.take<uint16_t>(), in.size());
  // Files with the GGUF magic take the GGUF route (gguf_fuzz.cpp).
  if (split >= 4 && std::memcmp(in.data(), "GGUF", 4) == 0) return -1;
  checkpoint.set(in.data(), split);
  tokenizer.set(in.data() + split, in.size() - split);
  exercise_model_file(checkpoint.path(), tokenizer.path());
  return 0;
}
