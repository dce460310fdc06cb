// polylock benchmarks — named locks (docs/named-locks.md), against what a
// user would otherwise pick, as ratios in one run (docs/benchmarks.md):
//
//   uncontended/named_polylock   lock_acquire + lock_release on a named lock
//   uncontended/polylock         the same on an in-process lock (goal: named <= 1.2x)
//   uncontended/flock            flock(LOCK_EX) + flock(LOCK_UN) on a file, what
//                                file-lock packages do (goal: named >= 20x faster)
//   ping_pong_processes/named_polylock   a round trip between two processes
//   ping_pong_processes/raw_futex        the same on a bare shared futex (goal: <= 1.3x)
//   owner_dead_latency           SIGKILL of the holder -> a blocked waiter's
//                                LOCK_OWNERDEAD; the median is the counter
//                                median_ms (goal: <= 100 ms)
//
// Usage: polylock_bench_named [--benchmark_* flags]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "polylock/lock.h"

namespace {

std::string unique_name(const char* what) {
  return std::string("bench-") + std::to_string(getpid()) + "-" + what;
}

struct NamedLock {
  static constexpr const char* name = "named_polylock";
  explicit NamedLock(const char* what = "lock") : label(unique_name(what)) {
    int status = 0;
    handle = lock_open(label.c_str(), &status);
    if (!handle) {
      std::fprintf(stderr, "lock_open: %s\n", lock_strerror(status));
      std::abort();
    }
  }
  ~NamedLock() {
    lock_free(handle);
    lock_unlink(label.c_str());
  }
  NamedLock(const NamedLock&) = delete;
  NamedLock& operator=(const NamedLock&) = delete;
  void lock() { lock_acquire(handle, LOCK_WAIT_FOREVER); }
  void unlock() { lock_release(handle); }
  std::string label;
  lock_t* handle;
};

struct InProcessLock {
  static constexpr const char* name = "polylock";
  InProcessLock() : handle(lock_new()) {}
  ~InProcessLock() { lock_free(handle); }
  InProcessLock(const InProcessLock&) = delete;
  InProcessLock& operator=(const InProcessLock&) = delete;
  void lock() { lock_acquire(handle, LOCK_WAIT_FOREVER); }
  void unlock() { lock_release(handle); }
  lock_t* handle;
};

struct FileLock {
  static constexpr const char* name = "flock";
  FileLock() : path("/tmp/" + unique_name("flock")) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }
  ~FileLock() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  void lock() { flock(fd, LOCK_EX); }
  void unlock() { flock(fd, LOCK_UN); }
  std::string path;
  int fd;
};

template <class Lock>
void uncontended(benchmark::State& state) {
  Lock lock;
  for (auto _ : state) {
    lock.lock();
    lock.unlock();
  }
}

// bench/peers.hpp's FutexSemaphore in shared memory, with shared (not
// private) futex calls: the floor for a wake from one process to another.
struct SharedFutex {
  static constexpr const char* name = "raw_futex";
  std::atomic<std::uint32_t> word{0};
  void lock() {
    std::uint32_t seen = 0;
    if (word.compare_exchange_strong(seen, 1, std::memory_order_acquire)) return;
    if (seen != 2) seen = word.exchange(2, std::memory_order_acquire);
    while (seen != 0) {
      syscall(SYS_futex, &word, FUTEX_WAIT, 2, nullptr, nullptr, 0);
      seen = word.exchange(2, std::memory_order_acquire);
    }
  }
  void unlock() {
    if (word.fetch_sub(1, std::memory_order_release) != 1) {
      word.store(0, std::memory_order_release);
      syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
    }
  }
};

// Two locks used as binary semaphores between this process and a forked
// partner (bench/ping_pong.cpp, across processes): one iteration is one
// round trip, two hand-offs.
struct SharedFutexPair {
  static constexpr const char* name = "raw_futex";
  SharedFutexPair() {
    void* memory = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ping = new (memory) SharedFutex;
    pong = new (static_cast<char*>(memory) + 64) SharedFutex;
  }
  ~SharedFutexPair() { munmap(ping, 4096); }
  SharedFutexPair(const SharedFutexPair&) = delete;
  SharedFutexPair& operator=(const SharedFutexPair&) = delete;
  void lock_ping() { ping->lock(); }
  void unlock_ping() { ping->unlock(); }
  void lock_pong() { pong->lock(); }
  void unlock_pong() { pong->unlock(); }
  SharedFutex* ping;
  SharedFutex* pong;
};

