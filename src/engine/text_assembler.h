// Turns one choice's generated token pieces into text that is safe to send:
// stop strings are found across token boundaries (the text ends before the
// first one), and what is held back is the shortest tail that could still
// start a stop string or is an unfinished UTF-8 character.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tessera::engine {

class TextAssembler {
 public:
  explicit TextAssembler(std::vector<std::string> stop = {});

  // Appends a token's bytes; returns the text now safe to send (maybe empty).
  // After a stop string is seen, stopped() is true and nothing more is returned.
  std::string push(std::string_view piece);
  // The rest of the text at the end of generation (what was held back).
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stop_;
  std::string text_;  // everything generated, up to a stop string
  size_t sent_ = 0;
  bool stopped_ = false;
};

}  // namespace tessera::engine
