// tessera serve end to end: the binary on a free port, spoken to over HTTP
// with cpp-httplib's client. Greedy completions equal `tessera run --temp 0`;
// a streamed reply is the plain reply in pieces, closed by [DONE]; bad
// requests get 4xx with OpenAI error objects; a client that leaves mid-stream
// frees its sequence; concurrent greedy requests give the same text as alone.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "server_process.h"
#include "test_util.h"

namespace tessera {
namespace {

using nlohmann::json;
using test::run_tessera;

using test::ServerProcess;
const std::string& kModel = test::kDemoModel;

json post(const ServerProcess& s, const std::string& path, const json& body, int* status = nullptr) {
  auto r = s.client().Post(path, body.dump(), "application/json");
  if (!r) return json();
  if (status) *status = r->status;
  return json::parse(r->body);
}

// The continuation `tessera run` prints after the prompt, greedy.
std::string run_greedy(const std::string& prompt, int n) {
  const auto r = run_tessera("run -m '" + kModel + "' -p '" + prompt + "' -n " + std::to_string(n) + " --temp 0 -t 1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // stdout is the prompt, the continuation and a newline.
  return r.out.substr(prompt.size(), r.out.size() - prompt.size() - 1);
}

TEST(Serve, CompletionsMatchRunAndStreamsMatchPlainReplies) {
  ServerProcess server("-np 4");
  int status = 0;
  const json c = post(server, "/v1/completions", {{"prompt", "The history of"}, {"max_tokens", 24}, {"temperature", 0}}, &status);
  ASSERT_EQ(status, 200) << c.dump();
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"][0]["text"].get<std::string>(), run_greedy("The history of", 24));
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["usage"]["completion_tokens"], 24);
  EXPECT_EQ(c["usage"]["total_tokens"], c["usage"]["prompt_tokens"].get<int>() + 24);

  const json chat_body = {{"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Tell me about rivers."}}}},
                          {"max_tokens", 20}, {"temperature", 0}};
  const json plain = post(server, "/v1/chat/completions", chat_body, &status);
  ASSERT_EQ(status, 200) << plain.dump();
  EXPECT_EQ(plain["choices"][0]["message"]["role"], "assistant");
  json streamed_body = chat_body;
  streamed_body["stream"] = true;
  auto r = server.client().Post("/v1/chat/completions", streamed_body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  std::string content, finish;
  std::istringstream lines(r->body);
  std::string line, last_data;
  while (std::getline(lines, line)) {
    if (line.rfind("data: ", 0) != 0) continue;
    last_data = line.substr(6);
    if (last_data == "[DONE]") break;
    const json chunk = json::parse(last_data);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    const json& choice = chunk["choices"][0];
    if (choice["delta"].contains("content")) content += choice["delta"]["content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(last_data, "[DONE]");
  EXPECT_EQ(content, plain["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(finish, plain["choices"][0]["finish_reason"].get<std::string>());

  // The same chat again: its earlier prompt comes from the prefix cache.
  const json again = post(server, "/v1/chat/completions", chat_body, &status);
  EXPECT_GT(again["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 0) << again.dump();
  EXPECT_EQ(again["choices"][0]["message"]["content"], plain["choices"][0]["message"]["content"]);

  const json models = json::parse(server.client().Get("/v1/models")->body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["object"], "model");
  const std::string metrics = server.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("tessera_prefix_cache_hit_tokens_total"), std::string::npos);
  EXPECT_NE(metrics.find("tessera_tokens_predicted_total"), std::string::npos);
  const json toks = post(server, "/tokenize", {{"content", "Hello world"}}, &status);
  const json back = post(server, "/detokenize", {{"tokens", toks["tokens"]}}, &status);
  EXPECT_EQ(back["content"], "Hello world");
}

TEST(Serve, BadRequestsGetOpenAiErrors) {
  ServerProcess server("-np 2 --max-body 4096 --ctx-size-seq 64");
  auto expect_error = [&](const std::string& path, const std::string& body, int want, const std::string& needle) {
    auto r = server.client().Post(path, body, "application/json");
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->status, want) << body << " -> " << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << r->body;
    EXPECT_TRUE(j["error"].contains("type"));
  };
  expect_error("/v1/chat/completions", "{not json", 400, "not valid JSON");
  expect_error("/v1/chat/completions", "[1, 2]", 400, "JSON object");
  expect_error("/v1/completions", R"({"prompt": "x", "temperature": 1e999})", 400, "not valid JSON");  // was a 500
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": [{"type": true, "text": "x"}]}]})", 400,
               "content parts");  // was a 500
  // A parser message quoting half of a UTF-8 character: sent with U+FFFD (was a 500).
  expect_error("/v1/chat/completions", "{\"messag\"\xC3\xA9\"es\": [1]}", 400, "not valid JSON");
  expect_error("/v1/chat/completions", R"({"messages": []})", 400, "empty");
  expect_error("/v1/chat/completions", R"({"messages": "hi"})", 400, "messages");
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "king", "content": "x"}]})", 400, "role 'king'");
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400,
               "'temperature' must be a number");
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "n": 0})", 400, "'n'");
  expect_error("/v1/completions", "{\"prompt\": \"\xff\xfe\"}", 400, "UTF-8");
  expect_error("/v1/completions", R"({"prompt": [1, 99999999]})", 400, "outside the vocabulary");
  std::string long_prompt;
  for (int i = 0; i < 100; ++i) long_prompt += "the river ";
  expect_error("/v1/completions", json{{"prompt", long_prompt}}.dump(), 400, "the context holds 64");
  expect_error("/v1/completions", json{{"prompt", std::string(5000, 'a')}}.dump(), 413, "too large");
  expect_error("/v1/embeddings", R"({"input": "x"})", 400, "not an embedding model");
  auto r = server.client().Get("/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

// Sends raw bytes to the server and returns its first response (headers and
// a Content-Length body): for requests cpp-httplib's client will not send.
std::string raw_http(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "connect failed";
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
    reply.append(buf, static_cast<size_t>(n));
    const size_t head = reply.find("\r\n\r\n"), length = reply.find("Content-Length: ");
    if (head != std::string::npos && length != std::string::npos && length < head &&
        reply.size() >= head + 4 + std::stoul(reply.substr(length + 16)))
      break;
  }
  close(fd);
  return reply;
}

