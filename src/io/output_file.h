// A file written under a temporary name in its destination's directory and
// renamed over the destination only once every byte is written and synced, so
// a failed write (disk full, an I/O error, an exception, a kill) never leaves a
// partial file under the final name, and a file being replaced (say, a model
// another process has mapped) stays intact until the rename. Without commit()
// the temporary is removed; after a signal, remove_unfinished_outputs() (async-
// signal-safe; the CLI calls it from its SIGINT / SIGTERM / SIGHUP handler)
// removes those still being written.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace tessera::io {

class OutputFile {
 public:
  // Creates "<dir>/.<name>.tmp-<pid>-<n>"; throws Error naming `path` if it cannot.
  explicit OutputFile(std::string path);
  ~OutputFile();  // removes the temporary unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t n);  // throws Error (e.g. no space left on the device)
  void commit();                           // flush, fsync, rename over the destination; throws Error

  const std::string& temporary_path() const { return temp_path_; }

 private:
  void abandon() noexcept;

  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  int slot_ = -1;  // in the registry of unfinished outputs
  bool committed_ = false;
};

// Removes the temporaries of all OutputFiles not yet committed. Async-signal-safe.
void remove_unfinished_outputs() noexcept;

}  // namespace tessera::io
