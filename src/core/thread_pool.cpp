#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace tessera {
namespace {

// How long a thread spins before it sleeps: longer than the gaps between the
// jobs of one decode step (norms, RoPE, sampling on the calling thread), far
// shorter than anything a person would notice as a busy CPU.
constexpr auto kSpinTime = std::chrono::microseconds(500);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

int default_thread_count() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  {
    std::lock_guard lock(mutex_);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

template <class Done>
void ThreadPool::wait_for(Done done, std::condition_variable& cv, std::atomic<int>& sleepers) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 1;; ++i) {
    if (done()) return;
    cpu_relax();
    if (i % 256 == 0 && std::chrono::steady_clock::now() > deadline) break;
  }
  std::unique_lock lock(mutex_);
  sleepers.fetch_add(1);  // seq_cst: the waker either sees this or we see its change
  cv.wait(lock, done);
  sleepers.fetch_sub(1);
}

// Thread `index` takes the index-th of n_threads_ near-equal shares, in whole grains.
void ThreadPool::run_share(int index) {
  const int64_t grains = (job_n_ + job_grain_ - 1) / job_grain_;
  const int64_t g0 = grains * index / n_threads_;
  const int64_t g1 = grains * (index + 1) / n_threads_;
  const int64_t begin = g0 * job_grain_;
  const int64_t end = std::min(job_n_, g1 * job_grain_);
  if (begin < end) (*job_)(begin, end, index);
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    wait_for([&] { return generation_.load() != seen; }, wake_, sleeping_workers_);
    seen = generation_.load();
    if (stop_.load()) return;
    run_share(index);
    if (pending_.fetch_sub(1) == 1 && sleeping_caller_.load() > 0) {
      { std::lock_guard lock(mutex_); }  // the caller is in cv.wait or will see pending_ == 0
      done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    fn(0, n, 0);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  pending_.store(n_threads_ - 1);
  generation_.fetch_add(1);  // publishes the job (seq_cst)
  if (sleeping_workers_.load() > 0) {
    { std::lock_guard lock(mutex_); }
    wake_.notify_all();
  }
  run_share(0);
  wait_for([&] { return pending_.load() == 0; }, done_, sleeping_caller_);
  job_ = nullptr;
}

}  // namespace tessera
