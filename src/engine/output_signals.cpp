// remove_unfinished_outputs_on_signals (tessera.h): signal cleanup of io::OutputFile temporaries.
#include <csignal>

#include "io/output_file.h"
#include "tessera/tessera.h"

namespace tessera {
namespace {

void remove_outputs_and_reraise(int sig) {
  io::remove_unfinished_outputs();
  std::signal(sig, SIG_DFL);
  std::raise(sig);  // end as the signal would have, so the parent sees it
}

}  // namespace

void remove_unfinished_outputs_on_signals() {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, remove_outputs_and_reraise);
}

}  // namespace tessera
