// Microbenchmarks of the machine's own limits, for judging kernels against a
// roofline: how fast memory can be streamed, and how many FLOP/s the cores can
// issue. Decode is bound by the first, prefill by the second. Each compute peak
// is of an instruction the active tier's matmuls use (kernels::matmul_peak
// says which bounds a format), so a kernel's fraction of it is at most 100%.
#pragma once

#include <string>

#include "core/thread_pool.h"

namespace tessera::kernels {

struct Roofline {
  double read_gbps = 0;    // sustained read bandwidth from DRAM (buffer >> last-level cache), GB/s
  double fma_gflops = 0;   // peak fp32 FMA throughput, GFLOP/s (2 FLOP per lane per FMA)
  // Peak int8 dot throughput (vpmaddubsw), G integer ops/s (2 per multiply-add);
  // 0 on tiers whose matmuls have no int8 path.
  double int8_gops = 0;
  // Peak bf16 dot throughput (vdpbf16ps), GFLOP/s (2 per multiply-add); 0 on
  // tiers whose matmuls have no bf16 path.
  double bf16_gflops = 0;
  std::string isa;         // the tier that measured it
};

// Runs each microbenchmark `repeats` times on all of the pool's threads and keeps
// the best (the limit is what the machine can do, noise only lowers it).
Roofline measure_roofline(ThreadPool& pool, int repeats = 5);

// Only the read bandwidth (Roofline::read_gbps). On a shared host it swings with
// the neighbours' load (one Zen 4 KVM guest: between ~30 and ~55 GB/s from one
// minute to the next), so decode is judged against a measurement taken beside
// it, not one from the start of a long run.
double measure_read_bandwidth(ThreadPool& pool, int repeats = 5);

// The CPU's brand string (CPUID), e.g. "AMD EPYC 7B13".
std::string cpu_brand();

}  // namespace tessera::kernels
