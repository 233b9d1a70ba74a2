// A mapped model file that shrinks while mapped (truncated or rewritten in
// place by another program) makes reads of its vanished pages raise SIGBUS.
// Sizes are checked at open, but nothing can stop another process from
// truncating the file later; instead of dying with "Bus error", a process that
// touches such a page prints one line naming the file and exits with status 1.
// Faults elsewhere go to the handler that was installed before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tessera::io {

// Registers [data, data + size) as a mapping of `path`; installs the SIGBUS
// handler on first use. Returns a slot for unwatch_mapping (-1: not watched).
int watch_mapping(const uint8_t* data, size_t size, const std::string& path);
void unwatch_mapping(int slot);

}  // namespace tessera::io
