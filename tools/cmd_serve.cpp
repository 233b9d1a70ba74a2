// tessera serve: an OpenAI-compatible HTTP server on the continuous-batching
// GenerationService (cpp-httplib for HTTP, nlohmann-json for JSON). Routes:
// /v1/chat/completions, /v1/completions (plain or streamed as server-sent
// events), /v1/models, /health (503 while the model loads), /metrics
// (Prometheus text), /tokenize, /detokenize, and /v1/embeddings for an
// embedding model (which has no generation service); GET / is the web chat page.
#include <fmt/format.h>
#include <httplib.h>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include "chat_page.h"
#include "commands.h"
#include "openai_api.h"
#include "tessera/error.h"
#include "tessera/service.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

using nlohmann::json;

struct ServeArgs {
  std::string model, host = "127.0.0.1", api_key, alias;
  std::string chat_template_file;  // replaces the model's chat template
  int port = 8080;
  int parallel = 4;        // -np: sequences in the batch at once
  int64_t ctx = 0;         // -c: KV pool in tokens (0: n_ctx x -np)
  int64_t ctx_seq = 0;     // per-sequence context (0: the model's, at most 4096)
  int64_t n_batch = 512;
  int threads = 0;
  int threads_http = 0;    // connections served at once (0: --parallel + 8)
  int64_t max_body = 8 << 20;
  int64_t max_queue = 256;
  std::string type_k = "f16", type_v = "f16";
};

// Everything the handlers share; the model and service appear once loaded.
struct Server {
  ServeArgs args;
  std::unique_ptr<LoadedModel> model;
  std::unique_ptr<GenerationService> service;  // none for an embedding model
  std::mutex embed_mutex;  // one embedding request at a time: each uses every thread
  std::atomic<bool> ready{false};
  std::string model_id;
  int64_t created = 0;
  std::atomic<int64_t> request_count{0}, responses_4xx{0}, responses_5xx{0};
};

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& type = "invalid_request_error",
                const std::string& param = {}) {
  res.status = status;
  res.set_content(to_text(error_body(message, type, param)), "application/json");
}

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{:x}{:06x}", prefix, static_cast<uint64_t>(std::time(nullptr)), ++counter);
}

// Ends a chunked response. cpp-httplib (Debian's shared library, built without
// ThreadSanitizer) writes the closing chunk from a function-local static that
// the first response to end initialises; later responses on other threads see
// it through the static's guard, an acquire load inside the library that
// ThreadSanitizer cannot see, so it would report their send() as a race with
// that first memcpy. Ending every chunked response between an acquire and a
// release of one address tells it what the guard already guarantees.
void end_chunked(httplib::DataSink& sink) {
#if defined(__SANITIZE_THREAD__)
  static char closing_chunk_sync;
  __tsan_acquire(&closing_chunk_sync);
  sink.done();
  __tsan_release(&closing_chunk_sync);
#else
  sink.done();
#endif
}

