// Writes any model file Tessera reads (GGUF, llama2.c) as GGUF, optionally
// storing its weight matrices in another format.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/dtype.h"
#include "io/model_file.h"

namespace tessera::engine {

struct ConvertOptions {
  // Format for 2-D weight matrices; nullopt keeps each tensor's own. Vectors
  // (norms) stay F32, and a matrix whose rows are not whole blocks of the
  // target format is stored as F16 instead (reported through on_tensor).
  std::optional<DType> weight_type;
  std::function<void(size_t index, size_t count, const io::TensorInfo& in, DType out_type)> on_tensor;
};

// Tensor format written for `t` under `options` (the policy described above).
DType converted_type(const io::TensorInfo& t, const ConvertOptions& options);

// Copies metadata (general.file_type updated) and tensors; throws Error naming
// the tensor at fault (e.g. a source type that cannot be converted).
void convert_model(const io::ModelFile& in, const std::string& out_path, const ConvertOptions& options);

}  // namespace tessera::engine
