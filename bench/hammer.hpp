// polylock benchmarks — threads hammering one lock for a fixed window of time.
//
// Fixed time rather than fixed work: a lock that lets one thread hog it is not
// rewarded for finishing early, and the per-thread counts show who got the
// lock (Jain's fairness index). Thread start-up is outside the window.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "work.hpp"

namespace bench {

// Jain's index of `counts`: 1 when all are equal, 1/n when one thread has all.
double jain_index(const std::vector<std::uint64_t>& counts);

struct Shape {
  int threads;
  int window_ms;
  std::int64_t inside_ns;   // work while holding the lock
  std::int64_t outside_ns;  // work between a release and the next acquire
};

// Runs `shape` on a fresh `Lock` for shape.window_ms and reports
// acquisitions per second ("acquires_per_s") and fairness ("jain").
template <class Lock>
void hammer(benchmark::State& state, Shape shape) {
  struct alignas(64) Slot {
    std::uint64_t acquisitions = 0;
  };
  for (auto _ : state) {
    Lock lock;
    std::uint64_t guarded = 0;  // only touched under the lock: checks mutual exclusion
    std::vector<Slot> slots(shape.threads);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false}, stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < shape.threads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        std::uint64_t mine = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          lock.lock();
          ++guarded;
          work_for(shape.inside_ns);
          lock.unlock();
          ++mine;
          work_for(shape.outside_ns);
        }
        slots[t].acquisitions = mine;
      });
    }
    while (ready.load() < shape.threads) std::this_thread::yield();
    const auto start = std::chrono::steady_clock::now();
    go.store(true, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::milliseconds(shape.window_ms));
    stop.store(true, std::memory_order_relaxed);
    const auto end = std::chrono::steady_clock::now();
    for (auto& thread : threads) thread.join();

    std::vector<std::uint64_t> counts;
    std::uint64_t total = 0;
    for (const Slot& slot : slots) {
      counts.push_back(slot.acquisitions);
      total += slot.acquisitions;
    }
    if (total != guarded) {
      state.SkipWithError("lost update: two threads held the lock at once");
      return;
    }
    const double seconds = std::chrono::duration<double>(end - start).count();
    state.SetIterationTime(seconds);
    state.counters["acquires_per_s"] = total / seconds;
    state.counters["jain"] = jain_index(counts);
    state.counters["threads"] = shape.threads;
  }
}

}  // namespace bench
