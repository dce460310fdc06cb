// polylock benchmarks — the locks under test, behind one lock()/unlock() face.
//
// Polylock is called through its C ABI, exactly as a C user would, so every
// number includes the call into libpolylock.so. The peers are what a user
// would otherwise pick: std::mutex, glibc's adaptive (spinning) mutex, and a
// minimal futex lock, which is also the floor for how fast a wake can be.
#pragma once

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "polylock/lock.h"

namespace bench {

struct PolylockLock {
  static constexpr const char* name = "polylock";
  PolylockLock() : handle(lock_new()) {}
  ~PolylockLock() { lock_free(handle); }
  PolylockLock(const PolylockLock&) = delete;
  PolylockLock& operator=(const PolylockLock&) = delete;
  void lock() { lock_acquire(handle, LOCK_WAIT_FOREVER); }
  void unlock() { lock_release(handle); }
  lock_t* handle;
};

struct StdMutex {
  static constexpr const char* name = "std_mutex";
  void lock() { mutex.lock(); }
  void unlock() { mutex.unlock(); }
  std::mutex mutex;
};

// glibc's PTHREAD_MUTEX_ADAPTIVE_NP spins a while (up to 100 tries, adapted
// to past waits) before it sleeps: the closest peer to polylock's own spin.
struct AdaptivePthreadMutex {
  static constexpr const char* name = "pthread_adaptive";
  AdaptivePthreadMutex() {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
  }
  ~AdaptivePthreadMutex() { pthread_mutex_destroy(&mutex); }
  AdaptivePthreadMutex(const AdaptivePthreadMutex&) = delete;
  AdaptivePthreadMutex& operator=(const AdaptivePthreadMutex&) = delete;
  void lock() { pthread_mutex_lock(&mutex); }
  void unlock() { pthread_mutex_unlock(&mutex); }
  pthread_mutex_t mutex;
};

// A binary semaphore on a raw futex, no spinning and nothing else (Drepper's
// "Futexes Are Tricky", mutex 3): 0 free, 1 taken, 2 taken with sleepers.
// Any thread may release it, so it also serves as the ping-pong floor.
struct FutexSemaphore {
  static constexpr const char* name = "raw_futex";
  void lock() {
    std::uint32_t seen = 0;
    if (word.compare_exchange_strong(seen, 1, std::memory_order_acquire)) return;
    if (seen != 2) seen = word.exchange(2, std::memory_order_acquire);
    while (seen != 0) {
      syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
      seen = word.exchange(2, std::memory_order_acquire);
    }
  }
  void unlock() {
    if (word.fetch_sub(1, std::memory_order_release) != 1) {
      word.store(0, std::memory_order_release);
      syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
  }
  std::atomic<std::uint32_t> word{0};
};

}  // namespace bench
