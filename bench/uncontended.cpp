// polylock benchmarks — uncontended acquire + release: the cost every caller pays.
#include <benchmark/benchmark.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
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

// A lock made by another copy of the library (a second libpolylock.so.1,
// built beside the benchmark and opened by path with RTLD_LOCAL, as a wheel's
// or a jar's copy would be), used through this program's own copy: design.md §6's
// "a lock shared from another library copy" against the same lock used by
// the copy that made it (uncontended/polylock).
void foreign_copy(benchmark::State& state) {
  void* copy = dlopen(POLYLOCK_BENCH_OTHER_COPY, RTLD_NOW | RTLD_LOCAL);
  void* symbol = copy ? dlsym(copy, "lock_new") : nullptr;
  if (!symbol) {
    state.SkipWithError("the other copy of libpolylock could not be opened");
    return;
  }
  lock_t* (*other_new)(void);
  std::memcpy(&other_new, &symbol, sizeof symbol);
  lock_t* lock = other_new();
  for (auto _ : state) {
    lock_acquire(lock, LOCK_WAIT_FOREVER);
    lock_release(lock);
  }
  lock_free(lock);  // forwarded to the maker, like every call on the slow path
}

}  // namespace

void register_uncontended() {
  benchmark::RegisterBenchmark("uncontended/polylock_foreign_copy", foreign_copy);
  add<PolylockLock>();
  add<StdMutex>();
  add<AdaptivePthreadMutex>();
  add<FutexSemaphore>();
}

}  // namespace bench