// Bodies within --max-body that would cost far more than their size as a JSON
// document, or nest deeper than any walk of it should recurse, are refused
// while they are parsed; bodies over --max-body are refused before they are read.
TEST(Serve, HostileBodiesAreRefused) {
  ServerProcess server("-np 1 --ctx-size-seq 64");
  auto expect_400 = [&](const std::string& body, const std::string& needle) {
    auto r = server.client().Post("/v1/completions", body, "application/json");
    ASSERT_TRUE(r) << body.substr(0, 100);
    EXPECT_EQ(r->status, 400) << body.substr(0, 100) << " -> " << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << r->body;
  };
  expect_400(std::string(10000, '[') + std::string(10000, ']'), "nests");
  expect_400(std::string(1000000, '['), "nests");  // unbalanced too
  // 64 levels are fine (the object and 63 arrays); 65 are not.
  const std::string ok = R"({"prompt": "Rivers", "max_tokens": 1, "x": )" + std::string(63, '[') + std::string(63, ']') + "}";
  auto r = server.client().Post("/v1/completions", ok, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  expect_400(R"({"prompt": "Rivers", "x": )" + std::string(64, '[') + std::string(64, ']') + "}", "nests");
  // 300,000 values in 1.2 MB: each {} would be a map of its own.
  std::string many = "{\"prompt\": \"Rivers\", \"x\": [{}";
  for (int i = 1; i < 300000; ++i) many += ",{}";
  expect_400(many + "]}", "more than 262144 JSON values");
  std::string ids = "{\"prompt\": [1";
  for (int i = 1; i < 300000; ++i) ids += ",1";
  expect_400(ids + "]}", "more than 262144 JSON values");
  expect_400(json{{"prompt", "Rivers"}, {"stop", {"a", std::string(1025, 'b')}}}.dump(), "at most 1024 bytes");
  // A 4 MB prompt string: read, tokenized, and refused as longer than the context.
  expect_400(json{{"prompt", std::string(4 << 20, 'a')}}.dump(), "the context holds 64");
  // Over --max-body (8 MiB by default): refused from the Content-Length alone.
  const std::string huge = raw_http(server.port(),
                                    "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    "Content-Length: 100000000000\r\n\r\n{}");
  EXPECT_EQ(huge.rfind("HTTP/1.1 413", 0), 0u) << huge;
  // A chunked body could be of any size: refused before it is read.
  std::string chunked = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(1 << 20, ' ');
  for (int i = 0; i < 9; ++i) chunked += "100000\r\n" + chunk + "\r\n";
  const std::string too_long = raw_http(server.port(), chunked + "0\r\n\r\n");
  EXPECT_EQ(too_long.rfind("HTTP/1.1 411", 0), 0u) << too_long.substr(0, 200);
  EXPECT_NE(too_long.find("Content-Length (Transfer-Encoding is not accepted)"), std::string::npos) << too_long.substr(0, 400);
  EXPECT_EQ(server.client().Get("/health")->status, 200);
}

TEST(Serve, ApiKeyGuardsEverythingButHealth) {
  ServerProcess server("--api-key s3cret");
  EXPECT_EQ(server.client().Get("/health")->status, 200);
  EXPECT_EQ(server.client().Get("/v1/models")->status, 401);
  httplib::Headers auth = {{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(server.client().Get("/v1/models", auth)->status, 200);
  EXPECT_EQ(server.client().Get("/v1/models", httplib::Headers{{"Authorization", "Bearer nope"}})->status, 401);
}

// A client that leaves mid-stream cancels its request: its blocks go back.
TEST(Serve, ClientLeavingMidStreamFreesItsSequence) {
  ServerProcess server("-np 2");
  {
    httplib::Client c = server.client();
    int chunks = 0;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = json{{"prompt", "Once upon a time"}, {"max_tokens", 200}, {"stream", true}}.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };  // then hang up
    httplib::Response res;
    httplib::Error error;
    c.send(req, res, error);
    EXPECT_GE(chunks, 1);
  }
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = server.client().Get("/metrics")->body;
    if (metrics.find("tessera_kv_blocks_used 0\n") != std::string::npos &&
        metrics.find("tessera_requests_processing 0\n") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(metrics.find("tessera_kv_blocks_used 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tessera_requests_processing 0\n"), std::string::npos) << metrics;
}

// Eight clients at once over four parallel sequences: every greedy reply is
// the one the request gets alone.
TEST(Serve, ConcurrentGreedyRequestsMatchSequentialOnes) {
  ServerProcess server("-np 4");
  const std::vector<std::string> prompts = {"The climate of", "In the year", "Rivers", "The economy of",
                                            "A small town", "The king", "History", "Mountains are"};
  std::vector<std::string> alone;
  for (const auto& p : prompts)
    alone.push_back(post(server, "/v1/completions", {{"prompt", p}, {"max_tokens", 16}, {"temperature", 0}})["choices"][0]["text"]);
  std::vector<std::string> together(prompts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < prompts.size(); ++i)
    clients.emplace_back([&, i] {
      together[i] = post(server, "/v1/completions", {{"prompt", prompts[i]}, {"max_tokens", 16}, {"temperature", 0}})["choices"][0]["text"];
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(together, alone);
}

// SIGTERM ends the requests in flight as cancelled (their streams still close
// with [DONE]) and the server exits with status 0, tearing everything down
// (so a sanitizer build checks the shutdown too).
TEST(Serve, SigtermStopsCleanly) {
  ServerProcess server("-np 2 --ctx-size-seq 2048");
  std::string body;
  std::atomic<bool> streaming{false};
  std::thread client([&] {
    httplib::Client c = server.client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = json{{"prompt", "Once upon a time"}, {"max_tokens", 2000}, {"ignore_eos", true}, {"stream", true}}.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      body.append(data, n);
      streaming = true;
      return true;
    };
    httplib::Response res;
    httplib::Error error;
    c.send(req, res, error);
  });
  for (int i = 0; i < 12000 && !streaming; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(streaming) << "no stream began";
  const int status = server.stop();
  client.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << ": " << server.read_log();
  EXPECT_NE(body.find("\"finish_reason\":\"cancelled\""), std::string::npos) << body.substr(body.size() > 500 ? body.size() - 500 : 0);
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  EXPECT_NE(server.read_log().find("SIGTERM: stopping"), std::string::npos) << server.read_log();
}

// A model whose GGUF carries a chat template: chats are rendered with it (one
// BOS, from the template's bos_token), a refusal by raise_exception is a 400
// naming it, and --chat-template-file replaces the template.
TEST(Serve, ChatsUseTheModelsTemplate) {
  test::TempDir dir;
  const std::string tmpl = dir.file("template.jinja"), model = dir.file("templated.gguf");
  test::write_file(tmpl,
                   "{{ bos_token }}{% for m in messages %}{% if m.content == 'forbidden' %}"
                   "{{ raise_exception('the word is forbidden') }}{% endif %}"
                   "[{{ m.role | upper }}]{{ m.content | trim }}\n{% endfor %}"
                   "{% if add_generation_prompt %}[ASSISTANT]{% endif %}\n");
  auto r = run_tessera("mkmodel --preset tiny --chat-template-file '" + tmpl + "' '" + model + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_tessera("info -m '" + model + "'");
  EXPECT_NE(r.out.find("tokenizer.chat_template"), std::string::npos) << r.out;

  ServerProcess server("-np 2", model);
  int status = 0;
  const json body = {{"messages",
                      {{{"role", "system"}, {"content", " Be brief. "}},
                       {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Hi "}}, {{"type", "text"}, {"text", "there"}}}}}}},
                     {"max_tokens", 1},
                     {"temperature", 0}};
  const json reply = post(server, "/v1/chat/completions", body, &status);
  ASSERT_EQ(status, 200) << reply.dump();
  // The prompt is the template's text, "<s>" parsed as the one BOS token.
  const json expected = post(server, "/tokenize", {{"content", "<s>[SYSTEM]Be brief.\n[USER]Hi there\n[ASSISTANT]"}}, &status);
  const json plain = post(server, "/tokenize", {{"content", "[SYSTEM]Be brief.\n[USER]Hi there\n[ASSISTANT]"}}, &status);
  ASSERT_EQ(expected["tokens"][0], 1);
  ASSERT_EQ(expected["tokens"].size(), plain["tokens"].size() + 1);
  EXPECT_EQ(reply["usage"]["prompt_tokens"], expected["tokens"].size());

  const json refused = post(server, "/v1/chat/completions",
                            {{"messages", {{{"role", "user"}, {"content", "forbidden"}}}}, {"max_tokens", 1}}, &status);
  EXPECT_EQ(status, 400) << refused.dump();
  const std::string message = refused["error"]["message"];
  EXPECT_NE(message.find("the template raised an error: the word is forbidden"), std::string::npos) << message;
  EXPECT_NE(message.find("line 1, column"), std::string::npos) << message;
  EXPECT_EQ(refused["error"]["type"], "invalid_request_error");
  EXPECT_EQ(refused["error"]["param"], "messages");

  // --chat-template-file: the same model with another template.
  const std::string other = dir.file("other.jinja");
  test::write_file(other, "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>");
  ServerProcess overridden("-np 1 --chat-template-file '" + other + "'", model);
  const json reply2 = post(overridden, "/v1/chat/completions",
                           {{"messages", {{{"role", "user"}, {"content", "forbidden"}}}}, {"max_tokens", 1}}, &status);
  ASSERT_EQ(status, 200) << reply2.dump();
  const json expected2 = post(overridden, "/tokenize", {{"content", "<user>forbidden<assistant>"}, {"add_special", true}}, &status);
  EXPECT_EQ(reply2["usage"]["prompt_tokens"], expected2["tokens"].size());
}

// An embedding model (the committed tiny BERT): /v1/embeddings in OpenAI's
// shape, the vectors `tessera embed` prints, for texts, token ids and lists of
// either (each input's vector the same whatever shares its request), base64 as
// the openai clients ask by default; no generation; bad inputs get 400s.
TEST(Serve, EmbeddingsOfAnEmbeddingModel) {
  const std::string bert = std::string(TESSERA_SOURCE_DIR) + "/tests/data/families/bert-tiny.gguf";
  const auto cli = run_tessera("embed -m '" + bert + "' -p 'hello world'");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto want = json::parse(cli.out)["data"][0]["embedding"].get<std::vector<float>>();

  ServerProcess server("", bert);
  int status = 0;
  const json one = post(server, "/v1/embeddings", {{"input", "hello world"}, {"model", "x"}}, &status);
  ASSERT_EQ(status, 200) << one.dump();
  EXPECT_EQ(one["object"], "list");
  ASSERT_EQ(one["data"].size(), 1u);
  EXPECT_EQ(one["data"][0]["object"], "embedding");
  EXPECT_EQ(one["data"][0]["index"], 0);
  EXPECT_EQ(one["data"][0]["embedding"].get<std::vector<float>>(), want);
  const json ids = post(server, "/tokenize", {{"content", "hello world"}, {"add_special", true}}, &status);
  EXPECT_EQ(one["usage"]["prompt_tokens"], ids["tokens"].size());
  EXPECT_EQ(one["usage"]["total_tokens"], ids["tokens"].size());

  const json many = post(server, "/v1/embeddings", {{"input", {"the cat", "hello world"}}}, &status);
  ASSERT_EQ(status, 200) << many.dump();
  ASSERT_EQ(many["data"].size(), 2u);
  EXPECT_EQ(many["data"][1]["index"], 1);
  EXPECT_EQ(many["data"][1]["embedding"].get<std::vector<float>>(), want);
  EXPECT_EQ(post(server, "/v1/embeddings", {{"input", ids["tokens"]}}, &status)["data"][0]["embedding"], one["data"][0]["embedding"]);
  EXPECT_EQ(post(server, "/v1/embeddings", {{"input", {ids["tokens"], ids["tokens"]}}}, &status)["data"][1]["embedding"],
            one["data"][0]["embedding"]);

  // base64: the little-endian float32 bytes.
  const json b64 = post(server, "/v1/embeddings", {{"input", "hello world"}, {"encoding_format", "base64"}}, &status);
  ASSERT_EQ(status, 200) << b64.dump();
  const std::string text = b64["data"][0]["embedding"];
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    acc = acc << 6 | static_cast<uint32_t>(digits.find(c));
    if ((bits += 6) >= 8) bytes += static_cast<char>(acc >> (bits -= 8) & 0xFF);
  }
  ASSERT_EQ(bytes.size(), want.size() * sizeof(float));
  std::vector<float> decoded(want.size());
  std::memcpy(decoded.data(), bytes.data(), bytes.size());
  EXPECT_EQ(decoded, want);

  auto expect_400 = [&](const std::string& path, const std::string& body, const std::string& needle) {
    auto r = server.client().Post(path, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body << " -> " << r->body;
    EXPECT_NE(r->body.find(needle), std::string::npos) << r->body;
  };
  expect_400("/v1/embeddings", R"({})", "'input' is required");
  expect_400("/v1/embeddings", R"({"input": []})", "'input' must be");
  expect_400("/v1/embeddings", R"({"input": 7})", "'input' must be");
  expect_400("/v1/embeddings", R"({"input": [[2, 99999]]})", "outside the vocabulary");
  expect_400("/v1/embeddings", R"({"input": ["a", 3]})", "'input' must be");
  expect_400("/v1/embeddings", R"({"input": "a", "encoding_format": "hex"})", "encoding_format");
  std::string words;
  for (int i = 0; i < 300; ++i) words += "ab ";
  expect_400("/v1/embeddings", json{{"input", words}}.dump(), "more than the model's 256 positions");
  expect_400("/v1/completions", R"({"prompt": "x"})", "embedding model");
  expect_400("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}]})", "embedding model");
  auto metrics = server.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("tessera_http_requests_total"), std::string::npos);
}

TEST(Serve, BadChatTemplateFiles) {
  test::TempDir dir;
  const std::string bad = dir.file("bad.jinja");
  test::write_file(bad, "{% for m in messages %}\n{{ m.content | frobnicate }}{% endfor %\n");
  auto r = run_tessera("serve -m '" + kModel + "' --port 0 --chat-template-file '" + bad + "'");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chat template: line 2"), std::string::npos) << r.err;
  r = run_tessera("serve -m '" + kModel + "' --port 0 --chat-template-file '" + dir.file("missing.jinja") + "'");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing.jinja"), std::string::npos) << r.err;
}

TEST(Serve, BadCommandLines) {
  auto r = run_tessera("serve -m " + kModel + " -np 0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_tessera("serve -m /nonexistent.gguf --port 0");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("/nonexistent.gguf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tessera
