#include "io/output_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tessera::io {
namespace {

// The temporaries being written, readable from a signal handler: a slot's path
// is complete before its flag is raised, and the flag is lowered before the
// path is reused. More concurrent outputs than slots are written but not
// registered (only signal cleanup misses them).
constexpr int kSlots = 16;
constexpr size_t kMaxPath = 4096;
char g_paths[kSlots][kMaxPath];
std::atomic<bool> g_in_use[kSlots];
std::atomic<bool> g_claimed[kSlots];
std::atomic<unsigned> g_counter{0};

int register_temporary(const std::string& path) {
  if (path.size() >= kMaxPath) return -1;
  for (int s = 0; s < kSlots; ++s) {
    bool expected = false;
    if (!g_claimed[s].compare_exchange_strong(expected, true)) continue;
    std::memcpy(g_paths[s], path.c_str(), path.size() + 1);
    g_in_use[s].store(true);
    return s;
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  g_in_use[slot].store(false);
  g_claimed[slot].store(false);
}

std::string temporary_name(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string name = fmt::format(".{}.tmp-{}-{}", p.filename().string(), ::getpid(), g_counter.fetch_add(1));
  return (p.parent_path() / name).string();
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)), temp_path_(temporary_name(path_)) {
  if (std::filesystem::is_directory(path_)) fail("cannot write '{}': it is a directory", path_);
  slot_ = register_temporary(temp_path_);
  file_ = std::fopen(temp_path_.c_str(), "wbx");  // x: never reuse an existing file
  if (!file_) {
    const int err = errno;
    unregister_temporary(slot_);
    fail("cannot create '{}' (temporary '{}'): {}", path_, temp_path_, std::strerror(err));
  }
}

OutputFile::~OutputFile() {
  if (!committed_) abandon();
}

void OutputFile::abandon() noexcept {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  ::unlink(temp_path_.c_str());
  unregister_temporary(slot_);
  slot_ = -1;
}

void OutputFile::write(const void* data, size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, file_) != n)
    fail("cannot write '{}': {} (nothing was written under that name)", path_, std::strerror(errno));
}

void OutputFile::commit() {
  auto failed = [&](const char* step) {
    const int err = errno;
    abandon();
    fail("cannot write '{}': {} failed: {} (nothing was written under that name)", path_, step, std::strerror(err));
  };
  if (std::fflush(file_) != 0) failed("flush");
  if (::fsync(::fileno(file_)) != 0) failed("fsync");
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) failed("close");
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) failed("rename");
  committed_ = true;
  unregister_temporary(slot_);
  slot_ = -1;
}

void remove_unfinished_outputs() noexcept {
  for (int s = 0; s < kSlots; ++s)
    if (g_in_use[s].load()) ::unlink(g_paths[s]);
}

}  // namespace tessera::io
