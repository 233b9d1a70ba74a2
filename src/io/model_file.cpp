// Opening a model file: the format is chosen by the first four bytes.
#include "io/model_file.h"

#include <cstring>

#include "io/gguf_reader.h"
#include "io/llama2c_reader.h"
#include "io/mapped_file.h"

namespace tessera::io {

ModelFile open_model_file(const std::string& path, const std::string& tokenizer_path) {
  auto file = std::make_shared<const MappedFile>(path, "model file");
  if (file->size() >= 4 && std::memcmp(file->data(), "GGUF", 4) == 0) return read_gguf(std::move(file));
  return read_llama2c_checkpoint(std::move(file), tokenizer_path);  // llama2.c files have no magic
}

}  // namespace tessera::io
