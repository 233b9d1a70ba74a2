// The web chat page of `tessera serve`: served from the binary at GET /, and
// driven end to end in headless Chromium over WebDriver (chromedriver): type a
// prompt, set temperature 0 and max tokens, send, and check the streamed reply
// in the page against the server's non-streamed answer to the same request,
// the tokens/s line, a second turn (the conversation is kept), a server error
// shown readably, the API key, the stop button, and a screenshot of the reply
// read back by OCR (tesseract). Screenshots stay in the test output directory.
// Without chromium, chromedriver or tesseract the browser test skips with the
// reason, except under CI (CI set), where scripts/setup.sh --tests installs them.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "server_process.h"
#include "test_util.h"
#include "webdriver.h"

namespace tessera {
namespace {

using nlohmann::json;
using test::BrowserSession;
using test::ChromeDriverProcess;
using test::ServerProcess;

const std::string kApiKey = "k3y-for-tests";
const httplib::Headers kAuth = {{"Authorization", "Bearer " + kApiKey}};

TEST(WebChat, PageIsServedFromTheBinaryWithoutTheApiKey) {
  ServerProcess server("--api-key " + kApiKey);
  auto page = server.client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->body, test::read_file(std::string(TESSERA_SOURCE_DIR) + "/tools/web/chat.html"));
  // Nothing from elsewhere: the policy allows only this server, and the page names no other.
  const std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_FALSE(std::regex_search(page->body, std::regex("https?://"))) << "the page links outside this server";
  // The API itself still wants the key.
  EXPECT_EQ(server.client().Get("/v1/models")->status, 401);
  EXPECT_EQ(server.client().Get("/v1/models", kAuth)->status, 200);
}

// Lower-case words of three letters or more.
std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> words;
  std::string w;
  for (char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      if (w.size() >= 3) words.insert(w);
      w.clear();
    }
  }
  return words;
}

// The share of `text`'s words that OCR found in `ocr`.
double share_found(const std::string& text, const std::string& ocr) {
  const std::set<std::string> want = words_of(text), seen = words_of(ocr);
  if (want.empty()) return 0;
  int found = 0;
  for (const auto& w : want) found += seen.count(w) ? 1 : 0;
  return static_cast<double>(found) / static_cast<double>(want.size());
}

