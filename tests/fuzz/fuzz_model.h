// What the model-file fuzz targets do with a file the reader accepted: the
// checks and uses `tessera run` makes of it. Only tessera::Error may come out.
#pragma once

#include <memory>
#include <vector>

#include "core/error.h"
#include "engine/engine.h"
#include "fuzz_util.h"
#include "io/mapped_file.h"
#include "io/model_file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tessera::fuzz {

// Every tensor view lies inside one of the file's mappings.
inline void check_tensor_views(const io::ModelFile& file) {
  for (const auto& t : file.tensors) {
    bool inside = false;
    for (const auto* m : {file.mapping.get(), file.extra_mapping.get()})
      if (m && t.data >= m->data() && t.nbytes <= m->size() && t.data + t.nbytes <= m->data() + m->size())
        inside = true;
    FUZZ_CHECK(inside && t.nbytes > 0);
  }
}

// Builds the tokenizer the metadata describes and round-trips a short text.
inline void exercise_tokenizer(const io::ModelFile& file) {
  try {
    const auto tok = Tokenizer::from_metadata(file.meta);
    const auto ids = tok->encode("Hello world <s>\xC3\xA9\xE2\x96\x81 1234\n", true, true);
    for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < tok->n_vocab());
    tok->decode(ids);
  } catch (const Error&) {
  }
}

// Loads the model and evaluates a two-token prompt, then one more token (the
// batched and the single-token paths) in a 4-position context on one thread.
inline void exercise_model(std::shared_ptr<const io::ModelFile> file) {
  try {
    model::Model m(std::move(file));
    engine::EngineOptions options;
    options.n_ctx = 4;
    options.n_batch = 2;
    options.n_threads = 1;
    engine::Engine engine(m, options);
    const engine::SeqId seq = engine.add_sequence();
    const auto last = static_cast<int32_t>(m.config().n_vocab - 1);
    engine.eval(seq, std::vector<int32_t>{0, last});
    FUZZ_CHECK(engine.eval(seq, std::vector<int32_t>{last / 2}) != nullptr);
  } catch (const Error&) {
  }
}

// Opens `path` (and `tokenizer_path` for llama2.c) as `tessera run` would.
inline void exercise_model_file(const std::string& path, const std::string& tokenizer_path = "") {
  std::shared_ptr<const io::ModelFile> file;
  try {
    file = std::make_shared<const io::ModelFile>(io::open_model_file(path, tokenizer_path));
  } catch (const Error&) {
    return;
  }
  check_tensor_views(*file);
  exercise_tokenizer(*file);
  exercise_model(std::move(file));
}

}  // namespace tessera::fuzz
