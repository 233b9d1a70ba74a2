// One persistent pool of worker threads. Ops split their work into ranges and
// call parallel_for; no thread is created per op.
//
// Decode calls parallel_for a few hundred times per token, each job only tens
// of microseconds long, so waking sleeping threads through the kernel would
// cost as much as the work. Threads therefore spin (with PAUSE) for a short
// while on an atomic job counter before they fall back to sleeping on a
// condition variable; a pool left idle costs no CPU after that.
//
// Work is handed out in chunks claimed from an atomic counter, a few per
// thread, rather than one fixed share each: on a shared machine a thread that
// the OS has descheduled simply claims nothing, and the running threads finish
// the job instead of waiting for it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

class ThreadPool {
 public:
  // n_threads counts the calling thread: a pool of 1 runs everything inline.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end, thread_index) on disjoint ranges covering [0, n); each
  // range holds a multiple of `grain` items except possibly the last. The
  // ranges depend only on n, grain and size(), not on which thread runs which
  // (so results can be reproducible); thread_index < size() names the calling
  // thread. Returns when all are done. Not re-entrant: fn must not call
  // parallel_for. fn is called through a plain reference (no std::function is
  // made), so a call allocates nothing, whatever fn captures.
  template <class Fn>
  void parallel_for(int64_t n, int64_t grain, const Fn& fn) {
    run(n, grain, Job{&fn, [](const void* f, int64_t begin, int64_t end, int thread) {
                        (*static_cast<const Fn*>(f))(begin, end, thread);
                      }});
  }

  // Calls fn(thread_index) once on every thread of the pool (the caller
  // included), e.g. to size thread-local scratch before timed work.
  template <class Fn>
  void run_on_each_thread(const Fn& fn) {
    std::atomic<int> arrived{0};
    // n_threads_ chunks of one item; each waits until all are claimed, so no
    // thread can take two.
    parallel_for(n_threads_, 1, [&](int64_t, int64_t, int thread) {
      arrived.fetch_add(1);
      while (arrived.load() < n_threads_) std::this_thread::yield();
      fn(thread);
    });
  }

 private:
  // A non-owning reference to the caller's callable.
  struct Job {
    const void* fn = nullptr;
    void (*call)(const void* fn, int64_t begin, int64_t end, int thread) = nullptr;
    void operator()(int64_t begin, int64_t end, int thread) const { call(fn, begin, end, thread); }
  };
  void run(int64_t n, int64_t grain, Job fn);
  void worker(int index);
  // Claims and runs chunks of job `generation` until none are left.
  void run_chunks(int index, uint32_t generation);
  // Waits until `done()` holds: spins first, then sleeps on `cv` counted in `sleepers`.
  template <class Done>
  void wait_for(Done done, std::condition_variable& cv, std::atomic<int>& sleepers);

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job; written before state_ announces it, read by a thread only
  // after it has claimed one of its chunks (the job cannot end before that chunk).
  Job job_;
  int64_t job_n_ = 0;
  int64_t job_grain_ = 1;
  // Job generation in the high 32 bits, its chunk count in the next 16, the
  // next unclaimed chunk in the low 16: one load tells a thread everything it
  // needs to claim, and one compare-and-swap claims a chunk of that job only.
  // A (generation, chunk) pair does not recur within 2^32 jobs.
  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> chunks_done_{0};
  std::atomic<bool> stop_{false};
  // Sleeping is rare; the mutex only orders it against wake-ups.
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<int> sleeping_workers_{0}, sleeping_caller_{0};
};

// Threads to use by default: the machine's hardware threads.
int default_thread_count();

}  // namespace tessera
