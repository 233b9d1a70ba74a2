// Architectures as data: which token mixer and channel mixer each block uses,
// and the tensor names of each part. Adding a family is mostly a new entry here.
#pragma once

#include <string>
#include <string_view>

namespace tessera::model {

enum class MixerKind { Attention };
enum class ChannelKind { SwiGLU };

struct TensorNames {
  std::string_view token_embd = "token_embd.weight";
  std::string_view output_norm = "output_norm.weight";
  std::string_view output = "output.weight";  // absent: tied to token_embd
  std::string_view rope_freqs = "rope_freqs.weight";  // optional per-dim rope factors
  // Per block; "{}" is the block index.
  std::string_view mixer_norm = "blk.{}.attn_norm.weight";
  std::string_view attn_q = "blk.{}.attn_q.weight";
  std::string_view attn_k = "blk.{}.attn_k.weight";
  std::string_view attn_v = "blk.{}.attn_v.weight";
  std::string_view attn_output = "blk.{}.attn_output.weight";
  std::string_view channel_norm = "blk.{}.ffn_norm.weight";
  std::string_view ffn_gate = "blk.{}.ffn_gate.weight";
  std::string_view ffn_up = "blk.{}.ffn_up.weight";
  std::string_view ffn_down = "blk.{}.ffn_down.weight";
};

struct Architecture {
  std::string_view name;  // general.architecture
  MixerKind mixer;
  ChannelKind channel;
  bool rope_neox;         // rotate (i, i+d/2) pairs instead of (2i, 2i+1)
  TensorNames tensors;
};

// The description of a GGUF architecture name; throws Error naming `source` and the
// supported list when Tessera cannot run it.
const Architecture& find_architecture(const std::string& name, const std::string& source);

}  // namespace tessera::model
