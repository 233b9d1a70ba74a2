// Matmul throughput per weight format, ISA tier and thread count, in bytes of
// weights per second: decode (one token) is bound by reading the weights, so
// that is the number to compare with memory bandwidth. Attention per tier and
// KV cache type at the end.
//   kernels_bench --benchmark_filter='matmul/Q4_0'
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/large_buffer.h"
#include "core/thread_pool.h"
#include "kernels/avx2_kernels.h"
#include "kernels/dispatch.h"
#include "kernels/reference.h"

namespace tessera::kernels {
namespace {

struct MatmulCase {
  DType type;
  Isa isa;
  int threads;
  int64_t rows, cols, n_tokens;
  const KernelTable* table = nullptr;  // overrides isa's table when set
  WeightLayout layout = WeightLayout::Plain;
};

// The AVX2 tier with Q8_0 / Q4_0 as they were before int8 activations (weights
// decoded to floats, FMAs with float activations): the baseline for the
// integer-dot kernels, measured side by side in one run.
const KernelTable* avx2_float_activation_table() {
  static const KernelTable table = [] {
    KernelTable t = *kernel_table(Isa::Avx2);
    t.matmul_q8_0 = {avx2::matmul_q8_0_rows, avx2::kMatmulRowGrain};
    t.matmul_q4_0 = {avx2::matmul_q4_0_rows, avx2::kMatmulRowGrain};
    return t;
  }();
  return &table;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& f : v) f = dist(rng);
  return v;
}

void run_matmul(benchmark::State& state, MatmulCase c) {
  const KernelTable& table = c.table ? *c.table : *kernel_table(c.isa);
  const size_t stride = row_bytes(c.type, c.cols);
  std::vector<uint8_t> w(stride * static_cast<size_t>(c.rows));
  const std::vector<float> f = random_floats(static_cast<size_t>(c.rows * c.cols), 1);
  for (int64_t r = 0; r < c.rows; ++r)
    ref::quantize_row(c.type, f.data() + r * c.cols, w.data() + r * stride, c.cols);
  if (c.layout != WeightLayout::Plain) {
    std::vector<uint8_t> packed(w.size());
    repack_weights(c.type, c.layout, w.data(), packed.data(), c.rows, c.cols);
    w = std::move(packed);
  }
  const std::vector<float> x = random_floats(static_cast<size_t>(c.n_tokens * c.cols), 2);
  std::vector<float> y(static_cast<size_t>(c.rows * c.n_tokens));
  ThreadPool pool(c.threads);
  for (auto _ : state) {
    matmul_with(table, pool, c.type, c.layout, w.data(), c.rows, c.cols, x.data(), c.n_tokens, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(c.rows * c.cols * c.n_tokens),
                         benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void register_matmul_benchmarks() {
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K,
                     DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::IQ4_NL, DType::Q2_K, DType::Q3_K, DType::Q5_K,
                     DType::IQ4_XS})
    for (Isa isa : kAllIsas) {
      if (!kernel_table(isa)) continue;
      for (int64_t n_tokens : {1, 16, 64})
        for (int threads : {1, 2}) {
          const MatmulCase c{type, isa, threads, 2048, 2048, n_tokens};
          const std::string name = "matmul/" + std::string(dtype_name(type)) + "/" + std::string(isa_name(isa)) +
                                   "/tokens:" + std::to_string(n_tokens) + "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), run_matmul, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
        }
    }
}

// Q8_0 / Q4_0 on the shapes of a 1B-class model (square projections and the
// 5632-wide MLP), decode (1 token) and prefill (64, 512 tokens), AVX2 with
// float activations ("avx2-f32act", the kernels before int8 activations)
// against int8 activations on plain weights ("avx2") and on weights repacked
// 8 rows at a time ("avx2-rows8"). Both sizes fit this machine's L3; weights
// are reused every iteration, so decode GB/s can exceed DRAM bandwidth:
//   kernels_bench --benchmark_filter='int8act' --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
void register_int8_activation_benchmarks() {
  if (!kernel_table(Isa::Avx2)) return;
  for (DType type : {DType::Q8_0, DType::Q4_0})
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{2048, 2048}, {5632, 2048}})
      for (int64_t n_tokens : {1, 64, 512})
        for (int threads : {1, 2})
          for (int variant : {0, 1, 2}) {
            MatmulCase c{type, Isa::Avx2, threads, rows, cols, n_tokens};
            if (variant == 0) c.table = avx2_float_activation_table();
            if (variant == 2) c.layout = WeightLayout::Rows8;
            const char* names[] = {"/avx2-f32act", "/avx2", "/avx2-rows8"};
            const std::string name = "int8act/" + std::string(dtype_name(type)) + "/" + std::to_string(rows) + "x" +
                                     std::to_string(cols) + "/tokens:" + std::to_string(n_tokens) +
                                     "/threads:" + std::to_string(threads) + names[variant];
            benchmark::RegisterBenchmark(name.c_str(), run_matmul, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
          }
}

// F16, Q4_K and Q6_K, plain layout (float activations) against rows8 (F16:
// 8-row column-interleaved tiles; Q4_K and Q6_K: int8 activations):
//   kernels_bench --benchmark_filter='rows8/' --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
void register_rows8_benchmarks() {
  if (!kernel_table(Isa::Avx2)) return;
  for (DType type : {DType::F16, DType::Q4_K, DType::Q6_K})
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{2048, 2048}, {5632, 2048}})
      for (int64_t n_tokens : {1, 64, 512})
        for (int threads : {1, 2})
          for (WeightLayout layout : {WeightLayout::Plain, WeightLayout::Rows8}) {
            MatmulCase c{type, Isa::Avx2, threads, rows, cols, n_tokens};
            c.layout = layout;
            const std::string name = "rows8/" + std::string(dtype_name(type)) + "/" + std::to_string(rows) + "x" +
                                     std::to_string(cols) + "/tokens:" + std::to_string(n_tokens) +
                                     "/threads:" + std::to_string(threads) +
                                     (layout == WeightLayout::Plain ? "/plain" : "/rows8");
            benchmark::RegisterBenchmark(name.c_str(), run_matmul, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
          }
}

