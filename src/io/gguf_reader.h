// GGUF v2 / v3 parsing into a ModelFile whose tensors point into the mapping.
#pragma once

#include <memory>

#include "io/model_file.h"

namespace tessera::io {

// The file must start with the "GGUF" magic (open_model_file checks it).
// Throws Error naming the file, the field or tensor, and the byte offset at fault.
ModelFile read_gguf(std::shared_ptr<const MappedFile> file);

}  // namespace tessera::io
