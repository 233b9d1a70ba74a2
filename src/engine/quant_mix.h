// llama.cpp's named quantization mixtures (llama-quantize's Q2_K, Q3_K_S/M/L,
// Q4_K_S/M, Q5_K_S/M and Q6_K): each weight matrix gets a format chosen by its
// role and layer, the rule of llama.cpp's llama_tensor_get_type (c392e5094) for
// Llama-style models, with its expert-count steps (8 experts: attn_v and attn_k
// Q8_0, attn_output Q5_K in the mixtures up to Q4_K_M; expert and shared-expert
// ffn_down stacks as ffn_down). Its 70B-only step (attn_v Q3_K / Q4_K -> Q5_K
// in 80-layer GQA models) is not applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "core/dtype.h"

namespace tessera::engine {

enum class QuantMix { Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K };

// "q4_k_m", "Q2_K" (case-insensitive). Q2_K and Q6_K name the mixtures, as in
// llama-quantize; the other single formats keep their own names (q4_k, q5_k, ...).
std::optional<QuantMix> quant_mix_from_name(std::string_view name);
std::string_view quant_mix_name(QuantMix mix);                       // "Q4_K_M"
uint32_t quant_mix_file_type(QuantMix mix);  // general.file_type: llama.cpp's LLAMA_FTYPE_MOSTLY_*

// Every name `--type` accepts (convert, quantize, mkmodel), for help and messages.
inline constexpr std::string_view kWeightTypeNames =
    "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q3_k, q4_k, q5_k, iq4_nl, iq4_xs; mixtures q2_k, q3_k_s, q3_k_m, "
    "q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k";

// A `--type` name: a mixture, else a single tensor format. Throws UsageError
// naming `name` and listing kWeightTypeNames when it is neither.
std::variant<QuantMix, DType> parse_weight_type(std::string_view name);

// What the rule needs to know of the whole model.
struct MixedModel {
  int64_t n_layer = 0;
  bool has_output = true;  // false: the head is tied, and token_embd is quantised as the output
  int64_t n_gqa = 1;       // query heads per kv head (Q2_K's attn_v: Q4_K from 4 on)
  int64_t n_expert = 0;    // <arch>.expert_count (exactly 8: Mixtral's attention steps)
};

// The block index N of a "blk.N.*" tensor name.
std::optional<int64_t> block_index(std::string_view name);

// A mixture-of-experts router (blk.N.ffn_gate_inp.weight): kept F32 by every
// mixture and format, as llama.cpp's quantize leaves it (small, and a rounding
// there changes which experts a token gets).
bool is_expert_router(std::string_view name);

// Format of tensor `name` of shape `ne` (innermost first) under `mix`: vectors
// (norms) and expert routers F32; the output matrix Q6_K; attn_v, ffn_down (and
// the experts' ffn_down stacks) and attn_output by the mixture's rule for their
// layer (README's table), attn_k too with 8 experts; every other matrix the
// mixture's base format. Rows that are not whole 256-element super-blocks fall
// back as llama.cpp does (Q2_K, Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1,
// Q6_K -> Q8_0), and to F16 when not whole 32-element blocks either.
DType tensor_type_for(QuantMix mix, std::string_view name, const std::vector<int64_t>& ne, const MixedModel& model);

}  // namespace tessera::engine
