// A whole file mapped read-only into memory. Model weights are used in place
// from the mapping, so it must outlive every tensor view into it (ModelFile
// holds it by shared_ptr). Should the file shrink while mapped, reading a lost
// page ends the process with a one-line error instead of SIGBUS (mapping_fault.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tessera::io {

class MappedFile {
 public:
  // `what` names the file's role in error messages: "cannot open model file 'x': ...".
  explicit MappedFile(const std::string& path, const std::string& what = "model file");
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Gives the memory of the whole pages inside [p, p + n) back to the OS
  // (madvise MADV_DONTNEED) when the range lies in this mapping, else does
  // nothing. The mapping is read-only and private, so a later read of those
  // bytes faults them in from the file again: contents never change. For
  // tensors copied elsewhere at load (repacked weights), so resident memory
  // holds them once.
  void release(const void* p, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int watch_slot_ = -1;
};

}  // namespace tessera::io
