// llama2.c "legacy" (version 0) checkpoints and llama2.c tokenizer files,
// translated into the GGUF keys and tensor names the rest of the engine reads.
#pragma once

#include <memory>
#include <string>

#include "io/model_file.h"

namespace tessera::io {

// `file` is anything without the GGUF magic. Throws "'X' is neither a GGUF file
// (...) nor a llama2.c checkpoint (...)" when the header or size does not fit,
// and requires `tokenizer_path` (a llama2.c tokenizer file) otherwise.
ModelFile read_llama2c_checkpoint(std::shared_ptr<const MappedFile> file, const std::string& tokenizer_path);

// Adds the tokenizer.ggml.* keys for a llama2.c tokenizer file of `vocab_size` tokens.
void read_llama2c_tokenizer(const MappedFile& file, int64_t vocab_size, Metadata& meta);

}  // namespace tessera::io
