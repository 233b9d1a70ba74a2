// tessera serve under load: many requests (TESSERA_LOAD_REQUESTS, default 2000)
// over 16 connections at once on the demo model, mixing /v1/completions and
// /v1/chat/completions, plain and streamed, clients that hang up mid-stream and
// bad requests. Checks: no 5xx; every reply that was not cut off is well formed,
// with usage that adds up and greedy text equal to the same request's in the
// warm-up run; the server is alive afterwards; /metrics agrees with what was
// sent; no sequence is left in the KV pool; resident memory after the run is
// within a few percent of after the warm-up run (no leak per request).
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "server_process.h"
#include "tessera/tessera.h"

namespace tessera {
namespace {

using nlohmann::json;
using test::ServerProcess;

constexpr int kConnections = 16;
constexpr int kCancelledMaxTokens = 64;  // long enough to be running when the client hangs up

int requests_from_env() {
  const char* v = std::getenv("TESSERA_LOAD_REQUESTS");
  return v && std::atoi(v) > 0 ? std::atoi(v) : 2000;
}

bool built_with_sanitizers() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

const std::vector<std::string> kPrompts = {"The history of", "Once upon a time", "The climate of", "Rivers are",
                                           "In the year", "A small town", "The economy of", "Mountains"};

enum class Kind { Completion, Chat, StreamCompletion, StreamChat, Cancelled, Bad };

// Request i of a run: the same i gives the same request in every run.
struct Planned {
  Kind kind;
  int prompt;
  int max_tokens;
  int n = 1;
  bool greedy;
  json body;
  std::string raw;  // the body as sent (Bad: not always JSON)
  std::string path() const {
    return kind == Kind::Chat || kind == Kind::StreamChat ? "/v1/chat/completions" : "/v1/completions";
  }
  bool chat() const { return kind == Kind::Chat || kind == Kind::StreamChat; }
  bool streamed() const { return kind == Kind::StreamCompletion || kind == Kind::StreamChat || kind == Kind::Cancelled; }
  // Greedy replies of the same key must be the same text.
  std::string key() const { return std::to_string(chat()) + "/" + std::to_string(prompt) + "/" + std::to_string(max_tokens); }
};

Planned plan(int i) {
  std::mt19937 rng(static_cast<uint32_t>(i) * 2654435761u + 17);
  Planned p;
  const int slot = i % 20;
  p.kind = slot < 6 ? Kind::Completion : slot < 10 ? Kind::Chat : slot < 14 ? Kind::StreamCompletion
         : slot < 17 ? Kind::StreamChat : slot < 19 ? Kind::Cancelled : Kind::Bad;
  p.prompt = static_cast<int>(rng() % kPrompts.size());
  p.max_tokens = p.kind == Kind::Cancelled ? kCancelledMaxTokens : 1 + static_cast<int>(rng() % 8);
  p.greedy = p.kind == Kind::Cancelled || rng() % 2 == 0;
  if (p.kind == Kind::Completion && rng() % 8 == 0) p.n = 2;
  json& b = p.body;
  if (p.chat()) b["messages"] = {{{"role", "user"}, {"content", kPrompts[static_cast<size_t>(p.prompt)]}}};
  else b["prompt"] = kPrompts[static_cast<size_t>(p.prompt)];
  b["max_tokens"] = p.max_tokens;
  b["temperature"] = p.greedy ? 0.0 : 0.8;
  b["seed"] = i;
  if (p.n > 1) b["n"] = p.n;
  if (p.streamed()) {
    b["stream"] = true;
    b["stream_options"] = {{"include_usage", true}};
  }
  p.raw = b.dump();
  if (p.kind == Kind::Bad) {
    const std::string bad[] = {"{\"prompt\": \"x\", ", R"({"prompt": "x", "temperature": "hot"})",
                               R"({"messages": [{"role": "king", "content": "x"}]})", R"({"prompt": "x", "n": 0})",
                               "{\"prompt\": " + std::string(100, '[') + std::string(100, ']') + "}"};
    p.raw = bad[rng() % std::size(bad)];
  }
  return p;
}

// What the run saw, for the checks after it.
struct Tally {
  std::mutex mutex;
  std::map<std::string, std::string> greedy_text;  // key -> text
  std::map<std::string, int64_t> chat_prompt_tokens;  // key -> usage.prompt_tokens
  int64_t http_requests = 0, submitted = 0, bad = 0, cancelled = 0, completed = 0;
  int64_t completion_tokens = 0, prompt_tokens = 0;    // of the completed requests
  int64_t cancelled_max_tokens = 0, cancelled_prompt_tokens = 0;
  std::vector<std::string> failures;

