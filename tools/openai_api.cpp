#include "openai_api.h"

#include <cmath>

namespace tessera::cli {
namespace {

using nlohmann::json;

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

double number(const json& body, const char* key, double fallback, double lo, double hi) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  const json& v = body[key];
  if (!v.is_number()) throw ApiError(400, std::string("'") + key + "' must be a number", key);
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi))
    throw ApiError(400, std::string("'") + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi), key);
  return x;
}

int64_t integer(const json& body, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  const json& v = body[key];
  if (!v.is_number_integer()) throw ApiError(400, std::string("'") + key + "' must be an integer", key);
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi)
    throw ApiError(400, std::string("'") + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi), key);
  return x;
}

bool boolean(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return false;
  if (!body[key].is_boolean()) throw ApiError(400, std::string("'") + key + "' must be true or false", key);
  return body[key].get<bool>();
}

// An array of token ids of a vocabulary of n_vocab tokens, the request's `field`.
std::vector<int32_t> token_ids(const json& array, int32_t n_vocab, const char* field) {
  std::vector<int32_t> tokens;
  for (const json& t : array) {
    if (!t.is_number_integer()) throw ApiError(400, std::string("'") + field + "' token ids must be integers", field);
    const int64_t id = t.get<int64_t>();
    if (id < 0 || id >= n_vocab)
      throw ApiError(400, std::string("'") + field + "' token id " + std::to_string(id) + " is outside the vocabulary",
                     field);
    tokens.push_back(static_cast<int32_t>(id));
  }
  return tokens;
}

// Sampling, length, stop, n and stream: the fields both endpoints share.
ParsedRequest parse_common(const json& body, int64_t n_ctx, std::vector<int32_t> prompt) {
  ParsedRequest r;
  GenerationRequest& g = r.generation;
  g.prompt = std::move(prompt);
  if (static_cast<int64_t>(g.prompt.size()) >= n_ctx)
    throw ApiError(400, "the prompt is " + std::to_string(g.prompt.size()) + " tokens; the context holds " +
                            std::to_string(n_ctx) + " (the server's per-sequence n_ctx) with at least one to generate",
                   "messages");
  const int64_t room = n_ctx - static_cast<int64_t>(g.prompt.size());
  int64_t max_tokens = integer(body, "max_completion_tokens", -1, 1, INT32_MAX);
  if (max_tokens < 0) max_tokens = integer(body, "max_tokens", -1, 1, INT32_MAX);
  g.max_tokens = max_tokens < 0 ? room : std::min(max_tokens, room);  // capped by the context
  g.sampling.temperature = static_cast<float>(number(body, "temperature", 1.0, 0.0, 2.0));
  g.sampling.top_p = static_cast<float>(number(body, "top_p", 1.0, 1e-9, 1.0));
  g.sampling.top_k = static_cast<int32_t>(integer(body, "top_k", 0, 0, INT32_MAX));
  g.sampling.min_p = static_cast<float>(number(body, "min_p", 0.0, 0.0, 0.999999));
  g.sampling.repeat_penalty = static_cast<float>(number(body, "repeat_penalty", 1.0, 1e-6, 100.0));
  g.sampling.seed = static_cast<uint64_t>(integer(body, "seed", 0, INT64_MIN, INT64_MAX));
  g.n = static_cast<int>(integer(body, "n", 1, 1, 128));
  // Each generated token is checked against every stop string's prefixes, so
  // their length is bounded as their number is.
  const auto stop_string = [](const json& x) {
    if (!x.is_string()) throw ApiError(400, "'stop' must be a string or an array of strings", "stop");
    if (x.get_ref<const std::string&>().size() > kMaxStopBytes)
      throw ApiError(400, "a 'stop' string may be at most " + std::to_string(kMaxStopBytes) + " bytes", "stop");
    return x.get<std::string>();
  };
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& s = body["stop"];
    if (s.is_string()) {
      g.stop.push_back(stop_string(s));
    } else if (s.is_array() && s.size() <= 16) {
      for (const json& x : s) g.stop.push_back(stop_string(x));
    } else {
      throw ApiError(400, "'stop' must be a string or an array of at most 16 strings", "stop");
    }
  }
  g.ignore_eos = boolean(body, "ignore_eos");
  r.stream = boolean(body, "stream");
  if (body.contains("stream_options") && body["stream_options"].is_object())
    r.include_usage = boolean(body["stream_options"], "include_usage");
  return r;
}

// Counts values and nesting depth, throwing ApiError past a limit. A syntax
// error ends the pass quietly: the parse that follows reports it.
struct JsonLimits final : nlohmann::json_sax<json> {
  int64_t values = 0, depth = 0;
  bool value() {
    if (++values > kMaxJsonValues)
      throw ApiError(400, "the request body holds more than " + std::to_string(kMaxJsonValues) + " JSON values");
    return true;
  }
  bool open() {
    if (++depth > kMaxJsonDepth)
      throw ApiError(400, "the request body nests arrays and objects more than " + std::to_string(kMaxJsonDepth) +
                              " deep");
    return value();
  }
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return --depth, true; }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return --depth, true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

}  // namespace

json error_body(const std::string& message, const std::string& type, const std::string& param) {
  return {{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)}, {"code", nullptr}}}};
}

