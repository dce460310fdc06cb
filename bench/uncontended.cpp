// polylock benchmarks — uncontended acquire + release: the cost every caller pays.
#include <benchmark/benchmark.h>

#include <string>

#include "peers.hpp"
#include "suites.hpp"

namespace bench {
namespace {

template <class Lock>
void uncontended(benchmark::State& state) {
  Lock lock;
  for (auto _ : state) {
    lock.lock();
    lock.unlock();
  }
}

template <class Lock>
void add() {
  benchmark::RegisterBenchmark((std::string("uncontended/") + Lock::name).c_str(),
                               uncontended<Lock>);
}

}  // namespace

void register_uncontended() {
  add<PolylockLock>();
  add<StdMutex>();
  add<AdaptivePthreadMutex>();
  add<FutexSemaphore>();
}

}  // namespace bench
