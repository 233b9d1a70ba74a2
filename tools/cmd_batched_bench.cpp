// tessera batched-bench: many sequences decoded together, in the spirit of
// llama.cpp's llama-batched-bench (same options, same table columns, same
// JSONL field names): for each prompt length PP, generation length TG and
// number of parallel sequences B, the time to prefill B prompts (or one
// shared prompt, forked B ways, with -pps) and then to decode TG tokens in
// each of the B sequences, one token per sequence per step.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "commands.h"
#include "tessera/error.h"
#include "tessera/tessera.h"

namespace tessera::cli {
namespace {

struct BatchedBenchArgs {
  std::string model;
  std::vector<int64_t> n_pp = {128, 512}, n_tg = {128}, n_pl = {1, 2, 4, 8, 16};
  bool shared_prompt = false;
  int64_t n_kv = 0;  // -c: KV pool in tokens (0: what the largest row needs)
  int64_t n_batch = 512;
  int threads = 0;
  int repetitions = 1;
  std::string type_k = "f16", type_v = "f16";
  std::string output = "md";
};

struct Row {
  int64_t pp, tg, pl, n_kv;
  double t_pp, t_tg;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// KV positions a row holds at its end.
int64_t kv_of(int64_t pp, int64_t tg, int64_t pl, bool shared) { return shared ? pp + pl * tg : pl * (pp + tg); }

// One run: B prompts (or one, forked), then TG steps of B decode tokens.
std::pair<double, double> run_once(Engine& engine, int64_t pp, int64_t tg, int64_t pl, bool shared, int32_t n_vocab) {
  std::mt19937 rng(42);
  auto some_tokens = [&](int64_t n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = static_cast<int32_t>(1 + rng() % static_cast<uint32_t>(n_vocab - 1));
    return t;
  };
  std::vector<SequenceId> seqs;
  for (int64_t i = 0; i < (shared ? 1 : pl); ++i) {
    seqs.push_back(engine.add_sequence());
    engine.feed(seqs.back(), some_tokens(pp));
  }
  auto t0 = std::chrono::steady_clock::now();
  while (engine.has_pending()) {
    const StepStats s = engine.step();
    if (!s.failed.empty()) throw Error(engine.info(s.failed.front()).error);
  }
  if (shared)
    while (static_cast<int64_t>(seqs.size()) < pl) seqs.push_back(engine.fork(seqs.front(), {}));
  const double t_pp = seconds_since(t0);

  const std::vector<int32_t> next = some_tokens(tg);
  t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < tg; ++i) {
    for (SequenceId s : seqs) engine.feed(s, {next[static_cast<size_t>(i)]});
    const StepStats st = engine.step();
    if (!st.failed.empty()) throw Error(engine.info(st.failed.front()).error);
  }
  const double t_tg = seconds_since(t0);
  for (SequenceId s : seqs) engine.remove(s);
  return {t_pp, t_tg};
}

int batched_bench(BatchedBenchArgs& a) {
  if (a.output != "md" && a.output != "jsonl") throw UsageError("--output-format must be md or jsonl");
  if (a.repetitions < 1) throw UsageError("-r/--repetitions must be >= 1");
  if (a.n_batch < 1) throw UsageError("-b/--batch-size must be >= 1");
  if (a.threads < 0) throw UsageError("-t/--threads must be >= 1");
  for (const auto* list : {&a.n_pp, &a.n_tg, &a.n_pl})
    for (int64_t v : *list)
      if (v < 1) throw UsageError("-npp, -ntg and -npl values must be >= 1");
  if (a.n_kv < 0) throw UsageError("-c/--ctx-size must be >= 0");

  int64_t max_kv = 0, max_seq = 0;
  for (int64_t pp : a.n_pp)
    for (int64_t tg : a.n_tg)
      for (int64_t pl : a.n_pl) {
        max_kv = std::max(max_kv, kv_of(pp, tg, pl, a.shared_prompt));
        max_seq = std::max(max_seq, pp + tg);
      }
  auto model = LoadedModel::open(a.model);
  EngineOptions eo;
  eo.n_ctx = max_seq;
  eo.n_batch = a.n_batch;
  eo.n_threads = a.threads;
  // Whole blocks per sequence, and a block more each for copy-on-write forks.
  const int64_t pl_max = *std::max_element(a.n_pl.begin(), a.n_pl.end());
  eo.kv_tokens = a.n_kv > 0 ? a.n_kv : max_kv + pl_max * 64;
  eo.cache_type_k = a.type_k;
  eo.cache_type_v = a.type_v;
  eo.prefix_cache = false;  // every prompt is computed, as llama-batched-bench's are
  auto engine = model->new_engine(eo);
  const int threads = a.threads > 0 ? a.threads : default_thread_count();

  if (a.output == "md") {
    fmt::print("\nmain: n_kv_max = {}, n_batch = {}, is_pp_shared = {}, n_threads = {}, kernels = {}\n\n",
               eo.kv_tokens, a.n_batch, a.shared_prompt ? 1 : 0, threads, model->summary().kernel_isa);
    fmt::print("|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |\n");
    fmt::print("|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|\n");
  }
  run_once(*engine, std::min<int64_t>(a.n_pp.front(), 32), std::min<int64_t>(a.n_tg.front(), 4), 1, false,
           engine->n_vocab());  // warm-up
  for (int64_t pp : a.n_pp)
    for (int64_t tg : a.n_tg)
      for (int64_t pl : a.n_pl) {
        const int64_t n_kv = kv_of(pp, tg, pl, a.shared_prompt);
        if (n_kv > eo.kv_tokens) {
          std::fprintf(stderr, "skipping pp %lld, tg %lld, pl %lld: needs %lld KV positions, the pool has %lld\n",
                       static_cast<long long>(pp), static_cast<long long>(tg), static_cast<long long>(pl),
                       static_cast<long long>(n_kv), static_cast<long long>(eo.kv_tokens));
          continue;
        }
        std::vector<double> pps, tgs;
        for (int r = 0; r < a.repetitions; ++r) {
          const auto [t_pp, t_tg] = run_once(*engine, pp, tg, pl, a.shared_prompt, engine->n_vocab());
          pps.push_back(t_pp);
          tgs.push_back(t_tg);
        }
        const double t_pp = median(pps), t_tg = median(tgs), t = t_pp + t_tg;
        const double speed_pp = static_cast<double>(a.shared_prompt ? pp : pl * pp) / t_pp;
        const double speed_tg = static_cast<double>(pl * tg) / t_tg;
        const double speed = static_cast<double>(n_kv) / t;
        if (a.output == "jsonl") {
          const nlohmann::json j = {{"n_kv_max", eo.kv_tokens}, {"n_batch", a.n_batch}, {"n_ubatch", a.n_batch},
                                    {"flash_attn", 1}, {"is_pp_shared", a.shared_prompt ? 1 : 0},
                                    {"n_gpu_layers", 0}, {"n_threads", threads}, {"n_threads_batch", threads},
                                    {"pp", pp}, {"tg", tg}, {"pl", pl}, {"n_kv", n_kv}, {"t_pp", t_pp},
                                    {"speed_pp", speed_pp}, {"t_tg", t_tg}, {"speed_tg", speed_tg}, {"t", t},
                                    {"speed", speed}};
          fmt::print("{}\n", j.dump());
        } else {
          fmt::print("| {:5} | {:6} | {:4} | {:6} | {:8.3f} | {:8.2f} | {:8.3f} | {:8.2f} | {:8.3f} | {:8.2f} |\n", pp,
                     tg, pl, n_kv, t_pp, speed_pp, t_tg, speed_tg, t, speed);
        }
        std::fflush(stdout);
      }
  return 0;
}

}  // namespace

Runner add_batched_bench_command(CLI::App& app) {
  auto a = std::make_shared<BatchedBenchArgs>();
  auto* cmd = app.add_subcommand("batched-bench",
                                 "Measure many sequences decoded together (llama-batched-bench's table and fields)");
  cmd->add_option("-m,--model", a->model, "Model file")->required();
  cmd->add_option("--npp", a->n_pp, "Prompt lengths (-npp), comma-separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--ntg", a->n_tg, "Tokens generated per sequence (-ntg)")->delimiter(',')->capture_default_str();
  cmd->add_option("--npl", a->n_pl, "Parallel sequences (-npl)")->delimiter(',')->capture_default_str();
  cmd->add_flag("--pps", a->shared_prompt, "One shared prompt, forked to every sequence (-pps)");
  cmd->add_option("-c,--ctx-size", a->n_kv, "KV pool in tokens (0: what the largest row needs)")->capture_default_str();
  cmd->add_option("-b,--batch-size", a->n_batch, "Tokens per forward pass")->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Threads (0: all hardware threads)")->capture_default_str();
  cmd->add_option("-r,--repetitions", a->repetitions, "Runs per row; times are medians")->capture_default_str();
  add_cache_type_options(cmd, a->type_k, a->type_v);
  cmd->add_option("--output-format", a->output, "md (a table) or jsonl (one JSON object per row)")
      ->capture_default_str();
  return [a] { return batched_bench(*a); };
}

}  // namespace tessera::cli