json parse_body(const std::string& body) {
  if (!valid_utf8(body)) throw ApiError(400, "the request body is not valid UTF-8");
  // A first pass that builds nothing checks the limits, so a hostile body is
  // refused before its document grows (a 3-byte "{}," is a map of its own) or
  // nests deeper than any walk of it should recurse. (Not nlohmann's parser
  // callback: it rescans the parent at every object's end, quadratic in
  // arrays of objects.)
  JsonLimits limits;
  json::sax_parse(body, &limits, json::input_format_t::json, false, false);
  json j;
  try {
    j = json::parse(body, nullptr, true, false);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return j;
}

ParsedRequest parse_completion(const json& body, const LoadedModel& model, int64_t n_ctx) {
  if (!body.contains("prompt")) throw ApiError(400, "'prompt' is required", "prompt");
  const json& p = body["prompt"];
  std::vector<int32_t> tokens;
  if (p.is_string()) {
    tokens = model.tokenize(p.get<std::string>(), true);
  } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
    tokens = token_ids(p, model.summary().n_vocab, "prompt");
  } else {
    throw ApiError(400, "'prompt' must be a string or an array of token ids", "prompt");
  }
  if (tokens.empty()) throw ApiError(400, "'prompt' is empty", "prompt");
  return parse_common(body, n_ctx, std::move(tokens));
}

ParsedRequest parse_chat(const json& body, const LoadedModel& model, int64_t n_ctx) {
  if (!body.contains("messages") || !body["messages"].is_array())
    throw ApiError(400, "'messages' must be an array of {role, content}", "messages");
  const json& messages = body["messages"];
  if (messages.empty()) throw ApiError(400, "'messages' is empty", "messages");
  std::vector<ChatMessage> plain;
  for (const json& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw ApiError(400, "each message needs a string 'role'", "messages");
    const std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant" && role != "tool" && role != "developer")
      throw ApiError(400, "unknown message role '" + role + "' (system, developer, user, assistant, tool)", "messages");
    std::string content;
    if (m.contains("content") && m["content"].is_string()) {
      content = m["content"];
    } else if (m.contains("content") && m["content"].is_array()) {  // [{type: "text", text}]
      for (const json& part : m["content"]) {
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") || !part["text"].is_string())
          throw ApiError(400, "message content parts must be {\"type\": \"text\", \"text\": ...}", "messages");
        content += part["text"].get<std::string>();
      }
    } else {
      throw ApiError(400, "each message needs 'content' (a string or text parts)", "messages");
    }
    plain.push_back({role == "developer" ? "system" : role, std::move(content)});
  }
  std::vector<int32_t> prompt;
  try {
    prompt = model.tokenize_chat(plain, /*add_generation_prompt=*/true);
  } catch (const Error& e) {  // the template's fault or its refusal of these messages
    throw ApiError(400, e.what(), "messages");
  }
  return parse_common(body, n_ctx, std::move(prompt));
}

std::vector<std::vector<int32_t>> parse_embedding_inputs(const json& body, const LoadedModel& model) {
  if (!body.contains("input")) throw ApiError(400, "'input' is required", "input");
  const json& in = body["input"];
  const char* shape = "'input' must be a string, an array of strings, an array of token ids or an array of such arrays";
  const int32_t n_vocab = model.summary().n_vocab;
  std::vector<std::vector<int32_t>> inputs;
  auto add = [&](const json& one) {
    if (one.is_string())
      inputs.push_back(model.tokenize(one.get<std::string>(), true, true));  // [CLS] text [SEP], as llama-server
    else if (one.is_array() && !one.empty())
      inputs.push_back(token_ids(one, n_vocab, "input"));
    else
      throw ApiError(400, shape, "input");
    if (inputs.back().empty()) throw ApiError(400, "an 'input' is empty", "input");
  };
  if (in.is_string() || (in.is_array() && !in.empty() && in[0].is_number_integer())) {
    add(in);
  } else if (in.is_array() && !in.empty()) {
    for (const json& one : in) add(one);
  } else {
    throw ApiError(400, shape, "input");
  }
  return inputs;
}

json embedding_json(const std::vector<float>& v, const json& body) {
  if (!body.contains("encoding_format") || body["encoding_format"].is_null() || body["encoding_format"] == "float")
    return v;
  if (body["encoding_format"] != "base64")
    throw ApiError(400, "'encoding_format' must be \"float\" or \"base64\"", "encoding_format");
  // base64 of the little-endian float32 bytes (OpenAI's format; x86-64 is little-endian).
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* bytes = reinterpret_cast<const unsigned char*>(v.data());
  const size_t n = v.size() * sizeof(float);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b = bytes[i] << 16 | (i + 1 < n ? bytes[i + 1] << 8 : 0) | (i + 2 < n ? bytes[i + 2] : 0);
    out += kDigits[b >> 18 & 63];
    out += kDigits[b >> 12 & 63];
    out += i + 1 < n ? kDigits[b >> 6 & 63] : '=';
    out += i + 2 < n ? kDigits[b & 63] : '=';
  }
  return out;
}

json usage_json(const GenerationUsage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

std::string to_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace tessera::cli