// Runs a generation request: a streamed response (server-sent events in
// OpenAI's chunk format, ending with data: [DONE]) or one JSON body.
void generate(Server& s, const ParsedRequest& p, bool chat, httplib::Response& res) {
  std::shared_ptr<GenerationStream> stream;
  try {
    stream = s.service->submit(p.generation);
  } catch (const UsageError& e) {
    throw ApiError(400, e.what());
  } catch (const Error& e) {
    throw ApiError(503, e.what(), {}, "server_error");
  }
  const std::string id = new_id(chat ? "chatcmpl" : "cmpl");
  const int n = p.generation.n;
  // Used after generate() returns (by the stream's content provider): owns its captures.
  auto chunk = [server = &s, id, chat](int index, const json& delta_or_text, const json& finish) {
    const Server& s = *server;
    json choice = {{"index", index}, {"finish_reason", finish}};
    if (chat) choice["delta"] = delta_or_text;
    else {
      choice["text"] = delta_or_text;
      choice["logprobs"] = nullptr;
    }
    return json{{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", s.created},
                {"model", s.model_id}, {"choices", json::array({choice})}};
  };
  res.set_header("X-Request-Id", id);
  if (p.stream) {
    res.set_chunked_content_provider("text/event-stream", [&s, stream, chunk, chat, n, include_usage = p.include_usage](
                                                              size_t, httplib::DataSink& sink) {
      auto send = [&](const json& j) {
        const std::string line = "data: " + to_text(j) + "\n\n";
        return sink.write(line.data(), line.size());
      };
      if (chat)
        for (int i = 0; i < n; ++i)
          if (!send(chunk(i, {{"role", "assistant"}, {"content", ""}}, nullptr))) return stream->cancel(), false;
      GenerationEvent e;
      bool timed_out = false;
      for (;;) {
        if (!stream->next(e, std::chrono::milliseconds(200), &timed_out)) {
          if (!timed_out) break;
          if (!sink.is_writable()) return stream->cancel(), false;  // the client left
          continue;
        }
        if (e.finish_reason == "error") {
          send(error_body(e.error, "server_error", {}));
          continue;
        }
        if (!e.text.empty() && !send(chunk(e.index, chat ? json{{"content", e.text}} : json(e.text), nullptr)))
          return stream->cancel(), false;
        if (e.finished && !send(chunk(e.index, chat ? json::object() : json(""), e.finish_reason)))
          return stream->cancel(), false;
      }
      if (include_usage)
        send({{"id", ""}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", s.created},
              {"model", s.model_id}, {"choices", json::array()}, {"usage", usage_json(stream->usage())}});
      const std::string done = "data: [DONE]\n\n";
      sink.write(done.data(), done.size());
      end_chunked(sink);
      return true;
    });
    return;
  }
  std::vector<std::string> text(static_cast<size_t>(n));
  std::vector<std::string> reason(static_cast<size_t>(n), "stop");
  GenerationEvent e;
  std::string error;
  while (stream->next(e, std::chrono::hours(24))) {
    text[static_cast<size_t>(e.index)] += e.text;
    if (e.finished) reason[static_cast<size_t>(e.index)] = e.finish_reason;
    if (e.finish_reason == "error") error = e.error;
  }
  if (!error.empty()) throw ApiError(503, error, {}, "server_error");
  json choices = json::array();
  for (int i = 0; i < n; ++i) {
    json c = {{"index", i}, {"finish_reason", reason[static_cast<size_t>(i)]}};
    if (chat) c["message"] = {{"role", "assistant"}, {"content", text[static_cast<size_t>(i)]}};
    else {
      c["text"] = text[static_cast<size_t>(i)];
      c["logprobs"] = nullptr;
    }
    choices.push_back(c);
  }
  const GenerationUsage u = stream->usage();
  res.set_header("X-Tokens", fmt::format("{}+{}", u.prompt_tokens, u.completion_tokens));
  res.set_content(json{{"id", id}, {"object", chat ? "chat.completion" : "text_completion"}, {"created", s.created},
                       {"model", s.model_id}, {"choices", choices}, {"usage", usage_json(u)}}
                      .dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

// The generation service; ApiError 400 for an embedding model, which has none.
GenerationService& generator(Server& s) {
  if (!s.service)
    throw ApiError(400, "the model (" + s.model->summary().architecture +
                            ") is an embedding model: it does not generate text; use /v1/embeddings");
  return *s.service;
}

// POST /v1/embeddings: one vector per input, in OpenAI's shape.
void embeddings(Server& s, const json& body, httplib::Response& res) {
  if (!s.model->is_embedding_model())
    throw ApiError(400, "the model (" + s.model->summary().architecture +
                            ") is a text generator, not an embedding model: /v1/embeddings needs one such as bert");
  const std::vector<std::vector<int32_t>> inputs = parse_embedding_inputs(body, *s.model);
  std::vector<std::vector<float>> vectors;
  try {
    EmbedOptions o;
    o.n_threads = s.args.threads;
    const std::lock_guard<std::mutex> lock(s.embed_mutex);
    vectors = s.model->embed(inputs, o);
  } catch (const Error& e) {  // the inputs' fault: too long for the model's positions
    throw ApiError(400, e.what(), "input");
  }
  json data = json::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < vectors.size(); ++i) {
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embedding_json(vectors[i], body)}});
    tokens += static_cast<int64_t>(inputs[i].size());
  }
  res.set_header("X-Tokens", fmt::format("{}+0", tokens));
  res.set_content(to_text(json{{"object", "list"},
                               {"data", data},
                               {"model", s.model_id},
                               {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}),
                  "application/json");
}

