// llama.cpp's named quantization mixtures (llama-quantize's Q4_K_M and Q4_K_S):
// each weight matrix gets a format chosen by its role and layer, the rule of
// llama.cpp's llama_tensor_get_type for a Llama model without experts. Its
// 70B-only step (attn_v Q4_K -> Q5_K in 80-layer GQA models) is not applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "core/dtype.h"

namespace tessera::engine {

enum class QuantMix { Q4_K_M, Q4_K_S };

std::optional<QuantMix> quant_mix_from_name(std::string_view name);  // "q4_k_m", "Q4_K_S" (case-insensitive)
std::string_view quant_mix_name(QuantMix mix);                       // "Q4_K_M"
uint32_t quant_mix_file_type(QuantMix mix);  // general.file_type: llama.cpp's LLAMA_FTYPE_MOSTLY_*

// Every name `--type` accepts (convert, quantize, mkmodel), for help and messages.
inline constexpr std::string_view kWeightTypeNames = "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q4_k_m, q4_k_s";

// A `--type` name: a mixture, else a single tensor format. Throws UsageError
// naming `name` and listing kWeightTypeNames when it is neither.
std::variant<QuantMix, DType> parse_weight_type(std::string_view name);

// What the rule needs to know of the whole model.
struct MixedModel {
  int64_t n_layer = 0;
  bool has_output = true;  // false: the head is tied, and token_embd is quantised as the output
};

// The block index N of a "blk.N.*" tensor name.
std::optional<int64_t> block_index(std::string_view name);

// Format of tensor `name` of shape `ne` (innermost first) under `mix`: vectors
// (norms) F32; the output matrix Q6_K; attn_v / ffn_down Q6_K in the layers the
// mixture favours; every other matrix Q4_K. Rows that are not whole 256-element
// super-blocks fall back to Q8_0, or F16 when not whole 32-element blocks either.
DType tensor_type_for(QuantMix mix, std::string_view name, const std::vector<int64_t>& ne, const MixedModel& model);

}  // namespace tessera::engine