  void fail(const Planned& p, const std::string& what) {
    std::lock_guard lock(mutex);
    if (failures.size() < 20) failures.push_back(p.path() + " " + p.raw.substr(0, 200) + ": " + what);
  }
};

// Every choice's text and finish reason, and the usage, from a plain or a streamed reply.
struct Reply {
  std::vector<std::string> text;
  std::vector<std::string> finish;
  json usage;
};

bool parse_plain(const Planned& p, const std::string& body, Reply& r, std::string& why) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || !j.contains("usage")) {
    why = "not a completion object: " + body.substr(0, 300);
    return false;
  }
  if (j["object"] != (p.chat() ? "chat.completion" : "text_completion")) return why = "wrong object", false;
  r.text.assign(static_cast<size_t>(p.n), {});
  r.finish.assign(static_cast<size_t>(p.n), {});
  if (j["choices"].size() != static_cast<size_t>(p.n)) return why = "wrong number of choices", false;
  for (const json& c : j["choices"]) {
    const int idx = c.value("index", -1);
    if (idx < 0 || idx >= p.n) return why = "bad choice index", false;
    r.text[static_cast<size_t>(idx)] = p.chat() ? c["message"]["content"].get<std::string>() : c["text"].get<std::string>();
    r.finish[static_cast<size_t>(idx)] = c["finish_reason"].get<std::string>();
  }
  r.usage = j["usage"];
  return true;
}

bool parse_stream(const Planned& p, const std::string& body, Reply& r, std::string& why) {
  r.text.assign(static_cast<size_t>(p.n), {});
  r.finish.assign(static_cast<size_t>(p.n), {});
  std::istringstream lines(body);
  std::string line;
  bool done = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (done) return why = "data after [DONE]", false;
    if (line.rfind("data: ", 0) != 0) return why = "not an SSE data line: " + line, false;
    const std::string data = line.substr(6);
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    const json j = json::parse(data, nullptr, false);
    if (!j.is_object() || !j.contains("choices")) return why = "bad chunk: " + data, false;
    if (j["object"] != (p.chat() ? "chat.completion.chunk" : "text_completion")) return why = "wrong chunk object", false;
    if (j.contains("usage")) r.usage = j["usage"];
    for (const json& c : j["choices"]) {
      const int idx = c.value("index", -1);
      if (idx < 0 || idx >= p.n) return why = "bad choice index", false;
      const json& piece = p.chat() ? c["delta"].value("content", json("")) : c["text"];
      r.text[static_cast<size_t>(idx)] += piece.get<std::string>();
      if (!c["finish_reason"].is_null()) {
        if (!r.finish[static_cast<size_t>(idx)].empty()) return why = "two finish reasons", false;
        r.finish[static_cast<size_t>(idx)] = c["finish_reason"].get<std::string>();
      }
    }
  }
  if (!done) return why = "no [DONE]", false;
  if (r.usage.is_null()) return why = "no usage chunk", false;
  return true;
}

// The usage of a finished reply adds up.
bool check_usage(const Planned& p, const Reply& r, int64_t expected_prompt, std::string& why) {
  const json& u = r.usage;
  const int64_t prompt = u.value("prompt_tokens", -1), completion = u.value("completion_tokens", -1);
  if (u.value("total_tokens", -1) != prompt + completion) return why = "total_tokens != prompt + completion", false;
  if (expected_prompt >= 0 && prompt != expected_prompt)
    return why = "prompt_tokens " + std::to_string(prompt) + ", expected " + std::to_string(expected_prompt), false;
  if (u["prompt_tokens_details"].value("cached_tokens", -1) > prompt) return why = "cached_tokens > prompt_tokens", false;
  bool all_length = true;
  for (const std::string& f : r.finish) {
    if (f != "stop" && f != "length") return why = "finish_reason '" + f + "'", false;
    all_length = all_length && f == "length";
  }
  const int64_t most = static_cast<int64_t>(p.n) * p.max_tokens;
  if (all_length ? completion != most : completion >= most)
    return why = "completion_tokens " + std::to_string(completion) + " with max_tokens " + std::to_string(p.max_tokens) +
                 " x " + std::to_string(p.n) + " and finish reasons " + json(r.finish).dump(),
           false;
  return true;
}

