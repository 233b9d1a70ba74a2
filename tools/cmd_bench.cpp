// tessera bench: prompt-processing and generation speed in the spirit of
// llama-bench (same test names, same JSON field names), with an optional
// roofline column: each result as a fraction of what this machine can do.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>

#include "commands.h"
#include "tessera/error.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

struct BenchArgs {
  std::vector<std::string> models;
  std::vector<int64_t> n_prompt = {512}, n_gen = {128};
  std::vector<int> threads;
  std::vector<std::string> types_k = {"f16"}, types_v = {"f16"};  // KV cache, as llama-bench's -ctk/-ctv
  int repetitions = 5;
  int64_t n_batch = 512;
  std::string output = "md";
  bool roofline = false, warmup = true;
};

struct ModelFacts {
  std::string path, name;
  uint64_t size = 0, n_params = 0;
  uint64_t bytes_per_token = 0;  // weight bytes a decode step streams
  // The matrices multiplied per token (2 FLOP per weight), each with the peak
  // its kernel runs against. The head is multiplied once per prompt: only the
  // last row's logits are computed (as llama-bench's pp tests do).
  struct Matrix {
    uint64_t params = 0;
    MatmulPeak peak = MatmulPeak::Fp32Fma;
    bool head = false;
  };
  std::vector<Matrix> matrices;
  int32_t n_vocab = 0, bos = -1;
};

// Matmul operations (2 per weight) of one matrix in a prompt of n_prompt tokens.
double prompt_ops(const ModelFacts::Matrix& x, int64_t n_prompt) {
  return 2.0 * static_cast<double>(x.params) * static_cast<double>(x.head ? 1 : n_prompt);
}

struct Result {
  const ModelFacts* model;
  int threads;
  std::string type_k, type_v;
  int64_t n_prompt, n_gen;
  std::vector<double> seconds;
  std::string test_time;
  double read_gbps = 0;  // tg with --roofline: the read bandwidth measured beside the test
};

// The fraction of the machine's limit a result reaches: generation against the
// read bandwidth (weights streamed per token), prompt processing against the
// time its matmuls would take, each at the peak of the instruction its kernel
// uses (fp32 FMA, int8 dot or bf16 dot).
double roofline_fraction(const Result& r, double tokens_per_s, const MachineInfo& m) {
  if (r.n_gen) return static_cast<double>(r.model->bytes_per_token) * tokens_per_s / 1e9 / r.read_gbps;
  double seconds_at_peak = 0;
  for (const ModelFacts::Matrix& x : r.model->matrices)
    seconds_at_peak += prompt_ops(x, r.n_prompt) / (m.peak_gops(x.peak) * 1e9);
  return seconds_at_peak * tokens_per_s / static_cast<double>(r.n_prompt);
}

ModelFacts model_facts(const LoadedModel& m, const std::string& path) {
  const ModelSummary s = m.summary();
  ModelFacts f;
  f.path = path;
  f.size = s.tensor_bytes;
  f.n_params = s.n_params;
  f.n_vocab = s.n_vocab;
  f.bos = s.bos_id;
  bool has_output = false;
  std::map<std::string, int> types;
  for (const auto& t : s.tensors) has_output |= t.name == "output.weight";
  for (const auto& t : s.tensors) {
    uint64_t n = 1;
    for (auto d : t.shape) n *= static_cast<uint64_t>(d);
    const bool embedding_only = t.name == "token_embd.weight" && has_output;  // one row read per token
    if (t.shape.size() == 2 && !embedding_only) {
      f.bytes_per_token += t.bytes;
      const bool head = t.name == (has_output ? "output.weight" : "token_embd.weight");
      f.matrices.push_back({n, t.matmul_peak, head});
      types[t.type]++;
    } else if (t.shape.size() == 3 && s.n_expert > 0) {  // a token reads its experts only: the active parameters
      const auto used = static_cast<uint64_t>(s.n_expert_used), all = static_cast<uint64_t>(s.n_expert);
      f.bytes_per_token += t.bytes / all * used;
      f.matrices.push_back({n / all * used, t.matmul_peak, false});
      types[t.type]++;
    }
  }
  std::string main_type;
  int most = 0;
  for (const auto& [type, count] : types)
    if (count > most) most = count, main_type = type;
  const double params = static_cast<double>(f.n_params);
  const std::string count = params >= 1e9 ? fmt::format("{:.1f}B", params / 1e9) : fmt::format("{:.0f}M", params / 1e6);
  f.name = fmt::format("{} {} {}", s.architecture, count, main_type);
  return f;
}

