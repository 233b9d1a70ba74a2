#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace tessera {
namespace {

// How long a thread spins before it sleeps: longer than the gaps between the
// jobs of one decode step (norms, RoPE, attention on the calling thread). Kept
// short because a spinning thread competes with other programs on a shared
// machine: measured on 2 busy cores, 0.5 ms spins lost up to a third of decode
// speed to 0.05 ms ones, while on quiet cores 0.05 to 1 ms tied.
constexpr auto kSpinTime = std::chrono::microseconds(50);

// Chunks per thread and job: enough that a thread arriving late finds work
// left or none to wait for, few enough that claiming costs nothing.
constexpr int kChunksPerThread = 4;
constexpr int64_t kMaxChunks = 0xffff;  // the chunk fields of ThreadPool::state_

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
    state_.store(((state_.load() >> 32) + 1) << 32);
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

void ThreadPool::run_chunks(int index, uint32_t generation) {
  for (;;) {
    uint64_t s = state_.load();
    if (s >> 32 != generation) return;
    const auto chunks = static_cast<int64_t>((s >> 16) & 0xffffu);
    const auto chunk = static_cast<int64_t>(s & 0xffffu);
    if (chunk >= chunks) return;
    // Success means the state never moved from (generation, chunk): this job
    // is still running, and stays so until this chunk is counted done, so its
    // fields below are this job's.
    if (!state_.compare_exchange_weak(s, s + 1)) continue;
    const int64_t grains = (job_n_ + job_grain_ - 1) / job_grain_;
    const int64_t begin = grains * chunk / chunks * job_grain_;
    const int64_t end = std::min(job_n_, grains * (chunk + 1) / chunks * job_grain_);
    job_(begin, end, index);
    if (chunks_done_.fetch_add(1) + 1 == chunks && sleeping_caller_.load() > 0) {
      { std::lock_guard lock(mutex_); }  // the caller is in cv.wait or will see the count
      done_.notify_one();
    }
  }
}

void ThreadPool::worker(int index) {
  uint32_t seen = 0;
  for (;;) {
    wait_for([&] { return static_cast<uint32_t>(state_.load() >> 32) != seen; }, wake_, sleeping_workers_);
    seen = static_cast<uint32_t>(state_.load() >> 32);
    if (stop_.load()) return;
    run_chunks(index, seen);
  }
}

void ThreadPool::run(int64_t n, int64_t grain, Job fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    fn(0, n, 0);
    return;
  }
  const int64_t grains = (n + grain - 1) / grain;
  const int64_t chunks = std::min({grains, int64_t{kChunksPerThread} * n_threads_, kMaxChunks});
  job_ = fn;
  job_n_ = n;
  job_grain_ = grain;
  chunks_done_.store(0);
  const auto generation = static_cast<uint32_t>((state_.load() >> 32) + 1);
  state_.store(uint64_t{generation} << 32 | static_cast<uint64_t>(chunks) << 16);  // publishes the job (seq_cst)
  if (sleeping_workers_.load() > 0) {
    { std::lock_guard lock(mutex_); }
    wake_.notify_all();
  }
  run_chunks(0, generation);
  wait_for([&] { return chunks_done_.load() == chunks; }, done_, sleeping_caller_);
  job_ = Job{};
}

}  // namespace tessera
