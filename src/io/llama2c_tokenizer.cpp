// llama2.c tokenizer file: u32 max_token_length, then per token f32 score,
// i32 length, that many bytes of piece text. The token count is not stored; it
// is the model's vocab_size. Translated into GGUF's SentencePiece ("llama")
// tokenizer keys, as llama.cpp's converter does for the same file.
#include <cmath>

#include "core/error.h"
#include "io/byte_cursor.h"
#include "io/llama2c_reader.h"
#include "io/mapped_file.h"

namespace tessera::io {
namespace {

// GGUF / llama.cpp token types.
constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6;
constexpr int64_t kUnkId = 0, kBosId = 1, kEosId = 2;

bool is_hex_digit(char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F') || (ch >= 'a' && ch <= 'f');
}

// "<0x41>": a byte-fallback token.
bool is_byte_token(std::string_view p) {
  return p.size() == 6 && p.substr(0, 3) == "<0x" && is_hex_digit(p[3]) && is_hex_digit(p[4]) && p[5] == '>';
}

int32_t token_type(int64_t id, std::string_view piece) {
  if (id == kUnkId) return kUnknown;
  if (id == kBosId || id == kEosId) return kControl;
  if (is_byte_token(piece)) return kByte;
  return kNormal;
}

// SentencePiece vocabularies mark spaces with U+2581; llama2.c's export turned them back into ' '.
std::string to_sentencepiece(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (char ch : piece) {
    if (ch == ' ')
      out += "\xE2\x96\x81";
    else
      out += ch;
  }
  return out;
}

// llama2.c's export writes BOS / EOS as "\n<s>\n" / "\n</s>\n" so that its
// printer shows them on their own line; the vocabulary's real pieces are
// "<s>" / "</s>" (as in the SentencePiece model and llama.cpp's conversion).
std::string canonical_piece(int64_t id, std::string_view piece) {
  if (id == kBosId && piece == "\n<s>\n") return "<s>";
  if (id == kEosId && piece == "\n</s>\n") return "</s>";
  return to_sentencepiece(piece);
}

}  // namespace

void read_llama2c_tokenizer(const MappedFile& file, int64_t vocab_size, Metadata& meta) {
  ByteCursor cur(file.data(), file.size(), file.path());
  cur.set_context("the tokenizer header");
  const uint32_t max_len = cur.u32("max_token_length");
  // Each token takes at least 8 bytes: refuse a vocabulary that cannot fit before allocating for it.
  if (static_cast<uint64_t>(vocab_size) > cur.remaining() / 8)
    fail("{}: tokenizer file is too short for {} tokens ({} bytes); is it the tokenizer of another model?",
         file.path(), vocab_size, file.size());

  MetaValue tokens, scores, types;
  tokens.type = scores.type = types.type = MetaType::ARRAY;
  tokens.elem_type = MetaType::STRING;
  scores.elem_type = MetaType::F32;
  types.elem_type = MetaType::I32;
  tokens.array_size = scores.array_size = types.array_size = static_cast<uint64_t>(vocab_size);
  tokens.strings.reserve(vocab_size);
  scores.floats.reserve(vocab_size);
  types.ints.reserve(vocab_size);

  for (int64_t id = 0; id < vocab_size; ++id) {
    cur.set_context_item("token", static_cast<uint64_t>(id));
    const float score = cur.f32("score");
    const uint64_t len_at = cur.offset();
    const int32_t len = cur.i32("length");
    if (len < 0) fail("{}: token {} has negative length {} (byte offset {})", file.path(), id, len, len_at);
    if (static_cast<uint32_t>(len) > max_len)
      fail("{}: token {} is {} bytes, longer than the max_token_length {} in the header (byte offset {})",
           file.path(), id, len, max_len, len_at);
    if (std::isnan(score)) fail("{}: token {} has score nan (byte offset {})", file.path(), id, len_at - 4);
    const std::string_view piece = cur.bytes(static_cast<uint64_t>(len), "piece text");
    tokens.strings.push_back(canonical_piece(id, piece));
    scores.floats.push_back(score);
    types.ints.push_back(token_type(id, piece));
  }
  if (cur.remaining() != 0)
    fail("{}: tokenizer file has {} bytes left after the model's {} tokens; is it the tokenizer of another model?",
         file.path(), cur.remaining(), vocab_size);

  auto& v = meta.values;
  MetaValue model;
  model.type = MetaType::STRING;
  model.s = "llama";
  v["tokenizer.ggml.model"] = std::move(model);
  v["tokenizer.ggml.tokens"] = std::move(tokens);
  v["tokenizer.ggml.scores"] = std::move(scores);
  v["tokenizer.ggml.token_type"] = std::move(types);
  v["tokenizer.ggml.unknown_token_id"] = meta_u32(kUnkId);
  v["tokenizer.ggml.bos_token_id"] = meta_u32(kBosId);
  v["tokenizer.ggml.eos_token_id"] = meta_u32(kEosId);
  MetaValue add_bos;
  add_bos.type = MetaType::BOOL;
  add_bos.i = 1;
  v["tokenizer.ggml.add_bos_token"] = std::move(add_bos);
}

}  // namespace tessera::io