std::vector<int32_t> random_tokens(const ModelFacts& f, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, f.n_vocab - 1);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = id(rng);
  if (f.bos >= 0 && n > 0) t[0] = f.bos;
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One timed run: the prompt in one go, or n_gen single-token steps, from an
// empty cache (a fresh sequence; the engine's prefix cache is off).
double run_once(Engine& engine, const std::vector<int32_t>& tokens, bool one_by_one) {
  const SequenceId seq = engine.add_sequence();
  const auto t0 = std::chrono::steady_clock::now();
  if (one_by_one) {
    for (int32_t t : tokens) engine.eval(seq, {t});
  } else {
    engine.eval(seq, tokens);
  }
  const double seconds = seconds_since(t0);
  engine.remove(seq);
  return seconds;
}

struct Stats {
  double mean = 0, stddev = 0, median = 0;
};

Stats rate_stats(const std::vector<double>& seconds, int64_t n_tokens) {
  std::vector<double> ts;
  for (double s : seconds) ts.push_back(static_cast<double>(n_tokens) / s);
  Stats st;
  for (double x : ts) st.mean += x / static_cast<double>(ts.size());
  for (double x : ts) st.stddev += (x - st.mean) * (x - st.mean);
  st.stddev = ts.size() > 1 ? std::sqrt(st.stddev / static_cast<double>(ts.size() - 1)) : 0;
  std::sort(ts.begin(), ts.end());
  st.median = ts.size() % 2 ? ts[ts.size() / 2] : (ts[ts.size() / 2 - 1] + ts[ts.size() / 2]) / 2;
  return st;
}