std::string ocr(const std::string& png_path) {
  const std::string cmd = "tesseract '" + png_path + "' stdout 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// What the browser test needs from the machine, or why it cannot run.
std::string missing_tools() {
  std::string missing;
  for (const char* tool : {"/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/tesseract"})
    if (!std::filesystem::exists(tool)) missing += std::string(missing.empty() ? "" : ", ") + tool;
  return missing;
}

// The chat page in a headless Chromium, with helpers to drive it like a user.
class ChatPage {
 public:
  ChatPage(const ChromeDriverProcess& driver, const std::string& url)
      : browser_(driver, "/usr/bin/chromium",
                 {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--window-size=1100,800", "--force-device-scale-factor=2", "--lang=en-US"}) {
    browser_.open(url);
  }
  BrowserSession& browser() { return browser_; }

  // Waits until `expression` (JavaScript) is truthy and returns its value; a
  // bound against a hang, not a speed check.
  json wait_for(const std::string& expression) {
    for (int i = 0; i < 1200; ++i) {
      const json v = browser_.run("return " + expression + ";");
      if (!v.is_null() && v != false && v != "") return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the page never satisfied: " << expression;
    return json();
  }
  // Sends `prompt` and waits for the reply to leave the "streaming" state; returns that state.
  std::string send(const std::string& prompt) {
    const int before = replies();
    browser_.fill("#prompt", prompt);
    browser_.click(browser_.find("#send"));
    wait_for("document.querySelectorAll('.msg.assistant').length > " + std::to_string(before));
    return wait_for(last_reply() + ".dataset.state !== 'streaming' && " + last_reply() + ".dataset.state").get<std::string>();
  }
  int replies() { return browser_.run("return document.querySelectorAll('.msg.assistant').length;").get<int>(); }
  std::string reply_text() {
    return browser_.run("return " + last_reply() + ".querySelector('.body').textContent;").get<std::string>();
  }
  std::string reply_note() {
    return browser_.run("const n = " + last_reply() + ".querySelector('.meta, .error'); return n ? n.textContent : '';")
        .get<std::string>();
  }
  static std::string last_reply() { return "[...document.querySelectorAll('.msg.assistant')].at(-1)"; }

 private:
  BrowserSession browser_;
};

std::string chat_reference(const ServerProcess& server, const json& messages, int max_tokens, int* completion_tokens) {
  const json body = {{"messages", messages}, {"temperature", 0}, {"max_tokens", max_tokens}};
  auto r = server.client().Post("/v1/chat/completions", kAuth, body.dump(), "application/json");
  EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  if (!r || r->status != 200) return {};
  const json j = json::parse(r->body);
  *completion_tokens = j["usage"]["completion_tokens"].get<int>();
  return j["choices"][0]["message"]["content"].get<std::string>();
}

std::string save(const std::string& name, const std::string& png) {
  const std::filesystem::path dir = std::filesystem::path(TESSERA_TEST_OUTPUT_DIR) / "web_chat";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  test::write_file(path, png);
  return path;
}

TEST(WebChat, StreamsGreedyRepliesInHeadlessChromium) {
  if (const std::string missing = missing_tools(); !missing.empty()) {
    if (std::getenv("CI")) FAIL() << "missing " << missing << " (scripts/setup.sh --tests installs them)";
    GTEST_SKIP() << "missing " << missing << " (scripts/setup.sh --tests installs chromium, chromium-driver, tesseract-ocr)";
  }
  ServerProcess server("--api-key " + kApiKey + " -np 2");
  test::TempDir tmp;
  ChromeDriverProcess driver("/usr/bin/chromedriver", tmp.file("chromedriver.log"));
  ChatPage page(driver, "http://127.0.0.1:" + std::to_string(server.port()) + "/");
  BrowserSession& b = page.browser();

  // The page asked /health and /v1/models (401: no key yet).
  EXPECT_EQ(page.wait_for("document.getElementById('model').textContent === 'API key needed' && 'ok'"), "ok");
  const std::string empty_png = save("page_before_the_reply.png", b.screenshot_png());

  // Without the key: the server's 401 shows in the reply, the prompt goes back to the input box.
  const std::string first = "Tell me about rivers.";
  EXPECT_EQ(page.send(first), "error");
  EXPECT_NE(page.reply_note().find("HTTP 401: invalid API key"), std::string::npos) << page.reply_note();
  EXPECT_EQ(b.run("return document.getElementById('prompt').value;"), first);

  // With the key, greedy: the streamed text is the server's non-streamed reply.
  b.click(b.find("#new-chat"));
  b.fill("#api-key", kApiKey);
  b.fill("#temperature", "0");
  b.fill("#max-tokens", "32");
  b.fill("#system", "Be brief.");
  ASSERT_EQ(page.send(first), "done") << page.reply_note();
  int tokens = 0;
  json messages = {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", first}}};
  const std::string reply = chat_reference(server, messages, 32, &tokens);
  ASSERT_FALSE(reply.empty());
  EXPECT_EQ(page.reply_text(), reply);
  EXPECT_EQ(page.replies(), 1);
  // "32 tokens · 153.2 tok/s · first token 41 ms · stopped at max tokens"
  const std::string note = page.reply_note();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(note, m, std::regex("^([0-9]+) tokens? · ([0-9]+\\.[0-9]) tok/s · first token ([0-9]+) ms")))
      << note;
  EXPECT_EQ(std::stoi(m[1]), tokens) << note;
  EXPECT_GT(std::stod(m[2]), 0.0) << note;

  // A screenshot of the streamed reply, read back by OCR; the page before the
  // reply, read the same way, must not pass the same check.
  const std::string reply_png = save("reply.png", b.element_screenshot_png(b.find(".msg.assistant")));
  save("page_with_the_reply.png", b.screenshot_png());
  ASSERT_GE(words_of(reply).size(), 5u) << "too few words to check: " << reply;
  const std::string read = ocr(reply_png);
  EXPECT_GE(share_found(reply, read), 0.8) << "reply: " << reply << "\nOCR of " << reply_png << ": " << read;
  EXPECT_LE(share_found(reply, ocr(empty_png)), 0.3) << "the page without the reply passes the OCR check";

  // A second turn carries the conversation.
  const std::string second = "And what about the sea?";
  ASSERT_EQ(page.send(second), "done") << page.reply_note();
  messages.push_back({{"role", "assistant"}, {"content", reply}});
  messages.push_back({{"role", "user"}, {"content", second}});
  EXPECT_EQ(page.reply_text(), chat_reference(server, messages, 32, &tokens));

  // A request the server refuses shows its message.
  b.fill("#temperature", "3");
  EXPECT_EQ(page.send("Once more."), "error");
  EXPECT_NE(page.reply_note().find("HTTP 400: 'temperature' must be between"), std::string::npos) << page.reply_note();
  save("page_after_a_refused_request.png", b.screenshot_png());

  // Stop: the page aborts the fetch and the reply stays as far as it got. The
  // demo model writes a whole reply within a fraction of a second, so the
  // browser's fetch is wrapped to hand the page the response 16 bytes every
  // 50 ms (the page's code is unchanged; aborting its signal still ends the real
  // request, which the server sees as a client gone and cancels).
  b.run(R"(const realFetch = window.fetch;
    window.fetch = async (...args) => {
      const res = await realFetch(...args);
      const reader = res.body.getReader();
      let pending = new Uint8Array(0);
      const slow = new ReadableStream({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 50));
          if (pending.length === 0) {
            const {value, done} = await reader.read();
            if (done) return controller.close();
            pending = value;
          }
          controller.enqueue(pending.slice(0, 16));
          pending = pending.slice(16);
        },
        cancel(reason) { return reader.cancel(reason); }});
      return new Response(slow, {status: res.status, statusText: res.statusText, headers: res.headers});
    };)");
  b.click(b.find("#new-chat"));  // the first chat again: its greedy reply is known
  b.fill("#temperature", "0");
  b.fill("#max-tokens", "200");
  b.fill("#prompt", first);
  const int before = page.replies();
  b.click(b.find("#send"));
  page.wait_for("document.querySelectorAll('.msg.assistant').length > " + std::to_string(before) + " && " +
                ChatPage::last_reply() + ".querySelector('.body').textContent.length > 0");
  b.click(b.find("#stop"));
  EXPECT_EQ(page.wait_for(ChatPage::last_reply() + ".dataset.state !== 'streaming' && " + ChatPage::last_reply() +
                          ".dataset.state"),
            "stopped");
  const std::string partial = page.reply_text();
  EXPECT_FALSE(partial.empty());
  const size_t common = std::min(partial.size(), reply.size());
  EXPECT_EQ(partial.substr(0, common), reply.substr(0, common)) << "the stopped reply starts as the greedy one";
  EXPECT_NE(page.reply_note().find("stopped"), std::string::npos) << page.reply_note();
  EXPECT_EQ(b.run("return document.getElementById('send').disabled;"), false);
  save("page_after_stop.png", b.screenshot_png());
  std::string metrics;
  for (int i = 0; i < 200; ++i) {
    metrics = server.client().Get("/metrics", kAuth)->body;
    if (metrics.find("tessera_requests_processing 0\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(metrics.find("tessera_requests_processing 0\n"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace tessera