std::string metrics_text(const Server& s) {
  std::string out;
  auto add = [&](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP tessera_{} {}\n# TYPE tessera_{} {}\ntessera_{} {}\n", name, help, name, type, name, value);
  };
  add("http_requests_total", "counter", "HTTP requests served.", static_cast<double>(s.request_count.load()));
  add("http_responses_4xx_total", "counter", "HTTP responses with a 4xx status.", static_cast<double>(s.responses_4xx.load()));
  add("http_responses_5xx_total", "counter", "HTTP responses with a 5xx status.", static_cast<double>(s.responses_5xx.load()));
  if (!s.service) return out;  // an embedding model
  const ServiceStats st = s.service->stats();
  add("requests_total", "counter", "Generation requests received.", static_cast<double>(st.requests));
  add("prompt_tokens_total", "counter", "Prompt tokens evaluated.", static_cast<double>(st.prompt_tokens));
  add("tokens_predicted_total", "counter", "Tokens generated.", static_cast<double>(st.generated_tokens));
  add("prompt_seconds_total", "counter", "Seconds of steps that held prompt tokens.", st.prompt_seconds);
  add("tokens_predicted_seconds_total", "counter", "Seconds of decode-only steps.", st.generate_seconds);
  add("requests_processing", "gauge", "Requests in the running batch.", static_cast<double>(st.requests_active));
  add("requests_deferred", "gauge", "Requests waiting in the queue.", static_cast<double>(st.requests_queued));
  add("kv_blocks_total", "gauge", "KV pool blocks.", static_cast<double>(st.kv_pool.n_blocks));
  add("kv_blocks_used", "gauge", "KV pool blocks referenced by sequences.", static_cast<double>(st.kv_pool.used));
  add("kv_blocks_cached", "gauge", "KV pool blocks kept only for the prefix cache.", static_cast<double>(st.kv_pool.cached));
  add("prefix_cache_hit_tokens_total", "counter", "Prompt tokens reused from the prefix cache.",
      static_cast<double>(st.prefix_hit_tokens));
  return out;
}

