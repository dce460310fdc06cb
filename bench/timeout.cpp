// polylock benchmarks — how late a timed-out acquire(50 ms) returns.
//
// The lock is held, so every acquire must time out; the goal (design.md §6) is a
// median return between 50 and 55 ms after the call.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "polylock/lock.h"
#include "settings.hpp"
#include "suites.hpp"

namespace bench {
namespace {

constexpr std::int64_t timeout_ns = 50'000'000;

void timeout(benchmark::State& state) {
  lock_t* lock = lock_new();
  lock_acquire(lock, LOCK_WAIT_FOREVER);
  for (auto _ : state) {
    std::vector<double> waited_ms;
    for (int sample = 0; sample < settings().timeout_samples; ++sample) {
      const auto start = std::chrono::steady_clock::now();
      const int status = lock_acquire(lock, timeout_ns);
      const auto end = std::chrono::steady_clock::now();
      if (status != LOCK_TIMEOUT) {
        state.SkipWithError("a held lock was acquired");
        break;
      }
      waited_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
    if (waited_ms.empty()) break;
    std::sort(waited_ms.begin(), waited_ms.end());
    state.SetIterationTime(waited_ms[waited_ms.size() / 2] / 1e3);
    state.counters["median_ms"] = waited_ms[waited_ms.size() / 2];
    state.counters["max_ms"] = waited_ms.back();
    state.counters["samples"] = double(waited_ms.size());
  }
  lock_release(lock);
  lock_free(lock);
}

}  // namespace

void register_timeout() {
  benchmark::RegisterBenchmark("timeout/polylock/50ms", timeout)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace bench
