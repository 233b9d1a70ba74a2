// A `tessera serve` child process on the bundled demo model, on a port of its
// choosing, for the tests that speak HTTP to it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "test_util.h"

namespace tessera::test {

inline const std::string kDemoModel = std::string(TESSERA_SOURCE_DIR) + "/models/tessera-demo.gguf";

class ServerProcess {
 public:
  explicit ServerProcess(const std::string& extra_args) {
    log_ = dir_.file("serve.log");
    pid_ = fork();
    if (pid_ == 0) {
      const std::string cmd = std::string(TESSERA_BIN) + " serve -m '" + kDemoModel + "' --port 0 -t 2 " + extra_args +
                              " 2> '" + log_ + "'";
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // The port from "listening on http://127.0.0.1:PORT", then /health until ready.
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 600 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::smatch m;
      const std::string log = read_log();
      if (std::regex_search(log, m, listening)) port_ = std::stoi(m[1]);
    }
    for (int i = 0; i < 600; ++i) {
      auto r = client().Get("/health");
      if (r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "server did not become ready: " << read_log();
  }
  ~ServerProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c;
  }
  std::string read_log() const { return read_file(log_); }

 private:
  TempDir dir_;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace tessera::test
