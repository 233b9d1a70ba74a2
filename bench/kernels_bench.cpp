// Matmul throughput per weight format, ISA tier and thread count, in bytes of
// weights per second: decode (one token) is bound by reading the weights, so
// that is the number to compare with memory bandwidth.
//   kernels_bench --benchmark_filter='matmul/Q4_0'
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/reference.h"

namespace tessera::kernels {
namespace {

struct MatmulCase {
  DType type;
  Isa isa;
  int threads;
  int64_t rows, cols, n_tokens;
};

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& f : v) f = dist(rng);
  return v;
}

void run_matmul(benchmark::State& state, MatmulCase c) {
  const KernelTable& table = *kernel_table(c.isa);
  const size_t stride = row_bytes(c.type, c.cols);
  std::vector<uint8_t> w(stride * static_cast<size_t>(c.rows));
  const std::vector<float> f = random_floats(static_cast<size_t>(c.rows * c.cols), 1);
  for (int64_t r = 0; r < c.rows; ++r)
    ref::quantize_row(c.type, f.data() + r * c.cols, w.data() + r * stride, c.cols);
  const std::vector<float> x = random_floats(static_cast<size_t>(c.n_tokens * c.cols), 2);
  std::vector<float> y(static_cast<size_t>(c.rows * c.n_tokens));
  ThreadPool pool(c.threads);
  for (auto _ : state) {
    matmul_with(table, pool, c.type, w.data(), c.rows, c.cols, x.data(), c.n_tokens, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(c.rows * c.cols * c.n_tokens),
                         benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void register_matmul_benchmarks() {
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0})
    for (Isa isa : kAllIsas) {
      if (!kernel_table(isa)) continue;
      for (int64_t n_tokens : {1, 16})
        for (int threads : {1, 2}) {
          const MatmulCase c{type, isa, threads, 2048, 2048, n_tokens};
          const std::string name = "matmul/" + std::string(dtype_name(type)) + "/" + std::string(isa_name(isa)) +
                                   "/tokens:" + std::to_string(n_tokens) + "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), run_matmul, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
        }
    }
}

}  // namespace
}  // namespace tessera::kernels

int main(int argc, char** argv) {
  tessera::kernels::register_matmul_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