int serve(ServeArgs& a) {
  if (a.port < 0 || a.port > 65535) throw UsageError("--port must be in 0..65535");
  if (a.parallel < 1) throw UsageError("-np/--parallel must be >= 1");
  if (a.threads < 0) throw UsageError("-t/--threads must be >= 1");
  if (a.threads_http < 0) throw UsageError("--threads-http must be >= 0");
  if (a.ctx < 0 || a.ctx_seq < 0) throw UsageError("-c/--ctx-size must be >= 0");
  if (a.max_body < 1024) throw UsageError("--max-body must be at least 1024 bytes");
  std::string chat_template;
  if (!a.chat_template_file.empty()) chat_template = read_text_file(a.chat_template_file, 1 << 20);
  auto s = std::make_shared<Server>();
  s->args = a;
  s->created = static_cast<int64_t>(std::time(nullptr));
  s->model_id = a.alias.empty() ? a.model : a.alias;

  httplib::Server http;
  // A connection holds a thread while its request waits or streams: enough for
  // every sequence, some queued requests and /health or /metrics beside them.
  const int threads_http = a.threads_http > 0 ? a.threads_http : a.parallel + 8;
  http.new_task_queue = [threads_http] { return new httplib::ThreadPool(static_cast<size_t>(threads_http)); };
  http.set_payload_max_length(static_cast<size_t>(a.max_body));  // larger bodies: 413
  http.set_read_timeout(30, 0);
  http.set_logger([s](const httplib::Request& req, const httplib::Response& res) {
    ++s->request_count;
    if (res.status >= 400 && res.status < 500) ++s->responses_4xx;
    if (res.status >= 500) ++s->responses_5xx;
    const std::string tokens = res.get_header_value("X-Tokens");
    std::fprintf(stderr, "%s %s %d%s%s\n", req.method.c_str(), req.path.c_str(), res.status,
                 tokens.empty() ? "" : " tokens ", tokens.c_str());
  });
  // Bodies cpp-httplib would not hold to --max-body are refused from the headers.
  http.set_pre_routing_handler([s](const httplib::Request& req, httplib::Response& res) {
    // cpp-httplib (0.11) holds a chunked body to --max-body only through
    // Content-Length, so it would read one of any size: none is accepted
    // (this runs before the body is read).
    if (req.has_header("Transfer-Encoding")) {
      res.set_header("Connection", "close");
      send_error(res, 411, "send the request body with a Content-Length (Transfer-Encoding is not accepted)");
      return httplib::Server::HandlerResponse::Handled;
    }
    // Left to cpp-httplib, a body over --max-body is read and dropped (until the
    // read timeout) before the 413: answered from the header instead.
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty() && (length.size() > 18 || length.find_first_not_of("0123456789") != std::string::npos ||
                            std::stoll(length) > s->args.max_body)) {
      res.set_header("Connection", "close");
      send_error(res, 413, "the request body is too large (--max-body " + std::to_string(s->args.max_body) + " bytes)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Every route but /health and the page (which asks the user for the key) needs
  // the key and a loaded model. Checked once the body is read: a request refused
  // before (in the pre-routing handler) would leave its body in the connection, to
  // be parsed as the next request on it.
  auto guarded = [s](auto&& handler) {
    return [s, handler](const httplib::Request& req, httplib::Response& res) {
      if (!s->args.api_key.empty() && req.get_header_value("Authorization") != "Bearer " + s->args.api_key)
        return send_error(res, 401, "invalid API key: send 'Authorization: Bearer <key>'", "authentication_error");
      if (!s->ready) return send_error(res, 503, "the model is loading", "server_error");
      try {
        handler(req, res);
      } catch (const ApiError& e) {
        send_error(res, e.status, e.what(), e.type, e.param);
      } catch (const std::exception& e) {
        send_error(res, 500, e.what(), "server_error");
      }
    };
  };
  http.Get("/health", [s](const httplib::Request&, httplib::Response& res) {
    if (!s->ready) {
      res.status = 503;
      res.set_content(R"({"status":"loading model"})", "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy", kChatPageCsp);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(chat_page_html()), "text/html; charset=utf-8");
  });
  http.Get("/v1/models", guarded([s](const httplib::Request&, httplib::Response& res) {
             const json m = {{"id", s->model_id}, {"object", "model"}, {"created", s->created}, {"owned_by", "tessera"}};
             res.set_content(json{{"object", "list"}, {"data", json::array({m})}}.dump(), "application/json");
           }));
  http.Post("/v1/completions", guarded([s](const httplib::Request& req, httplib::Response& res) {
              generate(*s, parse_completion(parse_body(req.body), *s->model, generator(*s).n_ctx()), false, res);
            }));
  http.Post("/v1/chat/completions", guarded([s](const httplib::Request& req, httplib::Response& res) {
              generate(*s, parse_chat(parse_body(req.body), *s->model, generator(*s).n_ctx()), true, res);
            }));
  http.Post("/v1/embeddings", guarded([s](const httplib::Request& req, httplib::Response& res) {
              embeddings(*s, parse_body(req.body), res);
            }));
  http.Post("/tokenize", guarded([s](const httplib::Request& req, httplib::Response& res) {
              const json body = parse_body(req.body);
              if (!body.contains("content") || !body["content"].is_string())
                throw ApiError(400, "'content' must be a string", "content");
              const bool special = body.value("add_special", false);
              res.set_content(json{{"tokens", s->model->tokenize(body["content"].get<std::string>(), special, true)}}.dump(),
                              "application/json");
            }));
  http.Post("/detokenize", guarded([s](const httplib::Request& req, httplib::Response& res) {
              const json body = parse_body(req.body);
              if (!body.contains("tokens") || !body["tokens"].is_array())
                throw ApiError(400, "'tokens' must be an array of token ids", "tokens");
              std::vector<int32_t> ids;
              const int32_t n_vocab = s->model->summary().n_vocab;
              for (const json& t : body["tokens"]) {
                if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= n_vocab)
                  throw ApiError(400, "'tokens' holds something that is not a token id of this model", "tokens");
                ids.push_back(t.get<int32_t>());
              }
              res.set_content(to_text(json{{"content", s->model->detokenize(ids)}}), "application/json");
            }));
  http.Get("/metrics", guarded([s](const httplib::Request&, httplib::Response& res) {
             res.set_content(metrics_text(*s), "text/plain; version=0.0.4");
           }));
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    // The body of a 413 was never read: the connection cannot carry another request.
    if (res.status == 413) res.set_header("Connection", "close");
    if (res.body.empty()) {
      const std::string what = res.status == 404   ? "no such route"
                               : res.status == 413 ? "the request body is too large"
                                                   : "bad request";
      res.set_content(to_text(error_body(what, "invalid_request_error", {})), "application/json");
    }
  });

  // SIGINT / SIGTERM stop the server: blocked in every thread (all start below
  // and inherit the mask) and taken by one that ends the requests in flight as
  // cancelled and stops the listener, so serve() returns and tears down in order.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::atomic<bool> finished{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (finished) return;  // woken by serve() itself
    std::fprintf(stderr, "tessera serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    if (s->ready && s->service) s->service->shutdown();
    while (!http.is_running() && !finished) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    http.stop();
  });
  struct JoinStopper {  // on every way out of serve()
    std::atomic<bool>& finished;
    std::thread& stopper;
    ~JoinStopper() {
      finished = true;
      pthread_kill(stopper.native_handle(), SIGTERM);
      stopper.join();
    }
  } join_stopper{finished, stopper};

  const int port = a.port == 0 ? http.bind_to_any_port(a.host) : (http.bind_to_port(a.host, a.port) ? a.port : -1);
  if (port < 0) throw Error(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", a.host, a.port));
  std::fprintf(stderr, "tessera serve: listening on http://%s:%d (loading %s)\n", a.host.c_str(), port, a.model.c_str());
  std::fflush(stderr);

  // Load while /health answers 503; a load error ends the server.
  std::string load_error;
  std::thread loader([&] {
    try {
      s->model = LoadedModel::open(a.model);
      if (!a.chat_template_file.empty()) {
        try {
          s->model->set_chat_template(chat_template);
        } catch (const Error& e) {
          throw Error(a.chat_template_file + ": " + e.what());
        }
      }
      if (s->model->is_embedding_model()) {  // no generation: /v1/embeddings runs on the HTTP threads
        s->ready = true;
        std::fprintf(stderr, "tessera serve: ready: an embedding model (POST /v1/embeddings)\n");
        return;
      }
      ServiceOptions so;
      so.engine.n_ctx = a.ctx_seq;
      so.engine.n_batch = a.n_batch;
      so.engine.n_threads = a.threads;
      so.engine.cache_type_k = a.type_k;
      so.engine.cache_type_v = a.type_v;
      so.max_sequences = a.parallel;
      so.max_queue = a.max_queue;
      auto probe = s->model->new_engine(so.engine);  // the per-sequence n_ctx the options give
      so.engine.kv_tokens = a.ctx > 0 ? a.ctx : probe->n_ctx() * a.parallel;
      probe.reset();
      s->service = std::make_unique<GenerationService>(*s->model, so);
      s->ready = true;
      std::fprintf(stderr, "tessera serve: ready: %d parallel sequences, n_ctx %lld each, KV pool %lld tokens\n",
                   a.parallel, static_cast<long long>(s->service->n_ctx()), static_cast<long long>(so.engine.kv_tokens));
    } catch (const std::exception& e) {
      load_error = e.what();
      while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // stop() needs a listener
      http.stop();
    }
  });
  http.listen_after_bind();
  loader.join();
  if (!load_error.empty()) throw Error(load_error);
  return 0;
}

}  // namespace

