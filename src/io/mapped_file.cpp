#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "io/mapping_fault.h"

namespace tessera::io {
namespace {

// Closes the descriptor on every path out of the constructor; the mapping stays valid.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

MappedFile::MappedFile(const std::string& path, const std::string& what) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {} '{}': {}", what, path, std::strerror(errno));
  FdCloser closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot open {} '{}': {}", what, path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("cannot open {} '{}': is a directory", what, path);
  if (!S_ISREG(st.st_mode)) fail("cannot open {} '{}': not a regular file", what, path);
  if (st.st_size == 0) fail("cannot open {} '{}': the file is empty", what, path);

  size_ = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) fail("cannot map {} '{}' ({} bytes) into memory: {}", what, path, size_, std::strerror(errno));
  data_ = static_cast<const uint8_t*>(p);
  watch_slot_ = watch_mapping(data_, size_, path_);
}

void MappedFile::release(const void* p, size_t n) const {
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const auto base = reinterpret_cast<uintptr_t>(data_);
  if (!data_ || begin < base || n > size_ || begin - base > size_ - n) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page, last = (begin + n) / page * page;
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  unwatch_mapping(watch_slot_);
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace tessera::io
