// Proves Google Benchmark links (built by `bazel test //...`, not run).
#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"

namespace {

void BM_StringAppend(benchmark::State& state) {
  for (auto _ : state) {
    std::string s;
    for (int64_t i = 0; i < state.range(0); ++i) s.push_back('x');
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StringAppend)->Arg(64)->Arg(4096);

}  // namespace
