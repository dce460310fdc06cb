// polylock benchmarks — ping-pong: how long a release takes to bring a
// sleeping waiter back from acquire.
//
// Two locks used as binary semaphores (any thread may release), both taken
// at the start. The main thread releases `ping` and acquires `pong`; the
// partner acquires `ping` and releases `pong`. One iteration is one round
// trip, two hand-offs. The raw futex semaphore is the floor: a bare
// FUTEX_WAKE and the return from FUTEX_WAIT, nothing else.
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>
#include <thread>

#include "peers.hpp"
#include "suites.hpp"

namespace bench {
namespace {

template <class Lock>
void ping_pong(benchmark::State& state) {
  Lock ping, pong;
  ping.lock();
  pong.lock();
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    for (;;) {
      ping.lock();
      if (stop.load(std::memory_order_relaxed)) return;
      pong.unlock();
    }
  });
  for (auto _ : state) {
    ping.unlock();
    pong.lock();
  }
  stop.store(true, std::memory_order_relaxed);
  ping.unlock();
  partner.join();
  // Leave both unlocked, as the peers' destructors expect.
  ping.unlock();
  pong.unlock();
}

template <class Lock>
void add() {
  benchmark::RegisterBenchmark((std::string("ping_pong/") + Lock::name).c_str(),
                               ping_pong<Lock>)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

void register_ping_pong() {
  add<PolylockLock>();
  add<FutexSemaphore>();
}

}  // namespace bench
