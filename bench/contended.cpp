// polylock benchmarks — throughput of 1 to 16 threads sharing one lock.
//
// Each thread loops: acquire, ~inside_ns of work, release, ~200 ns of work.
// On a 2-core machine 4, 8 and 16 threads oversubscribe the CPUs, which is
// where a lock's spinning and sleeping choices show.
#include <string>

#include "hammer.hpp"
#include "peers.hpp"
#include "settings.hpp"
#include "suites.hpp"

namespace bench {
namespace {

constexpr std::int64_t outside_ns = 200;

template <class Lock>
void add(int threads, std::int64_t inside_ns) {
  const std::string name = std::string("contended/") + Lock::name + "/threads:" +
                           std::to_string(threads) + "/inside_ns:" + std::to_string(inside_ns);
  benchmark::RegisterBenchmark(name.c_str(),
                               [=](benchmark::State& state) {
                                 hammer<Lock>(state, Shape{threads, settings().window_ms, inside_ns, outside_ns});
                               })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

void register_contended() {
  for (std::int64_t inside_ns : {0, 50, 1000}) {
    for (int threads : {1, 2, 4, 8, 16}) {
      add<PolylockLock>(threads, inside_ns);
      add<StdMutex>(threads, inside_ns);
      add<AdaptivePthreadMutex>(threads, inside_ns);
      add<FutexSemaphore>(threads, inside_ns);
    }
  }
}

}  // namespace bench
