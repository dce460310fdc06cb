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

// Why a waiter wants out of the queue before a release picked it.
enum class Leaving { no, timed_out, stopped };

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

void Lock::enqueue(Waiter& waiter) noexcept {
  waiter.next = nullptr;
  waiter.prev = tail_;
  (tail_ ? tail_->next : head_) = &waiter;
  tail_ = &waiter;
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

// Sleeps until a release unlinks the waiter and returns its final signal
// (woken or handed_off), or until the waiter leaves the queue on a timeout or
// a stop (returns parked). `leaving` says why it wanted out: it may be set
// with a final signal too, when a release chose the waiter as it was leaving.
// With `ask_stop_now`, stop is asked before the first sleep, and the flag is
// cleared; it stays set if a release chose the waiter before it was asked.
std::uint32_t Lock::wait_in_queue(Waiter& waiter, std::int64_t deadline, StopFn stop,
                                  void* context, bool& ask_stop_now, Leaving& leaving) noexcept {
  for (;;) {
    const std::uint32_t signal = waiter.signal.load(std::memory_order_acquire);
    if (signal == woken || signal == handed_off) return signal;
    if (signal == pending || leaving != Leaving::no) {  // the final signal is on its way
      wait_on(waiter.signal, signal, no_deadline);
      continue;
    }
    WakeReason reason = WakeReason::interrupted;
    if (signal == interrupted) {
      // Back to parked before stop is asked, so that an interrupt arriving
      // while stop runs sets the signal again and is heard on the next turn.
      // A CAS, because a release may have unlinked the waiter meanwhile.
      std::uint32_t expected = interrupted;
      if (!waiter.signal.compare_exchange_strong(expected, parked, std::memory_order_relaxed))
        continue;
    } else if (!ask_stop_now) {
      reason = wait_on(waiter.signal, parked, deadline);
    }
    ask_stop_now = false;
    if (reason == WakeReason::timed_out) {
      leaving = Leaving::timed_out;
    } else if (reason == WakeReason::interrupted && stop && stop(context)) {
      leaving = Leaving::stopped;
    } else {
      continue;  // woken, spuriously or by a signal that stop let pass
    }
    if (leave_queue(waiter)) return parked;
  }
}

Acquired Lock::acquire_slow(std::int64_t timeout_ns, StopFn stop, void* context) noexcept {
  if (timeout_ns == 0) return try_acquire() ? Acquired::yes : Acquired::timed_out;
  const std::int64_t deadline = timeout_ns < 0 ? no_deadline : deadline_after(timeout_ns);

  Waiter waiter;
  waiter.interruptible = stop != nullptr;
  // interrupt() reaches queued waiters only. So that a stop request made
  // while this thread was not queued is heard all the same, stop is asked
  // before the first sleep (the request may predate this call), and again
  // whenever interrupt() ran since the waiter last queued.
  bool ask_stop_now = stop != nullptr;
  std::uint32_t interrupts_seen = 0;
  for (;;) {
    if (try_acquire() || spin_for_unlock()) return Acquired::yes;

    lock_queue();
    const std::uint32_t seen = state_.load(std::memory_order_relaxed);
    if (!(seen & locked_bit) && try_acquire_contended(seen)) {  // freed while we queued up
      unlock_queue(0, 0);
      return Acquired::yes;
    }
    if (waiter.parked_since == 0) waiter.parked_since = monotonic_now_ns();
    waiter.signal.store(parked, std::memory_order_relaxed);
    enqueue(waiter);
    if (stop && interrupts_ != interrupts_seen) ask_stop_now = true;
    interrupts_seen = interrupts_;
    // has_waiters_bit is set in the same step that drops the guard. From then
    // on a release must come through the guard and will find this waiter.
    unlock_queue(has_waiters_bit, 0);

    Leaving leaving = Leaving::no;
    const std::uint32_t signal =
        wait_in_queue(waiter, deadline, stop, context, ask_stop_now, leaving);
    if (leaving == Leaving::no) {
      if (signal == handed_off) return Acquired::yes;
      continue;  // woken: try again, and park again at the back, keeping parked_since
    }
    // A release may have chosen this waiter as it was leaving. A timed-out
    // waiter keeps what it can get; a stopped one passes it on, so that the
    // release's wake-up is not lost on a waiter that is going away.
    const bool got = signal == handed_off || (signal == woken && try_acquire());
    if (leaving == Leaving::timed_out) return got ? Acquired::yes : Acquired::timed_out;
    if (got) release();
    return Acquired::stopped;
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
  ++interrupts_;
  for (Waiter* waiter = head_; waiter; waiter = waiter->next) {
    if (!waiter->interruptible) continue;
    waiter->signal.store(interrupted, std::memory_order_relaxed);
    wake_one(waiter->signal);
  }
  unlock_queue(0, 0);
}

void Lock::reinit() noexcept {
  head_ = tail_ = nullptr;
  interrupts_ = 0;
  state_.store(0, std::memory_order_release);
}

}  // namespace polylock::core
