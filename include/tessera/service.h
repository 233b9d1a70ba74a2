// Continuous batching behind a thread-safe front: many clients submit
// generation requests; one thread owns an Engine and, step after step, admits
// new requests into the running batch, prefills their prompts in chunks
// (chunked prefill, so running generations keep streaming), samples each
// sequence's next token and hands the text to its client as it is made.
// The HTTP server (`tessera serve`) is a front end of this class.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tessera/tessera.h"

namespace tessera {

struct GenerationRequest {
  std::vector<int32_t> prompt;     // token ids (BOS included if wanted)
  SamplingOptions sampling;        // choice i of n draws with seed + i
  int64_t max_tokens = -1;         // < 0: until end of text or the sequence's n_ctx
  std::vector<std::string> stop;   // stop strings (checked across token boundaries; not returned)
  int n = 1;                       // parallel choices, forked from one evaluation of the prompt
  bool ignore_eos = false;         // never draw an end-of-generation token: max_tokens exactly (benchmarks)
};

// Text of one choice, or its end.
struct GenerationEvent {
  int index = 0;               // which choice
  std::string text;            // UTF-8 text to append (complete characters)
  bool finished = false;       // the choice has ended (after this event's text)
  std::string finish_reason;   // when finished: "stop" (end of text or a stop string), "length", "cancelled", "error"
  std::string error;           // when finish_reason is "error"
};

struct GenerationUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;  // over all choices
  int64_t cached_tokens = 0;      // prompt tokens that came from the prefix cache
  double queue_seconds = 0;       // submitted -> admitted into the batch
  double first_token_seconds = 0; // submitted -> first token of any choice
};

// One request's events, read by the client's thread.
class GenerationStream {
 public:
  virtual ~GenerationStream() = default;
  // The next event; false when every choice has finished and all events were read.
  // Waits at most `timeout` (then false with *timed_out set, when given).
  virtual bool next(GenerationEvent& event, std::chrono::milliseconds timeout, bool* timed_out = nullptr) = 0;
  // Stops the request: its sequences are freed at the next step.
  virtual void cancel() = 0;
  virtual GenerationUsage usage() const = 0;
};

struct ServiceOptions {
  EngineOptions engine;       // n_ctx is per sequence; kv_tokens / kv_bytes size the shared pool
  int max_sequences = 4;      // sequences in the batch at once (requests wait in a queue beyond)
  int64_t max_queue = 256;    // requests waiting at most; more are refused
};

struct ServiceStats {
  int64_t requests = 0, requests_active = 0, requests_queued = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0, prefix_hit_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;  // engine time spent on steps with prompt rows / decode only
  KvPoolStats kv_pool;
};

class GenerationService {
 public:
  // Starts the batching thread. The model must outlive the service.
  GenerationService(const LoadedModel& model, const ServiceOptions& options);
  ~GenerationService();  // shutdown()
  GenerationService(const GenerationService&) = delete;
  GenerationService& operator=(const GenerationService&) = delete;

  // Queues a request. Throws UsageError for one that can never run (empty
  // prompt, longer than n_ctx, n < 1, bad sampling values) and Error when
  // the queue is full.
  std::shared_ptr<GenerationStream> submit(GenerationRequest request);
  ServiceStats stats() const;
  int64_t n_ctx() const;
  // Ends every request as "cancelled", joins the batching thread and refuses
  // (Error) what is submitted after. Idempotent.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
