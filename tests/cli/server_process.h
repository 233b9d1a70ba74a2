// A `tessera serve` child process on a port of its choosing, for the tests that
// speak to it over HTTP. Its stderr goes to a log; when the test ends, a
// sanitizer report in that log (the server is built like the tests, so under
// ThreadSanitizer or AddressSanitizer too) or an early exit fails the test.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <regex>
#include <sstream>
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
    // The port from "listening on http://127.0.0.1:PORT", then /health until ready
    // (generous: a sanitizer build loads slowly on a busy machine).
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 1200 && port_ == 0 && running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::smatch m;
      const std::string log = read_log();
      if (std::regex_search(log, m, listening)) port_ = std::stoi(m[1]);
    }
    for (int i = 0; i < 1200 && port_ != 0; ++i) {
      auto r = client().Get("/health");
      if (r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "server did not become ready: " << read_log();
  }
  ~ServerProcess() {
    if (!stopped_) stop();
  }

  // SIGTERM, then waits for the exit; the wait status. A server that had
  // exited already, or logged a sanitizer report, fails the test.
  int stop() {
    stopped_ = true;
    const bool was_running = running();
    if (was_running) kill(pid_, SIGTERM);
    if (!exited_) waitpid(pid_, &status_, 0);
    exited_ = true;
    if (!was_running)
      ADD_FAILURE() << "the server exited by itself (status " << status_ << "): " << read_log();
    const std::string log = read_log();
    for (const char* report : {"ThreadSanitizer", "AddressSanitizer", "LeakSanitizer", "runtime error:"})
      if (log.find(report) != std::string::npos) ADD_FAILURE() << "the server reported " << report << ":\n" << log;
    return status_;
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c;
  }
  int port() const { return port_; }
  std::string read_log() const { return read_file(log_); }

  // Whether the child is still alive (reaps it when it is not).
  bool running() {
    if (exited_) return false;
    if (waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }

  // Resident memory of the server (VmRSS of /proc/PID/status) in KiB; -1 if unknown.
  int64_t resident_kib() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    return -1;
  }

 private:
  TempDir dir_;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false, stopped_ = false;
  int status_ = 0;
};

}  // namespace tessera::test
