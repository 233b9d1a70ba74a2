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
  uint32_t file_type;  // llama.h: LLAMA_FTYPE_MOSTLY_Q4_K_S = 14, LLAMA_FTYPE_MOSTLY_Q4_K_M = 15
};

constexpr MixEntry kMixes[] = {
    {QuantMix::Q4_K_M, "Q4_K_M", 15},
    {QuantMix::Q4_K_S, "Q4_K_S", 14},
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

// The rule asks for Q5_K in a few places (Q4_K_S); Tessera has no Q5_K kernels,
// so those tensors take the next larger K-quant it has: never fewer bits than
// llama.cpp's file, at 6.56 instead of 5.5 bits per weight there.
constexpr DType kInsteadOfQ5_K = DType::Q6_K;

// The mixture's choice before the row length is considered.
DType rule_type(QuantMix mix, std::string_view name, const MixedModel& model) {
  // With a tied head, token_embd.weight is the output matrix and is treated as one.
  if (name == "output.weight" || (!model.has_output && name == "token_embd.weight")) return DType::Q6_K;
  const auto layer = block_index(name);
  if (!layer) return DType::Q4_K;
  const std::string_view role = name.substr(name.find('.', 4) + 1);
  const int64_t i = *layer, n = model.n_layer;
  if (role == "attn_v.weight") {
    if (mix == QuantMix::Q4_K_M) return use_more_bits(i, n) ? DType::Q6_K : DType::Q4_K;
    return i < 4 ? kInsteadOfQ5_K : DType::Q4_K;
  }
  if (role == "ffn_down.weight") {
    if (mix == QuantMix::Q4_K_M) return use_more_bits(i, n) ? DType::Q6_K : DType::Q4_K;
    return i < n / 8 ? kInsteadOfQ5_K : DType::Q4_K;
  }
  return DType::Q4_K;
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

DType tensor_type_for(QuantMix mix, std::string_view name, const std::vector<int64_t>& ne, const MixedModel& model) {
  if (ne.size() < 2) return DType::F32;
  const DType want = rule_type(mix, name, model);
  const int64_t row = ne[0];
  if (row % dtype_info(want).block_size == 0) return want;
  // llama.cpp falls back to Q5_0 (for Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K and the
  // head), then F16. Tessera has neither Q5 format: Q8_0 keeps at least their bits.
  return row % dtype_info(DType::Q8_0).block_size == 0 ? DType::Q8_0 : DType::F16;
}

}  // namespace tessera::engine
