// The tokenizer fuzz targets (spm_tokenizer_fuzz.cpp, bpe_tokenizer_fuzz.cpp):
// real vocabularies from ../shared/testdata and the demo model, and arbitrary
// bytes to encode and ids to decode. Input: byte 0 picks the vocabulary, byte 1
// the flags (bit 0 add_bos, bit 1 parse_special), the rest is the text; the
// text read as 16-bit ids (some out of range) is decoded too.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/llama2c_reader.h"
#include "io/mapped_file.h"
#include "io/model_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace tessera::fuzz {

struct Vocabulary {
  std::string path;  // relative to testdata_dir(), or absolute
  bool spells_every_byte;  // every byte string round-trips (else unspellable bytes are dropped, as in llama.cpp)
};

struct LoadedVocabulary {
  std::unique_ptr<Tokenizer> tokenizer;
  bool spells_every_byte;
};

// Loads the vocabularies that exist; aborts if none does, so the target never fuzzes nothing.
inline std::vector<LoadedVocabulary> load_vocabularies(const std::vector<Vocabulary>& vocabularies) {
  std::vector<LoadedVocabulary> out;
  for (const auto& [p, spells_every_byte] : vocabularies) {
    const std::string path = p[0] == '/' ? p : testdata_dir() + "/" + p;
    if (::access(path.c_str(), R_OK) != 0) {
      std::fprintf(stderr, "fuzz: vocabulary %s absent, skipped\n", path.c_str());
      continue;
    }
    const std::string tokenizer = path.ends_with(".bin") ? path : "";
    if (!tokenizer.empty()) {  // a llama2.c tokenizer file: read it into GGUF keys
      io::Metadata meta;
      meta.source = path;
      io::read_llama2c_tokenizer(io::MappedFile(path, "tokenizer file"), 512, meta);
      out.push_back({Tokenizer::from_metadata(meta), spells_every_byte});
    } else {
      out.push_back({Tokenizer::from_metadata(io::open_model_file(path).meta), spells_every_byte});
    }
  }
  FUZZ_CHECK(!out.empty());
  return out;
}

// Bytes outside printable ASCII as \xNN, for messages.
inline std::string escaped(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    char buf[8];
    std::snprintf(buf, sizeof buf, c >= 32 && c < 127 && c != '\\' ? "%c" : "\\x%02X", c);
    out += buf;
  }
  return out;
}

// `round_trip(text)`: what decode(encode(text)) must give back for this tokenizer kind.
template <typename RoundTrip>
void exercise_tokenizer(const std::vector<LoadedVocabulary>& vocabs, const uint8_t* data, size_t size,
                        RoundTrip round_trip) {
  InputReader in(data, size);
  const LoadedVocabulary& vocab = vocabs[in.take<uint8_t>() % vocabs.size()];
  const Tokenizer& tok = *vocab.tokenizer;
  const auto flags = in.take<uint8_t>();
  const bool add_bos = flags & 1, parse_special = flags & 2;
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());

  const std::vector<int32_t> ids = tok.encode(text, add_bos, parse_special);
  for (const int32_t id : ids) FUZZ_CHECK(id >= 0 && id < tok.n_vocab());
  const std::string decoded = tok.decode(ids);
  if (!parse_special && vocab.spells_every_byte && decoded != round_trip(text)) {
    std::fprintf(stderr, "round trip through %s (%s) differs:\n  expected %s\n  decoded  %s\n", tok.model_name().c_str(),
                 tok.pre_name().c_str(), escaped(round_trip(text)).c_str(), escaped(decoded).c_str());
    FUZZ_CHECK(decoded == round_trip(text));
  }

  std::vector<int32_t> arbitrary;
  for (size_t i = 0; i + 1 < in.size(); i += 2) arbitrary.push_back(in.data()[i] | in.data()[i + 1] << 8);
  try {
    tok.decode(arbitrary);
  } catch (const Error&) {  // an id past the vocabulary
  }
}

}  // namespace tessera::fuzz