// The int8 formats, BF16 and F16 in each tier's preferred layout (AVX2: rows8, BF16
// plain; AVX-512: rows16 with vpdpbusd / vdpbf16ps) and, as the baseline, in
// the plain layout on the same tier; interleave them to compare side by side:
//   kernels_bench --benchmark_filter='packed/' --benchmark_repetitions=5
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
void register_packed_benchmarks() {
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::BF16, DType::F16})
    for (int64_t n_tokens : {1, 64, 512})
      for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
        const KernelTable* table = kernel_table(isa);
        if (!table) continue;
        const WeightLayout preferred = preferred_layout_of(*table, type);
        for (WeightLayout layout : {preferred, WeightLayout::Plain}) {
          MatmulCase c{type, isa, 1, 2048, 2048, n_tokens};
          c.layout = layout;
          const std::string name = "packed/" + std::string(dtype_name(type)) + "/tokens:" + std::to_string(n_tokens) +
                                   "/" + std::string(isa_name(isa)) + (layout == preferred ? "" : "/plain");
          benchmark::RegisterBenchmark(name.c_str(), run_matmul, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
          if (preferred == WeightLayout::Plain) break;  // one entry: the plain layout is the preferred one
        }
      }
}

// Decode as the model runs it: one token against weights that do not fit in
// the caches (64 MiB, 2048 columns, the tier's preferred layout, in a
// LargeBuffer with huge pages as the model's repacked weights are), so
// bytes_per_second is the rate the kernel streams weights from memory. Compare
// with `tessera bench --roofline`'s read bandwidth. A 256-row slice of random
// weights is quantized once and repeated: what is streamed is all that matters.
// "decode4/" is the same with 4 tokens (a few sequences decoding together: one
// multi-token tile per group):
//   kernels_bench --benchmark_filter='decode/' --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
void run_decode(benchmark::State& state, MatmulCase c) {
  const KernelTable& table = *kernel_table(c.isa);
  constexpr int64_t kSliceRows = 256;
  const size_t stride = row_bytes(c.type, c.cols), slice = stride * kSliceRows;
  std::vector<uint8_t> plain(slice), packed(slice);
  const std::vector<float> f = random_floats(static_cast<size_t>(kSliceRows * c.cols), 1);
  for (int64_t r = 0; r < kSliceRows; ++r)
    ref::quantize_row(c.type, f.data() + r * c.cols, plain.data() + r * stride, c.cols);
  repack_weights(c.type, c.layout, plain.data(), packed.data(), kSliceRows, c.cols);
  LargeBuffer w(stride * static_cast<size_t>(c.rows));
  for (int64_t r = 0; r < c.rows; r += kSliceRows) std::memcpy(w.data() + r * stride, packed.data(), slice);
  const std::vector<float> x = random_floats(static_cast<size_t>(c.cols * c.n_tokens), 2);
  std::vector<float> y(static_cast<size_t>(c.rows * c.n_tokens));
  ThreadPool pool(c.threads);
  for (auto _ : state) {
    matmul_with(table, pool, c.type, c.layout, w.data(), c.rows, c.cols, x.data(), c.n_tokens, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
}

void register_decode_benchmarks() {
  constexpr int64_t kCols = 2048, kBytes = int64_t{64} << 20;
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::BF16})
    for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
      const KernelTable* table = kernel_table(isa);
      if (!table) continue;
      const int64_t rows = kBytes / static_cast<int64_t>(row_bytes(type, kCols)) / 256 * 256;
      for (int64_t n_tokens : {1, 4})
        for (int threads : {1, 2}) {
          MatmulCase c{type, isa, threads, rows, kCols, n_tokens};
          c.layout = preferred_layout_of(*table, type);
          const std::string name = (n_tokens == 1 ? "decode/" : "decode4/") + std::string(dtype_name(type)) + "/" +
                                   std::string(isa_name(isa)) + "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), run_decode, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
        }
    }
}

