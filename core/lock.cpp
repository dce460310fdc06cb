// polylock core — the lock's slow paths.
//
// The protocol, in the words of the state bits (lock.hpp):
//
// * Acquire sets locked_bit with a CAS. A newcomer may take a free lock ahead
//   of parked waiters ("barging"): that keeps the uncontended path one CAS and
//   lets a running thread use the lock while a woken one is still waking up.
// * A thread that cannot take the lock spins briefly, then takes the queue
//   guard (queue_bit), appends a Waiter to the FIFO queue, sets
//   has_waiters_bit and sleeps on its own Waiter::signal.
// * A release that sees has_waiters_bit (or the guard held) takes the guard,
//   unlinks the head waiter and marks it `pending` (so a waiter that times out
//   knows it has left the queue already). Then, in the same atomic step that
//   drops the guard, it either clears locked_bit (the waiter is `woken` and
//   retries, and may lose to a barger) or, when the waiter has waited for
//   fair_after_ns, keeps it set: ownership is `handed_off` straight to the
//   waiter, so the releasing thread cannot take the lock back at once. That
//   is the eventual fairness: nobody waits much longer than 1 ms while the lock
//   keeps being released.
// * Whoever holds the guard knows that locked_bit cannot be cleared under it:
//   the fast release needs the state to be exactly locked_bit, and the slow
//   one takes the guard. So a release under the guard can tell a double
//   release (an error that changes nothing) from a real one.
// * After the step that drops the guard, a release touches only the waiter it
//   chose, never the lock: the new owner may free the lock at once.
// * A stop function is asked only while its thread is out of the queue and
//   holds nothing: before the first sleep, and after a disturbance (a signal
//   handler ran, or interrupt()) has taken the waiter out of the queue. So
//   the code it runs (Python's signal handlers, say) may use this very lock
//   as it would outside the wait: no release can hand the lock to a wait
//   that is suspended in its stop function. A waiter that carries on queues
//   again in the order of its first park, keeping its place and its age for
//   the hand-off.
#include "lock.hpp"

#include "wait.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace polylock::core {
namespace {

// A waiter parked this long gets the lock handed to it by the next release.
constexpr std::int64_t fair_after_ns = 1'000'000;

// Polls of the state word before parking, one pause each (about 35 ns on the
// 2-core AMD EPYC of docs/benchmarks.md, where the sweep that chose it is).
// Long enough to outlast a short critical section, short next to a futex
// wake: a longer spin keeps the spinner's CPU busy just when the kernel
// would run the thread it has woken there, and hand-offs get slower.
constexpr int spin_limit = 10;

// Values of Waiter::signal.
enum Signal : std::uint32_t {
  parked = 0,       // queued and sleeping
  interrupted = 1,  // queued; lock_interrupt asks it to consult its stop function
  pending = 2,      // unlinked by a release that has yet to say what it gives
  woken = 3,        // unlinked; the lock was freed for it to try again
  handed_off = 4,   // unlinked; it owns the lock now
};

}  // namespace

// How a wait in the queue ended.
enum class WaitEnd {
  acquired,    // this waiter holds the lock (handed off to it, or taken)
  woken,       // a release freed the lock for this waiter to try again
  timed_out,   // the deadline passed; the waiter has left the queue
  disturbed,   // an interruptible waiter was disturbed and has left the queue
};

