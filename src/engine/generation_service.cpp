// tessera::GenerationService (include/tessera/service.h): continuous batching
// over one Engine, built on the public API only.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/text_assembler.h"
#include "tessera/service.h"

namespace tessera {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

class Stream final : public GenerationStream {
 public:
  explicit Stream(int n_choices) : open_(n_choices), submitted_(Clock::now()) {}

  bool next(GenerationEvent& event, std::chrono::milliseconds timeout, bool* timed_out) override {
    std::unique_lock lock(mutex_);
    const bool ready = cv_.wait_for(lock, timeout, [&] { return !events_.empty() || open_ == 0; });
    if (timed_out) *timed_out = !ready;
    if (events_.empty()) return false;
    event = std::move(events_.front());
    events_.pop_front();
    return true;
  }
  void cancel() override { cancelled_ = true; }
  GenerationUsage usage() const override {
    std::lock_guard lock(mutex_);
    return usage_;
  }

  // The batching thread's side.
  bool cancelled() const { return cancelled_; }
  void push(GenerationEvent event) {
    std::lock_guard lock(mutex_);
    if (event.finished) --open_;
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  template <class Fn>
  void update_usage(const Fn& fn) {
    std::lock_guard lock(mutex_);
    fn(usage_);
  }
  Clock::time_point submitted() const { return submitted_; }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<GenerationEvent> events_;
  int open_;
  std::atomic<bool> cancelled_{false};
  GenerationUsage usage_;
  Clock::time_point submitted_;
};

struct Choice {
  SequenceId seq = -1;
  engine::TextAssembler text;
  int64_t generated = 0;
  bool done = false;
};

struct Active {
  GenerationRequest request;
  std::shared_ptr<Stream> stream;
  std::vector<Choice> choices;
  bool prompt_done = false;
  bool any_token = false;
};

void check_request(const GenerationRequest& r, int64_t n_ctx, int max_sequences, int32_t n_vocab) {
  if (r.prompt.empty()) throw UsageError("the prompt is empty");
  if (static_cast<int64_t>(r.prompt.size()) >= n_ctx)
    throw UsageError("the prompt has " + std::to_string(r.prompt.size()) + " tokens; the context holds " +
                     std::to_string(n_ctx) + " (n_ctx), and at least one must be left to generate");
  for (int32_t t : r.prompt)
    if (t < 0 || t >= n_vocab)
      throw UsageError("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                       std::to_string(n_vocab - 1) + ")");
  if (r.n < 1 || r.n > max_sequences)
    throw UsageError("n must be between 1 and " + std::to_string(max_sequences) +
                     " (the server's parallel sequences); got " + std::to_string(r.n));
  const SamplingOptions& s = r.sampling;
  if (std::isnan(s.temperature) || s.temperature < 0) throw UsageError("temperature must be a number >= 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) throw UsageError("top_p must be in (0, 1]");
  if (!(s.min_p >= 0 && s.min_p < 1)) throw UsageError("min_p must be in [0, 1)");
  if (!(s.repeat_penalty > 0)) throw UsageError("repeat_penalty must be > 0");
  if (r.max_tokens == 0) throw UsageError("max_tokens must be at least 1");
}

}  // namespace

struct GenerationService::Impl {
  Impl(const LoadedModel& model, const ServiceOptions& o)
      : model(model), options(o), engine(model.new_engine(o.engine)) {
    if (o.max_sequences < 1) throw UsageError("max_sequences must be >= 1");
    for (int32_t id = 0; id < engine->n_vocab(); ++id)
      if (model.is_end_of_generation(id)) end_of_generation.push_back(id);
    thread = std::thread([this] { loop(); });
  }
  ~Impl() { shutdown(); }
  void shutdown() {
    {
      std::lock_guard lock(queue_mutex);
      if (stopping) return;
      stopping = true;
    }
    queue_cv.notify_all();
    thread.join();
  }

  void loop();
  void admit();
  void finish(Active& a, Choice& c, const std::string& reason, const std::string& error = {});
  void after_step();
  void step_once();

