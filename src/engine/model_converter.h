// Writes any model file Tessera reads (GGUF, llama2.c) as GGUF, optionally
// storing its weight matrices in another format.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/dtype.h"
#include "engine/quant_mix.h"
#include "io/model_file.h"

namespace tessera::engine {

struct ConvertOptions {
  // Format for 2-D weight matrices; nullopt keeps each tensor's own. Vectors
  // (norms) stay F32, and a matrix whose rows are not whole blocks of the
  // target format is stored as F16 instead (reported through on_tensor).
  std::optional<DType> weight_type;
  // Instead of weight_type: each tensor's format by the mixture's rule
  // (tensor_type_for), which has its own fallbacks.
  std::optional<QuantMix> mix;
  std::function<void(size_t index, size_t count, const io::TensorInfo& in, DType out_type)> on_tensor;
};

// What a mixture needs of `in`: its layer count (from the blk.N names) and
// whether it has an output head of its own.
MixedModel mixed_model_of(const io::ModelFile& in);

// Tensor format written for `t` of `model` under `options` (the policy described above).
DType converted_type(const io::TensorInfo& t, const ConvertOptions& options, const MixedModel& model);

// Copies metadata (general.file_type set for a new format or mixture) and
// tensors; throws Error naming the tensor at fault (e.g. a source type that
// cannot be converted).
void convert_model(const io::ModelFile& in, const std::string& out_path, const ConvertOptions& options);

}  // namespace tessera::engine
