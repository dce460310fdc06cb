// polylock core — the lock: a binary semaphore with Python's Lock semantics.
//
// One 32-bit word holds the lock's state: locked_bit, has_parked_bit,
// waking_bit and sleeper_bit. The uncontended paths are a single
// compare-and-swap each and inline into their callers; everything else (spin,
// sleep, park, wake, hand-off) lives out of line in lock.cpp.
//
// Waiters queue off the lock word, in a parking lot (lock.cpp): a fixed table
// of buckets keyed by the lock's address, each with a lock of its own and a
// list of waiters in the order they first parked. Each waiter sleeps on a
// word of its own (Waiter::signal), so a release wakes exactly the waiter it
// chose, and the lock word sees one read-modify-write to take the lock and
// one to give it back even under contention. Under light contention a
// waiter first sleeps on the lock word itself for up to 1 ms (sleeper_bit),
// as glibc's waiters do. See lock.cpp for the protocol.
#pragma once

#include <atomic>
#include <cstdint>

namespace polylock::core {

// What an acquire reports. The C ABI maps these to its status codes.
enum class Acquired { yes, timed_out, stopped };

// Asked on a waiting thread whether to give up an interruptible wait.
using StopFn = int (*)(void* context);

struct Waiter;
enum class WaitEnd;

// Marks the calling thread as in a busy stretch, so that its next contended
// acquire yields and then queues in the parking lot, rather than sleeping on
// the lock word first (lock.cpp): for tests of the queue.
void assume_busy_stretch() noexcept;

class Lock {
 public:
  Lock() noexcept = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Takes the lock if it is free; never waits.
  bool try_acquire() noexcept {
    std::uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, locked_bit, std::memory_order_acquire,
                                          std::memory_order_relaxed) ||
           try_acquire_contended(expected);
  }

  // Takes the lock, waiting at most `timeout_ns` (>= 0), or forever for -1.
  // With a `stop` function the wait is interruptible (see interrupt()).
  Acquired acquire(std::int64_t timeout_ns, StopFn stop = nullptr,
                   void* context = nullptr) noexcept {
    std::uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, locked_bit, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      return Acquired::yes;
    return acquire_slow(timeout_ns, stop, context);
  }

  // Unlocks, from any thread. False (and nothing changes) if it was unlocked.
  bool release() noexcept {
    std::uint32_t expected = locked_bit;
    return state_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                          std::memory_order_relaxed) ||
           release_slow();
  }

  // A snapshot: the state may change before the caller acts on it.
  bool locked() const noexcept { return state_.load(std::memory_order_relaxed) & locked_bit; }

  // Whether a thread is parked waiting (a snapshot, for tests and tuning).
  bool has_parked_waiters() const noexcept {
    return state_.load(std::memory_order_relaxed) & has_parked_bit;
  }

  // Whether a thread sleeps on the lock word (a snapshot, for tests).
  bool has_sleepers() const noexcept {
    return state_.load(std::memory_order_relaxed) & sleeper_bit;
  }

  // The state word's values when nobody waits, and the word itself: a
  // binding's fast path (lock.h, lock_fast_word) may CAS it from free_word to
  // held_word and back, exactly as acquire() and release() do inline here.
  // With has_parked_bit, waking_bit or sleeper_bit set the word is never
  // held_word, so such a CAS from held_word fails and the binding calls the
  // library, which wakes a waiter if one must be woken.
  static constexpr std::uint32_t free_word = 0;
  static constexpr std::uint32_t held_word = 1;  // locked_bit alone
  std::atomic<std::uint32_t>* state_word() noexcept {
    static_assert(sizeof(state_) == sizeof(std::uint32_t) &&
                      std::atomic<std::uint32_t>::is_always_lock_free,
                  "the state word is a plain 32-bit word to other languages");
    return &state_;
  }

  // Makes every interruptible waiter ask its stop function.
  void interrupt() noexcept;

  // Back to unlocked with no waiters, for a child after fork(). The child's
  // parking lot is emptied at fork() itself (lock.cpp), so that the waiters
  // of threads that did not survive it are gone for every lock.
  void reinit() noexcept;

 private:
  // The bits of state_, named for what they promise.
  static constexpr std::uint32_t locked_bit = 1;      // someone holds the lock
  static constexpr std::uint32_t has_parked_bit = 2;  // a waiter for it is in the parking lot
  // A release woke a waiter (without handing it the lock) that has not yet
  // run: releases meanwhile wake nobody more, unless that wake is stale or
  // a hand-off is due (lock.cpp).
  static constexpr std::uint32_t waking_bit = 4;
  // A thread sleeps on the state word itself (the sleeper tier, lock.cpp),
  // not in the parking lot. Set only while locked_bit is: a release that
  // clears locked_bit clears it in the same read-modify-write and then wakes
  // one thread sleeping on the word.
  static constexpr std::uint32_t sleeper_bit = 8;

  bool try_acquire_contended(std::uint32_t seen) noexcept;
  bool try_acquire_slow() noexcept;
  Acquired acquire_slow(std::int64_t timeout_ns, StopFn stop, void* context) noexcept;
  bool release_slow() noexcept;
  bool must_wake(std::uint32_t seen) noexcept;
  bool spin_for_unlock() noexcept;
  enum class Slept { acquired, timed_out, gave_up };
  Slept sleep_on_word(std::int64_t give_up, std::int64_t deadline) noexcept;
  bool release_clearing(std::uint32_t& seen, std::uint32_t next) noexcept;
  void wake_sleeper(std::uint32_t replaced) noexcept;
  bool mark_parked(bool queue_empty) noexcept;
  bool take_after_wake() noexcept;
  bool leave_queue(Waiter& waiter, std::uint32_t& signal) noexcept;
  void note_first_waiter(const Waiter* first) noexcept;
  WaitEnd wait_in_queue(Waiter& waiter, std::int64_t deadline) noexcept;

  std::atomic<std::uint32_t> state_{0};
  // interrupt() calls, wrapping; written under the lock's bucket lock, read
  // without it by a waiter about to ask its stop function.
  std::atomic<std::uint32_t> interrupts_{0};
  // Releases that woke nobody because waking_bit was set, since the last look
  // at the clock. Written only by releases, which the lock itself
  // serialises: a relaxed load and store, no read-modify-write.
  std::atomic<std::uint32_t> quiet_releases_{0};
  // When the first of this lock's parked waiters first parked (monotonic ns),
  // or 0 when none is parked; written under the bucket lock, read by a
  // release that woke nobody for quiet_limit releases.
  std::atomic<std::int64_t> first_parked_since_{0};
  // When a release last woke a waiter without handing it the lock (monotonic
  // ns); written under the bucket lock before that release's last CAS, read
  // by releases that find waking_bit set, to tell a wake that is still on
  // its way from one whose waiter is late, descheduled or stopped, for
  // stale_wake_ns (lock.cpp).
  std::atomic<std::int64_t> woke_at_{0};
};

}  // namespace polylock::core
