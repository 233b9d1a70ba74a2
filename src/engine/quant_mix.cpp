#include "engine/quant_mix.h"

#include <charconv>
#include <string>

#include "core/error.h"
#include "core/text.h"

namespace tessera::engine {
namespace {

struct MixEntry {
  QuantMix mix;
  std::string_view name;
  uint32_t file_type;  // llama.h's LLAMA_FTYPE_MOSTLY_<name>
  DType base;          // the format of every matrix the rule does not single out
};

constexpr MixEntry kMixes[] = {
    {QuantMix::Q2_K, "Q2_K", 10, DType::Q2_K},       {QuantMix::Q3_K_S, "Q3_K_S", 11, DType::Q3_K},
    {QuantMix::Q3_K_M, "Q3_K_M", 12, DType::Q3_K},   {QuantMix::Q3_K_L, "Q3_K_L", 13, DType::Q3_K},
    {QuantMix::Q4_K_S, "Q4_K_S", 14, DType::Q4_K},   {QuantMix::Q4_K_M, "Q4_K_M", 15, DType::Q4_K},
    {QuantMix::Q5_K_S, "Q5_K_S", 16, DType::Q5_K},   {QuantMix::Q5_K_M, "Q5_K_M", 17, DType::Q5_K},
    {QuantMix::Q6_K, "Q6_K", 18, DType::Q6_K},
};

const MixEntry& entry(QuantMix mix) {
  for (const auto& e : kMixes)
    if (e.mix == mix) return e;
  fail("internal error: unknown quantization mixture {}", static_cast<int>(mix));
}

// Which layers llama.cpp gives more bits: the first and last eighth, and every
// third layer in between (integer division, as there).
bool use_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

DType attn_v_type(QuantMix mix, int64_t i, const MixedModel& model, DType base) {
  switch (mix) {
    case QuantMix::Q2_K: return model.n_gqa >= 4 ? DType::Q4_K : DType::Q3_K;
    case QuantMix::Q3_K_M: return i < 2 ? DType::Q5_K : DType::Q4_K;
    case QuantMix::Q3_K_L: return DType::Q5_K;
    case QuantMix::Q4_K_M:
    case QuantMix::Q5_K_M: return use_more_bits(i, model.n_layer) ? DType::Q6_K : base;
    case QuantMix::Q4_K_S: return i < 4 ? DType::Q5_K : base;
    default: return base;
  }
}

DType ffn_down_type(QuantMix mix, int64_t i, const MixedModel& model, DType base) {
  const int64_t n = model.n_layer;
  switch (mix) {
    case QuantMix::Q2_K: return DType::Q3_K;
    case QuantMix::Q3_K_M: return i < n / 16 ? DType::Q5_K : DType::Q4_K;
    case QuantMix::Q3_K_L: return DType::Q5_K;
    case QuantMix::Q4_K_M:
    case QuantMix::Q5_K_M: return use_more_bits(i, n) ? DType::Q6_K : base;
    case QuantMix::Q4_K_S: return i < n / 8 ? DType::Q5_K : base;
    default: return base;
  }
}

DType attn_output_type(QuantMix mix, const MixedModel& model, DType base) {
  if (model.n_expert == 8) {  // Mixtral's rule replaces the dense one
    switch (mix) {
      case QuantMix::Q2_K:
      case QuantMix::Q3_K_S:
      case QuantMix::Q3_K_M:
      case QuantMix::Q4_K_S:
      case QuantMix::Q4_K_M: return DType::Q5_K;
      default: return base;
    }
  }
  switch (mix) {
    case QuantMix::Q2_K: return DType::Q3_K;
    case QuantMix::Q3_K_M: return DType::Q4_K;
    case QuantMix::Q3_K_L: return DType::Q5_K;
    default: return base;
  }
}

// The mixture's choice before the row length is considered.
DType rule_type(QuantMix mix, std::string_view name, const MixedModel& model) {
  const DType base = entry(mix).base;
  // With a tied head, token_embd.weight is the output matrix and is treated as one.
  if (name == "output.weight" || (!model.has_output && name == "token_embd.weight")) return DType::Q6_K;
  const auto layer = block_index(name);
  if (!layer) return base;
  const std::string_view role = name.substr(name.find('.', 4) + 1);
  // 8 experts (Mixtral): attn_v and attn_k whatever the mixture ("trades just ~128MB").
  const bool eight_experts = model.n_expert == 8;
  if (role == "attn_v.weight") return eight_experts ? DType::Q8_0 : attn_v_type(mix, *layer, model, base);
  if (role == "attn_k.weight") return eight_experts ? DType::Q8_0 : base;
  // llama.cpp matches "ffn_down" anywhere in the name: the experts' stack and the
  // shared expert's matrix take the dense rule, by the layer in their name.
  if (role == "ffn_down.weight" || role == "ffn_down_exps.weight" || role == "ffn_down_shexp.weight")
    return ffn_down_type(mix, *layer, model, base);
  if (role == "attn_output.weight") return attn_output_type(mix, model, base);
  return base;
}

// llama.cpp's replacement for a format whose blocks do not divide the rows.
DType fallback_of(DType type) {
  switch (type) {
    case DType::Q2_K:
    case DType::Q3_K: return DType::IQ4_NL;
    case DType::Q4_K: return DType::Q5_0;
    case DType::Q5_K: return DType::Q5_1;
    default: return DType::Q8_0;  // Q6_K and the output
  }
}

}  // namespace

std::optional<QuantMix> quant_mix_from_name(std::string_view name) {
  for (const auto& e : kMixes)
    if (iequals(e.name, name)) return e.mix;
  return std::nullopt;
}

std::string_view quant_mix_name(QuantMix mix) { return entry(mix).name; }

uint32_t quant_mix_file_type(QuantMix mix) { return entry(mix).file_type; }

std::variant<QuantMix, DType> parse_weight_type(std::string_view name) {
  if (auto mix = quant_mix_from_name(name)) return *mix;
  if (auto type = dtype_from_name(name)) return *type;
  throw UsageError(fmt::format("unknown weight type '{}' ({})", name, kWeightTypeNames));
}

std::optional<int64_t> block_index(std::string_view name) {
  constexpr std::string_view prefix = "blk.";
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  const char* first = name.data() + prefix.size();
  const char* last = name.data() + name.size();
  int64_t index = -1;
  const auto [end, ec] = std::from_chars(first, last, index);
  if (ec != std::errc() || end == first || end == last || *end != '.' || index < 0) return std::nullopt;
  return index;
}

bool is_expert_router(std::string_view name) {
  constexpr std::string_view suffix = ".ffn_gate_inp.weight";
  return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}

DType tensor_type_for(QuantMix mix, std::string_view name, const std::vector<int64_t>& ne, const MixedModel& model) {
  if (ne.size() < 2 || is_expert_router(name)) return DType::F32;
  const DType want = rule_type(mix, name, model);
  const int64_t row = ne[0];
  if (row % dtype_info(want).block_size == 0) return want;
  const DType fallback = fallback_of(want);
  return row % dtype_info(fallback).block_size == 0 ? fallback : DType::F16;
}

}  // namespace tessera::engine
