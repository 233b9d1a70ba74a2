// Fuzz target: a GGUF file from arbitrary bytes, as `tessera run` reads it:
// header, metadata and tensor table, the tokenizer from the metadata, then the
// model with a tiny context and a forward pass (fuzz_model.h).
#include <cstring>

#include "fuzz_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tessera::fuzz::MemFile file("fuzz.gguf");
  // Without the magic the file would be read as a llama2.c checkpoint (llama2c_fuzz.cpp).
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) return -1;
  tessera::fuzz::exercise_model_file(file.set(data, size));
  return 0;
}
