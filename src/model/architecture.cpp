#include "model/architecture.h"

#include <array>

#include "core/error.h"

namespace tessera::model {
namespace {

// `llama` covers Llama 1/2/3, TinyLlama, Mistral (no sliding window) and SmolLM.
constexpr std::array kArchitectures = {
    Architecture{"llama", MixerKind::Attention, ChannelKind::SwiGLU, false, TensorNames{}},
};

}  // namespace

const Architecture& find_architecture(const std::string& name, const std::string& source) {
  for (const auto& a : kArchitectures)
    if (a.name == name) return a;
  std::string known;
  for (const auto& a : kArchitectures) known += (known.empty() ? "" : ", ") + std::string(a.name);
  fail("{}: architecture '{}' is not supported (supported: {})", source, name, known);
}

}  // namespace tessera::model