namespace {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

struct Waiter {
  std::atomic<std::uint32_t> signal{parked};
  Waiter* next = nullptr;
  Waiter* prev = nullptr;
  bool interruptible = false;
  std::int64_t parked_since = 0;  // set at the first park, kept across re-parks
};

bool Lock::try_acquire_contended(std::uint32_t seen) noexcept {
  while (!(seen & locked_bit)) {
    if (state_.compare_exchange_weak(seen, seen | locked_bit, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return true;
  }
  return false;
}

// Spins only while nobody is parked, as WebKit's and CPython's locks do: once
// threads sleep, the lock is busy for longer than a spin, and a spinner would
// only burn a CPU to barge past the sleepers.
bool Lock::spin_for_unlock() noexcept {
  if (!spinning_pays()) return false;
  for (int i = 0; i < spin_limit; ++i) {
    const std::uint32_t seen = state_.load(std::memory_order_relaxed);
    if (seen & has_waiters_bit) return false;
    if (!(seen & locked_bit) && try_acquire_contended(seen)) return true;
    cpu_relax();
  }
  return false;
}

void Lock::lock_queue() noexcept {
  std::uint32_t seen = state_.load(std::memory_order_relaxed);
  for (int spins = 0;;) {
    if (!(seen & queue_bit)) {
      if (state_.compare_exchange_weak(seen, seen | queue_bit, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return;
      continue;
    }
    if (spins < spin_limit) {  // the guard is held for a few instructions only
      ++spins;
      cpu_relax();
      seen = state_.load(std::memory_order_relaxed);
      continue;
    }
    if (!(seen & queue_sleepers_bit)) {
      if (!state_.compare_exchange_weak(seen, seen | queue_sleepers_bit,
                                        std::memory_order_relaxed))
        continue;
      seen |= queue_sleepers_bit;
    }
    // Returns at once if any bit changed meanwhile; unlock_queue wakes us.
    wait_on(state_, seen, no_deadline);
    seen = state_.load(std::memory_order_relaxed);
  }
}

void Lock::unlock_queue(std::uint32_t set_bits, std::uint32_t clear_bits) noexcept {
  const std::uint32_t clear = clear_bits | queue_bit | queue_sleepers_bit;
  std::uint32_t seen = state_.load(std::memory_order_relaxed);
  while (!state_.compare_exchange_weak(seen, (seen | set_bits) & ~clear,
                                       std::memory_order_release, std::memory_order_relaxed)) {
  }
  // Every sleeper is woken because the bit that counted them is gone; the
  // ones that lose the race set it again. wake_all never reads the word, so
  // it is safe even if the lock has just been freed by its new owner.
  if (seen & queue_sleepers_bit) wake_all(state_);
}

// In the order of first park: a newcomer goes to the back, and a waiter that
// left to ask its stop function goes back to its place among the others.
void Lock::enqueue(Waiter& waiter) noexcept {
  Waiter* before = tail_;
  while (before && before->parked_since > waiter.parked_since) before = before->prev;
  waiter.prev = before;
  waiter.next = before ? before->next : head_;
  (waiter.next ? waiter.next->prev : tail_) = &waiter;
  (before ? before->next : head_) = &waiter;
}

// Under the guard. Returns false if a release has unlinked the waiter already;
// its final signal is then on the way.
bool Lock::leave_queue(Waiter& waiter) noexcept {
  lock_queue();
  const std::uint32_t signal = waiter.signal.load(std::memory_order_relaxed);
  if (signal != parked && signal != interrupted) {
    unlock_queue(0, 0);
    return false;
  }
  (waiter.prev ? waiter.prev->next : head_) = waiter.next;
  (waiter.next ? waiter.next->prev : tail_) = waiter.prev;
  unlock_queue(0, head_ ? 0 : has_waiters_bit);
  return true;
}

// Sleeps until a release unlinks the waiter, or until the waiter leaves the
// queue on its deadline or, if interruptible, on a disturbance (a signal
// handler ran on this thread, or interrupt() marked it). A waiter that a
// release chose just as it was leaving takes what the release gives.
WaitEnd Lock::wait_in_queue(Waiter& waiter, std::int64_t deadline) noexcept {
  for (;;) {
    std::uint32_t signal = waiter.signal.load(std::memory_order_acquire);
    if (signal == handed_off) return WaitEnd::acquired;
    if (signal == woken) return WaitEnd::woken;
    if (signal == pending) {  // the final signal is on its way
      wait_on(waiter.signal, signal, no_deadline);
      continue;
    }
    WaitEnd leaving = WaitEnd::disturbed;
    if (signal == parked) {
      const WakeReason reason = wait_on(waiter.signal, parked, deadline);
      if (reason == WakeReason::timed_out) {
        leaving = WaitEnd::timed_out;
      } else if (reason != WakeReason::interrupted || !waiter.interruptible) {
        continue;  // woken, spuriously, or by a signal this wait ignores
      }
    }
    if (leave_queue(waiter)) return leaving;
    // A release unlinked this waiter first: wait for what it gives.
    while ((signal = waiter.signal.load(std::memory_order_acquire)) == pending)
      wait_on(waiter.signal, pending, no_deadline);
    if (signal == handed_off) return WaitEnd::acquired;
    // Woken as it left: a timed-out waiter tries once; a disturbed one goes
    // round, tries, and asks stop if it must wait -- the wake is not lost.
    if (leaving == WaitEnd::disturbed) return WaitEnd::disturbed;
    return try_acquire() ? WaitEnd::acquired : WaitEnd::timed_out;
  }
}

Acquired Lock::acquire_slow(std::int64_t timeout_ns, StopFn stop, void* context) noexcept {
  if (timeout_ns == 0) return try_acquire() ? Acquired::yes : Acquired::timed_out;
  const std::int64_t deadline = timeout_ns < 0 ? no_deadline : deadline_after(timeout_ns);

  Waiter waiter;
  waiter.interruptible = stop != nullptr;
  // interrupt() reaches queued waiters only. So that a stop request made
  // while this thread was not queued is heard all the same, stop is asked
  // before the first sleep (the request may predate this call), after every
  // disturbance, and again whenever interrupt() ran since it was last asked.
  bool ask_stop = stop != nullptr;
  std::uint32_t interrupts_seen = 0;
  for (;;) {
    if (try_acquire() || spin_for_unlock()) return Acquired::yes;
    if (ask_stop) {
      // Out of the queue and holding nothing: stop may even take this lock.
      ask_stop = false;
      interrupts_seen = interrupts_.load(std::memory_order_acquire);
      if (stop(context)) return Acquired::stopped;
      continue;  // the lock may have come free while stop ran
    }

    lock_queue();
    const std::uint32_t seen = state_.load(std::memory_order_relaxed);
    if (!(seen & locked_bit) && try_acquire_contended(seen)) {  // freed while we queued up
      unlock_queue(0, 0);
      return Acquired::yes;
    }
    if (stop && interrupts_.load(std::memory_order_relaxed) != interrupts_seen) {
      unlock_queue(0, 0);  // an interrupt this waiter could not see: ask first
      ask_stop = true;
      continue;
    }
    if (waiter.parked_since == 0) waiter.parked_since = monotonic_now_ns();
    waiter.signal.store(parked, std::memory_order_relaxed);
    enqueue(waiter);
    // has_waiters_bit is set in the same step that drops the guard. From then
    // on a release must come through the guard and will find this waiter.
    unlock_queue(has_waiters_bit, 0);

    switch (wait_in_queue(waiter, deadline)) {
      case WaitEnd::acquired:
        return Acquired::yes;
      case WaitEnd::timed_out:
        return Acquired::timed_out;
      case WaitEnd::disturbed:
        ask_stop = true;
        break;
      case WaitEnd::woken:
        break;  // try again, and park again in the order of the first park
    }
  }
}

bool Lock::release_slow() noexcept {
  std::uint32_t seen = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(seen & locked_bit)) return false;
    if (seen & (has_waiters_bit | queue_bit)) break;
    if (state_.compare_exchange_weak(seen, seen & ~locked_bit, std::memory_order_release,
                                     std::memory_order_relaxed))
      return true;
  }

  lock_queue();
  if (!(state_.load(std::memory_order_relaxed) & locked_bit)) {  // a racing double release
    unlock_queue(0, 0);
    return false;
  }
  Waiter* const waiter = head_;
  if (!waiter) {
    unlock_queue(0, locked_bit);
    return true;
  }
  head_ = waiter->next;
  (head_ ? head_->prev : tail_) = nullptr;
  const bool hand_off = monotonic_now_ns() - waiter->parked_since >= fair_after_ns;
  waiter->signal.store(pending, std::memory_order_relaxed);
  unlock_queue(0, (hand_off ? 0 : locked_bit) | (head_ ? 0 : has_waiters_bit));

  // The lock may be freed from here on (by the waiter, or by a barger that
  // took and released it); only the waiter, which waits for this store, is
  // still ours to touch.
  waiter->signal.store(hand_off ? handed_off : woken, std::memory_order_release);
  wake_one(waiter->signal);
  return true;
}

void Lock::interrupt() noexcept {
  lock_queue();
  // Release: a waiter that sees the new count also sees the stop condition
  // its caller set before calling interrupt().
  interrupts_.fetch_add(1, std::memory_order_release);
  for (Waiter* waiter = head_; waiter; waiter = waiter->next) {
    if (!waiter->interruptible) continue;
    waiter->signal.store(interrupted, std::memory_order_relaxed);
    wake_one(waiter->signal);
  }
  unlock_queue(0, 0);
}

void Lock::reinit() noexcept {
  head_ = tail_ = nullptr;
  interrupts_.store(0, std::memory_order_relaxed);
  state_.store(0, std::memory_order_release);
}

}  // namespace polylock::core
