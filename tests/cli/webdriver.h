// A minimal W3C WebDriver client over cpp-httplib: a chromedriver child process
// on a free port and a headless Chromium session driven through it (open a
// page, find elements, type, click, run a script, take PNG screenshots).
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tessera::test {

// A TCP port nothing listens on now (the kernel's pick for port 0).
inline int free_tcp_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot find a free TCP port");
  close(fd);
  return ntohs(addr.sin_port);
}

inline std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t bits = 0;
  int n_bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) continue;  // padding and line breaks
    bits = (bits << 6) | static_cast<uint32_t>(v);
    n_bits += 6;
    if (n_bits >= 8) {
      n_bits -= 8;
      out.push_back(static_cast<char>((bits >> n_bits) & 0xff));
    }
  }
  return out;
}

// chromedriver listening on 127.0.0.1; killed at destruction.
class ChromeDriverProcess {
 public:
  ChromeDriverProcess(const std::string& exe, const std::string& log_path) {
    for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
      port_ = free_tcp_port();
      pid_ = fork();
      if (pid_ == 0) {
        const std::string port = "--port=" + std::to_string(port_), log = "--log-path=" + log_path;
        execl(exe.c_str(), exe.c_str(), port.c_str(), log.c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      for (int i = 0; i < 200 && !ready_; ++i) {  // up to 20 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto r = client().Get("/status");
        if (r && r->status == 200) {
          const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
          ready_ = j.is_object() && j.contains("value") && j["value"].is_object() && j["value"].value("ready", false);
        }
        int status = 0;
        if (!ready_ && waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken meanwhile, or worse
          pid_ = -1;
          break;
        }
      }
      if (!ready_) stop();
    }
    if (!ready_) throw std::runtime_error("chromedriver did not start (log: " + log_path + ")");
  }
  ~ChromeDriverProcess() { stop(); }
  ChromeDriverProcess(const ChromeDriverProcess&) = delete;
  ChromeDriverProcess& operator=(const ChromeDriverProcess&) = delete;

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c;
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// One browser session; WebDriver errors throw std::runtime_error with the driver's message.
class BrowserSession {
 public:
  BrowserSession(const ChromeDriverProcess& driver, const std::string& chromium, const std::vector<std::string>& args)
      : http_(driver.client()) {
    const nlohmann::json caps = {
        {"capabilities",
         {{"alwaysMatch", {{"browserName", "chrome"}, {"goog:chromeOptions", {{"binary", chromium}, {"args", args}}}}}}}};
    id_ = call("POST", "/session", caps)["sessionId"].get<std::string>();
  }
  ~BrowserSession() {
    try {
      call("DELETE", session(), nullptr);
    } catch (const std::exception&) {
    }
  }
  BrowserSession(const BrowserSession&) = delete;
  BrowserSession& operator=(const BrowserSession&) = delete;

  void open(const std::string& url) { call("POST", session() + "/url", {{"url", url}}); }
  // The element the CSS selector finds first (its WebDriver reference).
  std::string find(const std::string& css) {
    return call("POST", session() + "/element", {{"using", "css selector"}, {"value", css}})[kElementKey].get<std::string>();
  }
  void click(const std::string& element) { call("POST", element_path(element) + "/click", nlohmann::json::object()); }
  void clear(const std::string& element) { call("POST", element_path(element) + "/clear", nlohmann::json::object()); }
  void type(const std::string& element, const std::string& text) {
    call("POST", element_path(element) + "/value", {{"text", text}});
  }
  // Replaces a field's text: cleared, then typed.
  void fill(const std::string& css, const std::string& text) {
    const std::string e = find(css);
    clear(e);
    type(e, text);
  }
  // The value of `script` (a function body) run in the page.
  nlohmann::json run(const std::string& script) {
    return call("POST", session() + "/execute/sync", {{"script", script}, {"args", nlohmann::json::array()}});
  }
  std::string screenshot_png() { return base64_decode(call("GET", session() + "/screenshot", nullptr).get<std::string>()); }
  std::string element_screenshot_png(const std::string& element) {
    return base64_decode(call("GET", element_path(element) + "/screenshot", nullptr).get<std::string>());
  }

 private:
  static constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";
  std::string session() const { return "/session/" + id_; }
  std::string element_path(const std::string& element) const { return session() + "/element/" + element; }

  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body) {
    httplib::Result r = method == "GET"      ? http_.Get(path)
                        : method == "DELETE" ? http_.Delete(path)
                                             : http_.Post(path, body.dump(), "application/json");
    if (!r) throw std::runtime_error("WebDriver " + method + " " + path + ": no answer from chromedriver");
    const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    if (r->status != 200 || !j.is_object() || !j.contains("value"))
      throw std::runtime_error("WebDriver " + method + " " + path + ": HTTP " + std::to_string(r->status) + " " +
                               r->body.substr(0, 500));
    return j["value"];
  }

  httplib::Client http_;
  std::string id_;
};

}  // namespace tessera::test
