// Chat-template rendering time (src/chat): parsing a model's template, and
// rendering conversations of growing size with it. Run by hand, e.g.
//   build/release/bench/chat_template_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>
#include <string>

#include "chat/chat_template.h"

namespace {

std::string model_template(const std::string& name) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/tests/data/chat_templates/models/" + name + ".jinja");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const char* const kTemplates[] = {"meta-llama-Llama-3.1-8B-Instruct", "Qwen-Qwen2.5-7B-Instruct", "google-gemma-2-2b-it",
                                  "mistralai-Mistral-Nemo-Instruct-2407"};

// A system message, then `turns` user / assistant pairs of about 1 KiB each.
tessera::chat::Conversation conversation(int turns) {
  tessera::chat::Conversation c;
  c.bos_token = "<s>";
  c.eos_token = "</s>";
  c.messages.push_back({"system", "You are a helpful assistant."});
  const std::string text(1024, 'x');
  for (int i = 0; i < turns; ++i) {
    c.messages.push_back({"user", text});
    c.messages.push_back({"assistant", text});
  }
  c.messages.push_back({"user", "And now?"});
  return c;
}

void Parse(benchmark::State& state) {
  const std::string source = model_template(kTemplates[state.range(0)]);
  for (auto _ : state) benchmark::DoNotOptimize(tessera::chat::ChatTemplate(source));
  state.SetLabel(kTemplates[state.range(0)]);
}
BENCHMARK(Parse)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

void Render(benchmark::State& state) {
  const tessera::chat::ChatTemplate t(model_template(kTemplates[state.range(0)]));
  const tessera::chat::Conversation c = conversation(static_cast<int>(state.range(1)));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string out = t.render(c);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel(kTemplates[state.range(0)]);
}
BENCHMARK(Render)->ArgsProduct({{0, 1, 2, 3}, {1, 100, 1000}})->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