std::map<std::string, double> metrics(const ServerProcess& s) {
  std::map<std::string, double> m;
  auto r = s.client().Get("/metrics");
  if (!r || r->status != 200) return m;
  std::istringstream lines(r->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find(' ');
    m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return m;
}

class LoadRun {
 public:
  LoadRun(const ServerProcess& server, const LoadedModel& model, Tally& tally) : server_(server), t_(tally) {
    for (const std::string& prompt : kPrompts) prompt_tokens_.push_back(static_cast<int64_t>(model.tokenize(prompt, true).size()));
  }

  void run(int n_requests) {
    std::atomic<int> next{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kConnections; ++c)
      clients.emplace_back([&] {
        httplib::Client client = server_.client();
        client.set_keep_alive(true);
        for (int i; (i = next++) < n_requests;) one(client, plan(i));
      });
    for (auto& t : clients) t.join();
  }

 private:
  void one(httplib::Client& client, const Planned& p) {
    httplib::Request req;
    req.method = "POST";
    req.path = p.path();
    req.body = p.raw;
    req.set_header("Content-Type", "application/json");
    std::string body;
    const bool hang_up = p.kind == Kind::Cancelled;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      body.append(data, n);
      return !(hang_up && body.find("\n\n") != std::string::npos);  // hang up after the first event
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool sent = client.send(req, res, error);
    {
      std::lock_guard lock(t_.mutex);
      ++t_.http_requests;
    }
    if (hang_up) {
      if (sent || error != httplib::Error::Canceled) t_.fail(p, "the client could not hang up: " + httplib::to_string(error));
      std::lock_guard lock(t_.mutex);
      ++t_.cancelled, ++t_.submitted;
      t_.cancelled_max_tokens += p.max_tokens;
      t_.cancelled_prompt_tokens += prompt_tokens_[static_cast<size_t>(p.prompt)];
      return;
    }
    if (!sent) return t_.fail(p, "no reply: " + httplib::to_string(error));
    if (res.status >= 500) return t_.fail(p, "status " + std::to_string(res.status) + ": " + body);
    if (p.kind == Kind::Bad) {
      const json j = json::parse(body, nullptr, false);
      if (res.status != 400 || !j.is_object() || !j.contains("error") || !j["error"]["message"].is_string())
        t_.fail(p, "want a 400 with an error object, got " + std::to_string(res.status) + ": " + body);
      std::lock_guard lock(t_.mutex);
      ++t_.bad;
      return;
    }
    if (res.status != 200) return t_.fail(p, "status " + std::to_string(res.status) + ": " + body);
    Reply r;
    std::string why;
    if (!(p.streamed() ? parse_stream(p, body, r, why) : parse_plain(p, body, r, why))) return t_.fail(p, why);
    const int64_t expected_prompt = p.chat() ? -1 : prompt_tokens_[static_cast<size_t>(p.prompt)];
    if (!check_usage(p, r, expected_prompt, why)) return t_.fail(p, why);
    std::lock_guard lock(t_.mutex);
    ++t_.completed, ++t_.submitted;
    t_.completion_tokens += r.usage["completion_tokens"].get<int64_t>();
    t_.prompt_tokens += r.usage["prompt_tokens"].get<int64_t>();
    if (p.chat()) {
      // The same messages always give the same prompt.
      auto [it, fresh] = t_.chat_prompt_tokens.emplace(p.key(), r.usage["prompt_tokens"].get<int64_t>());
      if (!fresh && it->second != r.usage["prompt_tokens"].get<int64_t>())
        t_.failures.push_back(p.key() + ": the same messages gave another prompt_tokens");
    }
    if (p.greedy) {
      // Batch invariance: a greedy reply is the same whatever ran beside it.
      for (const std::string& text : r.text) {
        auto [it, fresh] = t_.greedy_text.emplace(p.key(), text);
        if (!fresh && it->second != text)
          t_.failures.push_back(p.key() + ": greedy text '" + text + "' differs from '" + it->second + "'");
      }
    }
  }

  const ServerProcess& server_;
  Tally& t_;
  std::vector<int64_t> prompt_tokens_;  // of each of kPrompts, BOS included
};

TEST(ServeLoad, ManyConcurrentRequestsLeaveTheServerAsTheyFoundIt) {
  const int n = requests_from_env();
  const int n_warmup = std::max(n / 2, 64);
  ServerProcess server("--parallel 8 --ctx-size-seq 256 --threads-http 24");
  const auto model = LoadedModel::open(test::kDemoModel);

  Tally warmup;
  LoadRun(server, *model, warmup).run(n_warmup);
  for (const std::string& f : warmup.failures) ADD_FAILURE() << "warm-up: " << f;
  // Settled before the baseline: the handler of a request whose client hung up
  // may still be finishing (and be counted) after the client has moved on. Idle
  // means no request processing and, over three polls in a row, each poll
  // counting only the one before it.
  auto before = metrics(server);
  for (int i = 0, quiet = 0; i < 200 && quiet < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto now = metrics(server);
    const bool idle = now["tessera_requests_processing"] == 0 &&
                      now["tessera_http_requests_total"] - before["tessera_http_requests_total"] == 1;
    quiet = idle ? quiet + 1 : 0;
    before = std::move(now);
  }
  const int64_t rss_before = server.resident_kib();

  Tally tally;
  tally.greedy_text = warmup.greedy_text;  // the main run must repeat the warm-up's greedy texts
  tally.chat_prompt_tokens = warmup.chat_prompt_tokens;
  LoadRun(server, *model, tally).run(n);
  for (const std::string& f : tally.failures) ADD_FAILURE() << f;
  EXPECT_EQ(tally.completed + tally.cancelled + tally.bad, n);

  // Idle again: hung-up requests leave at the server's next step.
  // A /metrics request is counted once it has answered: the one before the
  // run, and each poll here before the last.
  std::map<std::string, double> after;
  int64_t polls = 0;
  for (int i = 0; i < 200; ++i) {
    after = metrics(server);
    ++polls;
    if (after["tessera_requests_processing"] == 0 && after["tessera_kv_blocks_used"] == 0 &&
        after["tessera_http_requests_total"] - before["tessera_http_requests_total"] ==
            static_cast<double>(tally.http_requests + polls))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto delta = [&](const char* name) { return after[std::string("tessera_") + name] - before[std::string("tessera_") + name]; };
  EXPECT_EQ(after["tessera_requests_processing"], 0);
  EXPECT_EQ(after["tessera_requests_deferred"], 0);
  EXPECT_EQ(after["tessera_kv_blocks_used"], 0) << "a sequence kept its KV blocks";
  EXPECT_LE(after["tessera_kv_blocks_cached"], after["tessera_kv_blocks_total"]);
  EXPECT_EQ(delta("http_requests_total"), static_cast<double>(tally.http_requests + polls));
  EXPECT_EQ(delta("http_responses_5xx_total"), 0);
  EXPECT_EQ(delta("http_responses_4xx_total"), static_cast<double>(tally.bad));
  EXPECT_EQ(delta("requests_total"), static_cast<double>(tally.submitted));
  // Hung-up requests generated (and evaluated) some of theirs.
  EXPECT_GE(delta("tokens_predicted_total"), static_cast<double>(tally.completion_tokens));
  EXPECT_LE(delta("tokens_predicted_total"), static_cast<double>(tally.completion_tokens + tally.cancelled_max_tokens));
  EXPECT_GE(delta("prompt_tokens_total"), static_cast<double>(tally.prompt_tokens));
  EXPECT_LE(delta("prompt_tokens_total"), static_cast<double>(tally.prompt_tokens + tally.cancelled_prompt_tokens));

  // Still serving, with the same answers.
  auto health = server.client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  Tally last;
  last.greedy_text = tally.greedy_text;
  LoadRun(server, *model, last).run(20);
  for (const std::string& f : last.failures) ADD_FAILURE() << "after the run: " << f;

  const int64_t rss_after = server.resident_kib();
  std::printf("load: %d requests (%lld completed, %lld hung up, %lld bad); server VmRSS %lld KiB after the warm-up "
              "(%d requests), %lld KiB after the run\n",
              n, static_cast<long long>(tally.completed), static_cast<long long>(tally.cancelled),
              static_cast<long long>(tally.bad), static_cast<long long>(rss_before), n_warmup,
              static_cast<long long>(rss_after));
  if (built_with_sanitizers()) {
    std::printf("load: resident memory not compared: the sanitizer's allocator keeps freed memory in quarantine\n");
  } else {
    ASSERT_GT(rss_before, 0);
    EXPECT_LE(rss_after, rss_before + rss_before / 20) << "resident memory grew by more than 5% over the run";
  }
}

}  // namespace
}  // namespace tessera
