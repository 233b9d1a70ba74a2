// The OpenAI-compatible request and response shapes of `tessera serve`:
// parsing (every field type-checked; a bad request is a 4xx with an OpenAI
// error object) and the JSON of responses and stream chunks.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "tessera/service.h"
#include "tessera/tessera.h"

namespace tessera::cli {

// A request the server refuses: HTTP status, message, and the offending field.
struct ApiError : std::runtime_error {
  ApiError(int status, const std::string& message, std::string param = {}, std::string type = "invalid_request_error")
      : std::runtime_error(message), status(status), param(std::move(param)), type(std::move(type)) {}
  int status;
  std::string param, type;
};

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param);

// Limits of a request body's JSON beyond --max-body: nesting of arrays and
// objects, and values in all (a token-id prompt of 262,144 tokens fits).
constexpr int kMaxJsonDepth = 64;
constexpr int64_t kMaxJsonValues = 1 << 18;
constexpr size_t kMaxStopBytes = 1024;  // one stop string (at most 16 of them)

// Parses a JSON body; ApiError 400 when it is not a JSON object or exceeds a limit above.
nlohmann::json parse_body(const std::string& body);

struct ParsedRequest {
  GenerationRequest generation;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// /v1/completions: prompt (string or token ids), max_tokens, sampling, stop, n, stream.
ParsedRequest parse_completion(const nlohmann::json& body, const LoadedModel& model, int64_t n_ctx);
// /v1/chat/completions: messages ({role, content}; content a string or text parts)
// rendered with the model's chat template (LoadedModel::tokenize_chat), then as
// above. A template error or refusal is ApiError 400 naming it.
ParsedRequest parse_chat(const nlohmann::json& body, const LoadedModel& model, int64_t n_ctx);

// /v1/embeddings: `input` a string, an array of strings, an array of token ids
// or an array of such arrays; each text tokenized with the model's special
// tokens (BERT's [CLS] ... [SEP]). ApiError 400 for any other shape, an empty
// input or an id outside the vocabulary.
std::vector<std::vector<int32_t>> parse_embedding_inputs(const nlohmann::json& body, const LoadedModel& model);

// One embedding as the request's encoding_format asks: "float" (the default) a
// JSON array, "base64" the base64 text of its little-endian float32 bytes.
nlohmann::json embedding_json(const std::vector<float>& v, const nlohmann::json& body);

nlohmann::json usage_json(const GenerationUsage& u);

// JSON text of a response, with any invalid UTF-8 (a parser's message quoting
// a cut character, a model's stray bytes) replaced by U+FFFD instead of throwing.
std::string to_text(const nlohmann::json& j);

}  // namespace tessera::cli