Runner add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API");
  cmd->add_option("-m,--model", a->model, "Model file")->required();
  cmd->add_option("--host", a->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", a->port, "Port (0: any free one, printed at start)")->capture_default_str();
  cmd->add_option("--parallel", a->parallel, "Sequences decoded together at most (-np); more requests queue")
      ->capture_default_str();
  cmd->add_option("-c,--ctx-size", a->ctx, "KV pool shared by all sequences, in tokens (0: n_ctx x --parallel)")
      ->capture_default_str();
  cmd->add_option("--ctx-size-seq", a->ctx_seq, "Context of one sequence (0: the model's, at most 4096)")
      ->capture_default_str();
  cmd->add_option("-b,--batch-size", a->n_batch, "Tokens per forward pass (long prompts go in chunks)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Threads (0: all hardware threads)")->capture_default_str();
  cmd->add_option("--threads-http", a->threads_http, "Connections served at once (0: --parallel + 8)")
      ->capture_default_str();
  cmd->add_option("--api-key", a->api_key, "Require 'Authorization: Bearer KEY' (all routes but /health)");
  cmd->add_option("--alias", a->alias, "Model name reported by /v1/models and in responses");
  cmd->add_option("--chat-template-file", a->chat_template_file,
                  "Jinja chat template to render chats with, instead of the model's (tokenizer.chat_template)");
  cmd->add_option("--max-body", a->max_body, "Largest request body in bytes (larger: 413)")->capture_default_str();
  cmd->add_option("--max-queue", a->max_queue, "Requests waiting at most (more: 503)")->capture_default_str();
  add_cache_type_options(cmd, a->type_k, a->type_v);
  return [a] { return serve(*a); };
}

}  // namespace tessera::cli
