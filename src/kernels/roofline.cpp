#include "kernels/roofline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/large_buffer.h"
#include "kernels/dispatch.h"

namespace tessera::kernels {
namespace avx2 {
float roofline_read(const float* p, size_t n);
float roofline_fma(int64_t iters, float seed);
int32_t roofline_int8(int64_t iters, int32_t seed);
}  // namespace avx2
namespace avx512 {
float roofline_read(const float* p, size_t n);
float roofline_fma(int64_t iters, float seed);
int32_t roofline_int8(int64_t iters, int32_t seed);
float roofline_bf16(int64_t iters, float seed);  // needs AVX512_BF16
}  // namespace avx512

namespace {

float generic_read(const float* p, size_t n) {
  float a[8] = {};
  for (size_t i = 0; i < n; i += 8)
    for (int k = 0; k < 8; ++k) a[k] += p[i + k];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

float generic_fma(int64_t iters, float seed) {
  float acc[8];
  for (int k = 0; k < 8; ++k) acc[k] = seed + static_cast<float>(k);
  for (int64_t i = 0; i < iters; ++i)
    for (float& a : acc) a = a * 0.999999f + 1e-7f;
  return acc[0] + acc[7];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best rate, in G ops/s, of many equal pieces of `ops_per_piece` each run by
// piece(t) on all of the pool's threads (many pieces, so the threads share them
// whichever starts first).
template <class Piece>
double peak_rate(ThreadPool& pool, int repeats, double ops_per_piece, Piece piece) {
  const int64_t pieces = 16 * pool.size();
  std::atomic<float> sink{0};
  double best = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(pieces, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) sink = sink + piece(t);
    });
    best = std::max(best, ops_per_piece * static_cast<double>(pieces) / seconds_since(t0) / 1e9);
  }
  return best;
}

// The probes of a tier: the loads, FMAs and int8 dots its kernels use, and the
// FLOP / integer ops one round of each does.
struct Probes {
  float (*read)(const float*, size_t);
  float (*fma)(int64_t, float);
  int32_t (*int8)(int64_t, int32_t);  // null: no int8 matmuls
  float (*bf16)(int64_t, float);      // null: no bf16 matmuls
  double fma_ops, int8_ops, bf16_ops;
};

Probes probes_of(Isa isa) {
  switch (isa) {
    case Isa::Avx512: {
      // The table holds bf16 matmuls only when the CPU has AVX512_BF16.
      const bool bf16 = matmul_peak_of(active_table(), DType::BF16) == MatmulPeak::Bf16Dot;
      return {avx512::roofline_read, avx512::roofline_fma, avx512::roofline_int8,
              bf16 ? avx512::roofline_bf16 : nullptr, 320.0, 1280.0, 768.0};
    }
    case Isa::Avx2:
      return {avx2::roofline_read, avx2::roofline_fma, avx2::roofline_int8, nullptr, 160.0, 640.0, 0.0};
    case Isa::Generic:
      break;
  }
  return {generic_read, generic_fma, nullptr, nullptr, 16.0, 0.0, 0.0};
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, int repeats) {
  const auto read = probes_of(active_isa()).read;
  // 1 GiB: far beyond any last-level cache, so every pass streams from DRAM. A
  // LargeBuffer, on huge pages as the model's repacked weights are: on 4 KiB
  // pages (malloc's, with transparent huge pages on madvise only) the page walks
  // held the reads of one Zen 4 KVM guest core to ~23 GB/s against ~30 GB/s,
  // so decode's fractions of this peak came out above 100%.
  const size_t n = (size_t{1} << 30) / sizeof(float);
  LargeBuffer buffer(n * sizeof(float));
  const float* buf = reinterpret_cast<const float*>(buffer.data());
  const int64_t chunk = 1 << 16;  // floats per grain: 256 KiB, whole 32-float steps
  pool.parallel_for(static_cast<int64_t>(n), chunk, [&](int64_t b, int64_t e, int) {
    std::memset(buffer.data() + b * sizeof(float), 0, static_cast<size_t>(e - b) * sizeof(float));  // first touch by its reader
  });
  std::atomic<float> sink{0};
  double best = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(static_cast<int64_t>(n), chunk, [&](int64_t b, int64_t e, int) {
      sink = sink + read(buf + b, static_cast<size_t>(e - b));
    });
    best = std::max(best, static_cast<double>(n * sizeof(float)) / seconds_since(t0) / 1e9);
  }
  return best;
}

Roofline measure_roofline(ThreadPool& pool, int repeats) {
  const Probes probes = probes_of(active_isa());
  auto fma = probes.fma;
  Roofline r;
  r.isa = std::string(active_isa_name());
  r.read_gbps = measure_read_bandwidth(pool, repeats);

  const int64_t iters = 20'000'000 / 16;
  r.fma_gflops = peak_rate(pool, repeats, probes.fma_ops * static_cast<double>(iters),
                           [&](int64_t t) { return fma(iters, static_cast<float>(t)); });
  if (probes.int8)  // the tier's int8 matmuls
    r.int8_gops = peak_rate(pool, repeats, probes.int8_ops * static_cast<double>(iters), [&](int64_t t) {
      return static_cast<float>(probes.int8(iters, static_cast<int32_t>(t)));
    });
  if (probes.bf16)  // the tier's bf16 matmuls (BF16, and F16 rounded to bf16 at load)
    r.bf16_gflops = peak_rate(pool, repeats, probes.bf16_ops * static_cast<double>(iters),
                              [&](int64_t t) { return probes.bf16(iters, static_cast<float>(t)); });
  return r;
}

std::string cpu_brand() {
  unsigned regs[12] = {};
  for (unsigned i = 0; i < 3; ++i) {
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000002u + i), "c"(0));
    regs[i * 4] = a, regs[i * 4 + 1] = b, regs[i * 4 + 2] = c, regs[i * 4 + 3] = d;
  }
  std::string s(reinterpret_cast<const char*>(regs), sizeof regs);
  s = s.c_str();  // stop at the first NUL
  const auto first = s.find_first_not_of(' ');
  const auto last = s.find_last_not_of(' ');
  return first == std::string::npos ? "unknown CPU" : s.substr(first, last - first + 1);
}

}  // namespace tessera::kernels