  const LoadedModel& model;
  ServiceOptions options;
  std::unique_ptr<Engine> engine;  // the batching thread's alone (and submit's
                                   // n_ctx / n_vocab reads)
  std::vector<int32_t> end_of_generation;  // the ids ignore_eos bans (read-only)
  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<Active> queue;
  bool stopping = false;
  std::vector<Active> active;  // the batching thread's
  mutable std::mutex stats_mutex;
  ServiceStats stats;
  std::thread thread;
};

void GenerationService::Impl::admit() {
  int running = 0;
  for (const Active& a : active) running += static_cast<int>(a.choices.size() + (a.prompt_done ? 0 : a.request.n - 1));
  std::lock_guard lock(queue_mutex);
  while (!queue.empty() && running + queue.front().request.n <= options.max_sequences) {
    Active a = std::move(queue.front());
    queue.pop_front();
    running += a.request.n;
    Choice c;
    c.seq = engine->add_sequence(a.request.sampling);
    c.text = engine::TextAssembler(a.request.stop);
    engine->feed(c.seq, a.request.prompt);
    a.choices.push_back(std::move(c));
    const double waited = seconds_between(a.stream->submitted(), Clock::now());
    a.stream->update_usage([&](GenerationUsage& u) {
      u.prompt_tokens = static_cast<int64_t>(a.request.prompt.size());
      u.queue_seconds = waited;
    });
    active.push_back(std::move(a));
  }
  std::lock_guard s(stats_mutex);
  stats.requests_queued = static_cast<int64_t>(queue.size());
}

void GenerationService::Impl::finish(Active& a, Choice& c, const std::string& reason, const std::string& error) {
  GenerationEvent e;
  e.index = static_cast<int>(&c - a.choices.data());
  e.text = reason == "stop" || reason == "length" ? c.text.finish() : std::string();
  e.finished = true;
  e.finish_reason = reason;
  e.error = error;
  c.done = true;
  if (c.seq >= 0) engine->remove(c.seq);
  c.seq = -1;
  a.stream->push(std::move(e));
}

void GenerationService::Impl::after_step() {
  const int64_t n_ctx = engine->n_ctx();
  for (Active& a : active) {
    if (!a.prompt_done) {
      const SequenceInfo info = engine->info(a.choices[0].seq);
      if (info.n_pending > 0) continue;
      a.prompt_done = true;
      a.stream->update_usage([&](GenerationUsage& u) { u.cached_tokens = info.cached_tokens; });
      {
        std::lock_guard s(stats_mutex);
        stats.prompt_tokens += static_cast<int64_t>(a.request.prompt.size());
      }
      // n choices: forks of the evaluated prompt, each with its own seed.
      for (int i = 1; i < a.request.n; ++i) {
        SamplingOptions sampling = a.request.sampling;
        sampling.seed += static_cast<uint64_t>(i);
        Choice c;
        c.seq = engine->fork(a.choices[0].seq, sampling);
        c.text = engine::TextAssembler(a.request.stop);
        a.choices.push_back(std::move(c));
      }
    }
    for (Choice& c : a.choices) {
      if (c.done || engine->info(c.seq).n_pending > 0) continue;
      const int32_t token = engine->sample(c.seq);
      if (!a.any_token) {
        a.any_token = true;
        const double t = seconds_between(a.stream->submitted(), Clock::now());
        a.stream->update_usage([&](GenerationUsage& u) { u.first_token_seconds = t; });
      }
      if (model.is_end_of_generation(token)) {
        finish(a, c, "stop");
        continue;
      }
      ++c.generated;
      a.stream->update_usage([&](GenerationUsage& u) { ++u.completion_tokens; });
      {
        std::lock_guard s(stats_mutex);
        ++stats.generated_tokens;
      }
      std::string text = c.text.push(model.token_piece(token));
      if (!text.empty()) a.stream->push({static_cast<int>(&c - a.choices.data()), std::move(text), false, {}, {}});
      if (c.text.stopped()) {
        finish(a, c, "stop");
      } else if (c.generated == a.request.max_tokens || engine->info(c.seq).n_past + 1 > n_ctx) {
        finish(a, c, "length");
      } else {
        engine->feed(c.seq, {token});
      }
    }
  }
}

void GenerationService::Impl::loop() {
  for (;;) {
    {
      std::unique_lock lock(queue_mutex);
      queue_cv.wait(lock, [&] { return stopping || !queue.empty() || !active.empty(); });
      if (stopping) break;
    }
    try {
      step_once();
    } catch (const std::exception& e) {
      // Nothing should throw here; if something does, every request in the
      // batch ends with the message rather than the process.
      for (Active& a : active) {
        for (Choice& c : a.choices)
          if (!c.done) finish(a, c, "error", e.what());
        a.prompt_done = true;
      }
      active.clear();
    }
  }
  // Shutting down: every request still here ends as cancelled.
  for (Active& a : active)
    for (Choice& c : a.choices)
      if (!c.done) finish(a, c, "cancelled");
  std::lock_guard lock(queue_mutex);
  for (Active& a : queue)
    for (int i = 0; i < a.request.n; ++i) a.stream->push({i, {}, true, "cancelled", {}});
  queue.clear();
}

void GenerationService::Impl::step_once() {
  admit();
  // Cancelled requests leave before the step, freeing their blocks.
  for (Active& a : active)
    if (a.stream->cancelled()) {
      for (Choice& c : a.choices)
        if (!c.done) finish(a, c, "cancelled");
      a.prompt_done = true;
    }
  const bool prefill = std::any_of(active.begin(), active.end(), [](const Active& a) { return !a.prompt_done; });
  const auto t0 = Clock::now();
  const StepStats step = engine->step();
  const double seconds = seconds_between(t0, Clock::now());
  for (SequenceId failed : step.failed)
    for (Active& a : active)
      for (Choice& c : a.choices)
        if (c.seq == failed) {
          const std::string why = engine->info(failed).error;
          // The prompt never finished: the request's other choices were never
          // made.
          for (Choice& other : a.choices)
            if (!other.done) finish(a, other, "error", why);
          a.prompt_done = true;
        }
  after_step();
  active.erase(std::remove_if(active.begin(), active.end(),
                              [](const Active& a) {
                                return a.prompt_done && std::all_of(a.choices.begin(), a.choices.end(),
                                                                    [](const Choice& c) { return c.done; });
                              }),
               active.end());
  std::lock_guard s(stats_mutex);
  (prefill ? stats.prompt_seconds : stats.generate_seconds) += seconds;
  stats.requests_active = static_cast<int64_t>(active.size());
  stats.kv_pool = engine->kv_pool();
  stats.prefix_hit_tokens = stats.kv_pool.prefix_hit_tokens;
}

GenerationService::GenerationService(const LoadedModel& model, const ServiceOptions& options)
    : impl_(std::make_unique<Impl>(model, options)) {}

GenerationService::~GenerationService() = default;

void GenerationService::shutdown() { impl_->shutdown(); }

std::shared_ptr<GenerationStream> GenerationService::submit(GenerationRequest request) {
  check_request(request, impl_->engine->n_ctx(), impl_->options.max_sequences, impl_->engine->n_vocab());
  if (request.ignore_eos) {
    auto& banned = request.sampling.banned_tokens;
    banned.insert(banned.end(), impl_->end_of_generation.begin(), impl_->end_of_generation.end());
  }
  auto stream = std::make_shared<Stream>(request.n);
  {
    std::lock_guard lock(impl_->queue_mutex);
    if (impl_->stopping) throw Error("the server is shutting down");
    if (static_cast<int64_t>(impl_->queue.size()) >= impl_->options.max_queue)
      throw Error("the server is busy: " + std::to_string(impl_->queue.size()) + " requests are waiting already");
    Active a;
    a.request = std::move(request);
    a.stream = stream;
    impl_->queue.push_back(std::move(a));
  }
  {
    std::lock_guard s(impl_->stats_mutex);
    ++impl_->stats.requests;
  }
  impl_->queue_cv.notify_all();
  return stream;
}

ServiceStats GenerationService::stats() const {
  std::lock_guard s(impl_->stats_mutex);
  return impl_->stats;
}

int64_t GenerationService::n_ctx() const { return impl_->engine->n_ctx(); }

}  // namespace tessera
