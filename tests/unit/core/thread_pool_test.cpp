#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>
#include <chrono>
#include <thread>
#include <vector>

namespace tessera {
namespace {

TEST(ThreadPool, CoversRangeExactlyOnceInWholeGrains) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 7, 64, 1000, 1023}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(n);
        pool.parallel_for(n, grain, [&](int64_t b, int64_t e, int t) {
          EXPECT_LT(t, threads);
          if (e != n) {
            EXPECT_EQ((e - b) % grain, 0);
          }
          EXPECT_EQ(b % grain, 0);
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n << " " << grain;
      }
    }
  }
}

// Ranges are claimed by whichever thread is free, but the ranges themselves
// depend only on the job: the same every time.
TEST(ThreadPool, RangesDependOnlyOnTheJob) {
  ThreadPool pool(3);
  std::vector<std::pair<int64_t, int64_t>> first;
  for (int run = 0; run < 20; ++run) {
    std::mutex m;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    pool.parallel_for(1000, 16, [&](int64_t b, int64_t e, int) {
      std::lock_guard lock(m);
      ranges.emplace_back(b, e);
    });
    std::sort(ranges.begin(), ranges.end());
    if (run == 0) first = ranges;
    ASSERT_EQ(ranges, first) << run;
  }
  EXPECT_GT(first.size(), 3u);  // more pieces than threads, so a late thread can be covered for
}

// Jobs of changing sizes (so changing chunk counts) back to back: a thread
// still looking at the last job must never claim work of the next one.
TEST(ThreadPool, BackToBackJobsOfChangingSizes) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    for (int64_t j = 0; j < 100000; ++j) {
      const int64_t n = 17 + j % 400;
      std::atomic<int64_t> covered{0};
      pool.parallel_for(n, 16, [&](int64_t b, int64_t e, int) { covered += e - b; });
      ASSERT_EQ(covered.load(), n) << "job " << j << " on " << threads << " threads";
    }
  }
}

TEST(ThreadPool, ManyJobsInSequence) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int j = 0; j < 2000; ++j)
    pool.parallel_for(10, 1, [&](int64_t b, int64_t e, int) { sum += e - b; });
  EXPECT_EQ(sum.load(), 20000);
}

// Threads spin briefly between jobs, then sleep: jobs far apart, and shares
// that outlast the spin, must still wake everyone exactly once.
TEST(ThreadPool, WakesSleepingWorkersAndCaller) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int j = 0; j < 5; ++j) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers fall asleep
    pool.parallel_for(3, 1, [&](int64_t b, int64_t e, int t) {
      if (t != 0) std::this_thread::sleep_for(std::chrono::milliseconds(3));  // caller falls asleep
      sum += e - b;
    });
  }
  EXPECT_EQ(sum.load(), 15);
}

// run_on_each_thread reaches every thread once, sleeping workers included.
TEST(ThreadPool, RunsOnEachThreadExactlyOnce) {
  for (int n : {1, 2, 4}) {
    ThreadPool pool(n);
    for (int round = 0; round < 20; ++round) {
      if (round % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // workers asleep
      std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
      std::vector<std::thread::id> ids(static_cast<size_t>(n));
      pool.run_on_each_thread([&](int t) {
        seen[static_cast<size_t>(t)]++;
        ids[static_cast<size_t>(t)] = std::this_thread::get_id();
      });
      for (int t = 0; t < n; ++t) ASSERT_EQ(seen[static_cast<size_t>(t)].load(), 1) << "thread " << t;
      for (int a = 0; a < n; ++a)
        for (int b = a + 1; b < n; ++b) ASSERT_NE(ids[static_cast<size_t>(a)], ids[static_cast<size_t>(b)]);
    }
  }
}

}  // namespace
}  // namespace tessera