struct NamedPair {
  static constexpr const char* name = "named_polylock";
  NamedPair() : ping("ping"), pong("pong") {}
  void lock_ping() { ping.lock(); }
  void unlock_ping() { ping.unlock(); }
  void lock_pong() { pong.lock(); }
  void unlock_pong() { pong.unlock(); }
  NamedLock ping;
  NamedLock pong;
};

template <class Pair>
void ping_pong_processes(benchmark::State& state) {
  Pair pair;
  auto* stop = static_cast<std::atomic<int>*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  stop->store(0);
  pair.lock_ping();
  pair.lock_pong();
  const pid_t partner = fork();
  if (partner == 0) {
    for (;;) {
      pair.lock_ping();
      if (stop->load(std::memory_order_relaxed)) _exit(0);
      pair.unlock_pong();
    }
  }
  for (auto _ : state) {
    pair.unlock_ping();
    pair.lock_pong();
  }
  stop->store(1);
  pair.unlock_ping();
  waitpid(partner, nullptr, 0);
  pair.unlock_pong();  // the partner exited holding ping: a named lock would
  munmap(stop, 4096);  // call that a dead holder; the lock goes away anyway
}

std::int64_t now_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Each iteration: a child takes the lock and stays; a thread of this process
// blocks in lock_acquire; once it has slept a while (as a real waiter would
// have), the child is SIGKILLed, and the time to the waiter's return with
// LOCK_OWNERDEAD is the sample.
void owner_dead_latency(benchmark::State& state) {
  NamedLock lock("dead");
  std::vector<double> samples;
  for (auto _ : state) {
    int ready[2];
    if (pipe(ready) != 0) std::abort();
    const pid_t holder = fork();
    if (holder == 0) {
      lock.lock();
      char byte = 1;
      if (write(ready[1], &byte, 1) != 1) _exit(1);
      for (;;) pause();
    }
    char byte = 0;
    if (read(ready[0], &byte, 1) != 1) std::abort();
    close(ready[0]);
    close(ready[1]);
    std::atomic<std::int64_t> returned{0};
    int status = 0;
    std::thread waiter([&] {
      status = lock_acquire(lock.handle, LOCK_WAIT_FOREVER);
      returned.store(now_ns());
    });
    // Blocked for 100-300 ms first: the waiter is then well into its
    // slowest checks, not favoured by the quick first ones.
    usleep(100000 + static_cast<useconds_t>(samples.size() % 5) * 50000);
    const std::int64_t killed = now_ns();
    kill(holder, SIGKILL);
    waiter.join();
    waitpid(holder, nullptr, 0);
    if (status != LOCK_OWNERDEAD) state.SkipWithError("the waiter did not get LOCK_OWNERDEAD");
    const double ms = static_cast<double>(returned.load() - killed) / 1e6;
    samples.push_back(ms);
    state.SetIterationTime(ms / 1e3);
    lock.unlock();
  }
  std::sort(samples.begin(), samples.end());
  if (!samples.empty()) {
    state.counters["median_ms"] = samples[samples.size() / 2];
    state.counters["max_ms"] = samples.back();
  }
}

}  // namespace

int main(int argc, char** argv) {
  // As bench/main.cpp: a process that never had a second thread skips atomic
  // instructions in places, which would flatter some peers.
  std::thread([] {}).join();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RegisterBenchmark("uncontended/named_polylock", uncontended<NamedLock>);
  benchmark::RegisterBenchmark("uncontended/polylock", uncontended<InProcessLock>);
  benchmark::RegisterBenchmark("uncontended/flock", uncontended<FileLock>);
  benchmark::RegisterBenchmark("ping_pong_processes/named_polylock", ping_pong_processes<NamedPair>)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("ping_pong_processes/raw_futex",
                               ping_pong_processes<SharedFutexPair>)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("owner_dead_latency", owner_dead_latency)
      ->UseManualTime()
      ->Iterations(21)
      ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