// Attention on TinyLlama's shape (32 query heads, 4 kv heads, head size 64):
// prefill of 512 tokens from an empty cache and one decode step at position
// 511, per tier, cache type and thread count. GFLOP/s counts the QK and PV
// products (4 FLOP per head dimension per visible position):
//   kernels_bench --benchmark_filter='attention/'
struct AttentionCase {
  Isa isa;
  DType type;
  int threads;
  int64_t n_tokens, pos0;
};

void run_attention(benchmark::State& state, AttentionCase c) {
  const int64_t n_head = 32, n_kv = 4, d = 64, block = 32, n_pos = c.pos0 + c.n_tokens;
  const int64_t n_blocks = (n_pos + block - 1) / block;
  const size_t row = row_bytes(c.type, d), rows = static_cast<size_t>(n_blocks * n_kv * block);
  std::vector<uint8_t> k(rows * row), v(rows * row);
  const std::vector<float> kf = random_floats(rows * static_cast<size_t>(d), 3);
  const std::vector<float> vf = random_floats(rows * static_cast<size_t>(d), 4);
  for (size_t r = 0; r < rows; ++r) {
    ref::quantize_row(c.type, kf.data() + r * d, k.data() + r * row, d);
    ref::quantize_row(c.type, vf.data() + r * d, v.data() + r * row, d);
  }
  std::vector<int32_t> table(static_cast<size_t>(n_blocks));
  for (int64_t b = 0; b < n_blocks; ++b) table[static_cast<size_t>(b)] = static_cast<int32_t>(b);
  const KvLayerView kv{k.data(), v.data(), table.data(), block, n_kv, d, c.type, c.type};
  const std::vector<float> q = random_floats(static_cast<size_t>(c.n_tokens * n_head * d), 5);
  std::vector<float> out(q.size());
  ThreadPool pool(c.threads);
  for (auto _ : state) {
    attention_with(*kernel_table(c.isa), pool, q.data(), c.n_tokens, n_head, c.pos0, kv, 0.125f, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  double visible = 0;
  for (int64_t t = 0; t < c.n_tokens; ++t) visible += static_cast<double>(c.pos0 + t + 1);
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * static_cast<double>(n_head * d) * visible,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void register_attention_benchmarks() {
  for (auto [name, n_tokens, pos0] : {std::tuple{"prefill512", 512, 0}, std::tuple{"decode512", 1, 511}})
    for (DType type : {DType::F32, DType::F16, DType::Q8_0})
      for (Isa isa : kAllIsas) {
        if (!kernel_table(isa)) continue;
        for (int threads : {1, 2}) {
          const AttentionCase c{isa, type, threads, n_tokens, pos0};
          const std::string label = std::string("attention/") + name + "/" + std::string(dtype_name(type)) + "/" +
                                    std::string(isa_name(isa)) + "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(label.c_str(), run_attention, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
        }
      }
}

}  // namespace
}  // namespace tessera::kernels

int main(int argc, char** argv) {
  tessera::kernels::register_matmul_benchmarks();
  tessera::kernels::register_int8_activation_benchmarks();
  tessera::kernels::register_rows8_benchmarks();
  tessera::kernels::register_packed_benchmarks();
  tessera::kernels::register_decode_benchmarks();
  tessera::kernels::register_attention_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
