#include "io/mapping_fault.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

namespace tessera::io {
namespace {

// Read from the signal handler: a slot's fields are complete before `begin` is
// published, and `begin` is cleared before they are reused.
constexpr int kSlots = 64;
constexpr size_t kMaxPath = 512;
struct Watched {
  std::atomic<uintptr_t> begin{0};
  size_t size = 0;
  char path[kMaxPath] = {};
};
Watched g_watched[kSlots];
std::mutex g_slots_mutex;
struct sigaction g_previous;

void write_all(const char* s) {
  for (size_t n = std::strlen(s); n > 0;) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (const Watched& w : g_watched) {
    const uintptr_t begin = w.begin.load();
    if (begin == 0 || addr < begin || addr - begin >= w.size) continue;
    write_all("tessera: error: model file '");
    write_all(w.path);
    write_all("' shrank while in use (truncated or rewritten in place by another program?): its mapped data "
              "can no longer be read. Replace model files by renaming a new file over them instead.\n");
    ::_exit(1);
  }
  // Not ours: hand it to the previous handler, or die of it as we would have.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);  // returning re-executes the faulting access, which now kills the process
}

void install_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

int watch_mapping(const uint8_t* data, size_t size, const std::string& path) {
  static std::once_flag installed;
  std::call_once(installed, install_handler);
  std::lock_guard lock(g_slots_mutex);
  for (int s = 0; s < kSlots; ++s) {
    Watched& w = g_watched[s];
    if (w.begin.load() != 0) continue;
    w.size = size;
    const size_t n = std::min(path.size(), kMaxPath - 1);
    std::memcpy(w.path, path.data(), n);
    w.path[n] = '\0';
    w.begin.store(reinterpret_cast<uintptr_t>(data));
    return s;
  }
  return -1;  // more open files than slots: that one keeps the plain SIGBUS
}

void unwatch_mapping(int slot) {
  if (slot < 0) return;
  std::lock_guard lock(g_slots_mutex);
  g_watched[slot].begin.store(0);
}

}  // namespace tessera::io