std::string human_size(uint64_t b) {
  return b >= (1ull << 30) ? fmt::format("{:.2f} GiB", static_cast<double>(b) / (1ull << 30))
                           : fmt::format("{:.2f} MiB", static_cast<double>(b) / (1ull << 20));
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int bench(BenchArgs& a) {
  const bool any_test = std::any_of(a.n_prompt.begin(), a.n_prompt.end(), [](int64_t n) { return n > 0; }) ||
                        std::any_of(a.n_gen.begin(), a.n_gen.end(), [](int64_t n) { return n > 0; });
  if (a.models.empty() && (any_test || !a.roofline))
    throw UsageError("give at least one model with -m (or --roofline -p 0 -n 0 to measure only the machine)");
  if (a.threads.empty()) a.threads = {default_thread_count()};
  if (a.repetitions < 1) throw UsageError("-r/--repetitions must be >= 1");
  if (a.n_batch < 1) throw UsageError("-b/--batch-size must be >= 1");
  if (a.output != "md" && a.output != "json") throw UsageError("-o must be md or json");
  for (int t : a.threads)
    if (t < 1) throw UsageError("-t/--threads values must be >= 1");
  for (auto n : a.n_prompt)
    if (n < 0) throw UsageError("-p values must be >= 0");
  for (auto n : a.n_gen)
    if (n < 0) throw UsageError("-n values must be >= 0");

  std::map<int, MachineInfo> machine;
  if (a.roofline)
    for (int t : a.threads) {
      std::fprintf(stderr, "measuring the roofline on %d thread(s)...\n", t);
      machine[t] = measure_machine(t);
    }

  std::vector<ModelFacts> facts;
  std::vector<Result> results;
  facts.reserve(a.models.size());
  for (const auto& path : any_test ? a.models : std::vector<std::string>{}) {
    auto model = LoadedModel::open(path);
    facts.push_back(model_facts(*model, path));
    const ModelFacts& f = facts.back();
    std::vector<std::pair<int64_t, int64_t>> tests;
    for (auto p : a.n_prompt)
      if (p > 0) tests.emplace_back(p, 0);
    for (auto n : a.n_gen)
      if (n > 0) tests.emplace_back(0, n);
    for (int t : a.threads)
      for (const auto& tk : a.types_k)
        for (const auto& tv : a.types_v)
          for (auto [np, ng] : tests) {
            const int64_t n = np + ng;
            EngineOptions eo;
            eo.n_ctx = n;
            eo.n_batch = std::min(a.n_batch, std::max<int64_t>(np, 1));
            eo.n_threads = t;
            eo.cache_type_k = tk;
            eo.cache_type_v = tv;
            eo.prefix_cache = false;  // each repetition computes its prompt, as llama-bench's do
            auto engine = model->new_engine(eo);
            const auto tokens = random_tokens(f, n, 42);
            Result r{&f, t, tk, tv, np, ng, {}, now_iso8601()};
            std::fprintf(stderr, "%s, %d thread(s), cache %s/%s, %s%lld...\n", path.c_str(), t, tk.c_str(),
                         tv.c_str(), np ? "pp" : "tg", static_cast<long long>(n));
            if (a.warmup) run_once(*engine, tokens, ng > 0);
            // Decode against the bandwidth of the moment: the larger of a probe
            // right before and one right after the timed runs.
            if (a.roofline && ng > 0) r.read_gbps = measure_read_bandwidth(t, 3);
            for (int rep = 0; rep < a.repetitions; ++rep) r.seconds.push_back(run_once(*engine, tokens, ng > 0));
            if (a.roofline && ng > 0) r.read_gbps = std::max(r.read_gbps, measure_read_bandwidth(t, 3));
            results.push_back(std::move(r));
          }
  }

  if (a.output == "json") {
    nlohmann::json out = nlohmann::json::array();
    if (!any_test)  // --roofline alone: one record per thread count, the machine's limits
      for (const auto& [t, m] : machine)
        out.push_back({{"cpu_info", m.cpu}, {"kernels", m.kernel_isa}, {"n_threads", t},
                       {"roofline_read_gbps", m.read_gbps}, {"roofline_fma_gflops", m.fma_gflops},
                       {"roofline_int8_gops", m.int8_gops}, {"roofline_bf16_gflops", m.bf16_gflops}});
    for (const auto& r : results) {
      const int64_t n = r.n_prompt + r.n_gen;
      const Stats st = rate_stats(r.seconds, n);
      std::vector<int64_t> ns;
      std::vector<double> ts;
      for (double s : r.seconds) ns.push_back(static_cast<int64_t>(s * 1e9)), ts.push_back(static_cast<double>(n) / s);
      double avg_ns = 0, sd_ns = 0;
      for (auto x : ns) avg_ns += static_cast<double>(x) / static_cast<double>(ns.size());
      for (auto x : ns) sd_ns += (static_cast<double>(x) - avg_ns) * (static_cast<double>(x) - avg_ns);
      sd_ns = ns.size() > 1 ? std::sqrt(sd_ns / static_cast<double>(ns.size() - 1)) : 0;
      nlohmann::json j = {
          {"build_commit", "tessera"}, {"cpu_info", machine.count(r.threads) ? machine[r.threads].cpu : ""},
          {"backends", "CPU"}, {"model_filename", r.model->path}, {"model_type", r.model->name},
          {"model_size", r.model->size}, {"model_n_params", r.model->n_params}, {"n_batch", a.n_batch},
          {"n_threads", r.threads}, {"type_k", r.type_k}, {"type_v", r.type_v}, {"n_prompt", r.n_prompt},
          {"n_gen", r.n_gen}, {"test_time", r.test_time}, {"avg_ns", static_cast<int64_t>(avg_ns)},
          {"stddev_ns", static_cast<int64_t>(sd_ns)}, {"avg_ts", st.mean}, {"stddev_ts", st.stddev},
          {"median_ts", st.median}, {"samples_ns", ns}, {"samples_ts", ts}};
      if (machine.count(r.threads)) {
        const MachineInfo& m = machine[r.threads];
        j["roofline_read_gbps"] = r.n_gen ? r.read_gbps : m.read_gbps;
        j["roofline_fma_gflops"] = m.fma_gflops;
        j["roofline_int8_gops"] = m.int8_gops;
        j["roofline_bf16_gflops"] = m.bf16_gflops;
        j["roofline_fraction"] = roofline_fraction(r, st.median, m);
      }
      out.push_back(j);
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }

  if (!machine.empty()) {
    fmt::print("CPU: {}, kernels: {}\n", machine.begin()->second.cpu, machine.begin()->second.kernel_isa);
    for (const auto& [t, m] : machine)
      fmt::print("roofline, {} thread(s): read {:.1f} GB/s, fp32 FMA {:.0f} GFLOP/s, int8 dot {:.0f} Gop/s, "
                 "bf16 dot {:.0f} GFLOP/s\n",
                 t, m.read_gbps, m.fma_gflops, m.int8_gops, m.bf16_gflops);
    fmt::print("\n");
  }
  if (!any_test) return 0;
  fmt::print("| model | size | params | threads | type_k | type_v | test | t/s (mean ± sd) | median t/s |{}\n",
             machine.empty() ? "" : " roofline |");
  fmt::print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |{}\n", machine.empty() ? "" : " ---: |");
  for (const auto& r : results) {
    const Stats st = rate_stats(r.seconds, r.n_prompt + r.n_gen);
    std::string roof;
    if (!machine.empty()) {
      const MachineInfo& m = machine[r.threads];
      if (r.n_gen) {
        const double gbps = static_cast<double>(r.model->bytes_per_token) * st.median / 1e9;
        roof = fmt::format(" {:.1f} GB/s = {:.0f}% of {:.1f} |", gbps, 100 * roofline_fraction(r, st.median, m),
                           r.read_gbps);
      } else {
        double ops = 0;
        for (const ModelFacts::Matrix& x : r.model->matrices) ops += prompt_ops(x, r.n_prompt);
        const double gops = ops / static_cast<double>(r.n_prompt) * st.median / 1e9;
        roof = fmt::format(" {:.0f} Gop/s = {:.0f}% |", gops, 100 * roofline_fraction(r, st.median, m));
      }
    }
    fmt::print("| {} | {} | {:.2f} M | {} | {} | {} | {}{} | {:.2f} ± {:.2f} | {:.2f} |{}\n", r.model->name,
               human_size(r.model->size), static_cast<double>(r.model->n_params) / 1e6, r.threads, r.type_k,
               r.type_v, r.n_prompt ? "pp" : "tg", r.n_prompt ? r.n_prompt : r.n_gen, st.mean, st.stddev, st.median, roof);
  }
  return 0;
}

}  // namespace

Runner add_bench_command(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure prompt-processing (pp) and generation (tg) speed, llama-bench style");
  cmd->add_option("-m,--model", a->models, "Model file(s); repeat or separate with commas")->delimiter(',');
  cmd->add_option("-p,--n-prompt", a->n_prompt, "Prompt lengths (pp tests; 0 skips)")->delimiter(',')->capture_default_str();
  cmd->add_option("-n,--n-gen", a->n_gen, "Generation lengths (tg tests; 0 skips)")->delimiter(',')->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Thread counts (default: all hardware threads)")->delimiter(',');
  cmd->add_option("--cache-type-k", a->types_k, "KV cache types of keys (-ctk): f32, f16, q8_0; a list runs each")
      ->delimiter(',')
      ->check(kv_cache_type_validator())
      ->capture_default_str();
  cmd->add_option("--cache-type-v", a->types_v, "KV cache types of values (-ctv): f32, f16, q8_0; a list runs each")
      ->delimiter(',')
      ->check(kv_cache_type_validator())
      ->capture_default_str();
  cmd->add_option("-r,--repetitions", a->repetitions, "Timed runs per test")->capture_default_str();
  cmd->add_option("-b,--batch-size", a->n_batch, "Prompt tokens per forward pass")->capture_default_str();
  cmd->add_option("-o,--output", a->output, "md (a table) or json (llama-bench's field names)")->capture_default_str();
  cmd->add_flag("--roofline", a->roofline, "Measure memory bandwidth and the compute peaks of the kernels' instructions (fp32 FMA, int8 dot, bf16 dot); report results as fractions of them");
  cmd->add_flag("!--no-warmup", a->warmup, "Skip the untimed warm-up run");
  return [a] { return bench(*a); };
}

}  // namespace tessera::cli
