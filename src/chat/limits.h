// The sandbox's bounds: every one, when passed, stops the template with a
// TemplateError saying which limit it hit. The defaults hold every template
// and conversation a server accepts (its request bodies are at most 8 MiB).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::chat {

struct Limits {
  size_t max_template_bytes = 1 << 20;
  size_t max_output_bytes = 32 << 20;  // also the largest string a template may build
  int64_t max_loop_iterations = 1'000'000;  // all for loops of one render together; also the longest list
  int max_nesting = 64;                     // tags and expressions inside each other, macro calls
  int max_value_depth = 32;                 // lists and dicts inside each other
  // Work of one render, in bytes built, read or compared (a list item counts
  // as its size): bounds its time, and the memory its values can hold.
  int64_t max_work = 256'000'000;
};

}  // namespace tessera::chat
