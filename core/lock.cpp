// polylock core — the lock's slow paths and the parking lot they queue in.
//
// The protocol, in the words of the state bits (lock.hpp):
//
// * Acquire sets locked_bit with a CAS. A newcomer may take a free lock ahead
//   of parked waiters ("barging"): that keeps the uncontended path one CAS and
//   lets a running thread use the lock while a woken one is still waking up.
// * Waiters queue off the lock word, in the parking lot: a fixed table of
//   buckets, the lock's bucket chosen by a hash of its address, each bucket a
//   small lock of its own (bucket_lock) and a list of waiters of every lock
//   that hashes there, in the order each lock's waiters first parked. This
//   is the design of WebKit's ParkingLot (and of Rust's parking_lot and
//   CPython's Python/parking_lot.c): the queue's guard no longer lives in the
//   lock word, so the lock word sees no guard traffic at all.
// * has_parked_bit is changed only under the lock's bucket lock, and there it
//   says exactly whether the bucket holds a waiter of this lock.
// * A thread that cannot take the lock spins briefly (about ten polls, and
//   before its first park one yield and ten polls more), then
//   takes the bucket lock and, in one CAS loop, takes the lock if it is free
//   or sets has_parked_bit unless it is set already (the lock word's only
//   extra read-modify-write, and only for the first waiter);
//   then appends its Waiter, drops the bucket lock and sleeps on
//   Waiter::signal.
// * The sleeper tier: outside a busy stretch (the thread's previous failed
//   spin was over 100 us ago), a waiter that asks no stop function sleeps
//   on the lock word itself instead, as glibc's waiters do: it sets
//   sleeper_bit (only while locked_bit is set) and waits on the word for up
//   to fair_after_ns, then queues as above, in the order of when its wait
//   began and so due its hand-off. Every release read-modify-write that
//   clears locked_bit clears sleeper_bit with it and, if it was set, wakes
//   one thread sleeping on the word; so sleeper_bit is never set while the
//   lock is free, and the binding fast path's CAS from held_word fails while
//   a sleeper waits. A woken sleeper retries as a newcomer, and takes the
//   lock with sleeper_bit set (others may sleep still); one that leaves
//   without the lock (its deadline, or the 1 ms) wakes one sleeper, in case
//   the wake it consumed was another's.
// * waking_bit: a release woke a waiter without handing it the lock, and
//   that waiter has not run yet. Until it does (or its wake is stale, or a
//   hand-off is due: below), releases wake nobody more:
//   each is one CAS that clears locked_bit (the lock stays with the running
//   threads, as glibc's mutex keeps it while its woken waiter gets a CPU).
//   The woken waiter, first thing, takes the lock if it is free and clears
//   waking_bit in the same CAS (take_after_wake); if it lost, it parks again
//   and the next release wakes the next waiter. Clearing the bit is always
//   safe (at worst a wake too many); setting it happens only with a wake.
//   A wake whose waiter has not run within stale_wake_ns (1 ms, as the
//   hand-off) no longer holds up the next: the next release that looks
//   wakes the next waiter too.
//   Without the bit every contended release went through the bucket lock to
//   wake somebody, and at zero work outside the lock polylock ran at half
//   std::mutex's throughput (issue 16).
// * A release that finds has_parked_bit set and waking_bit clear, or finds
//   the first parked waiter due its hand-off or the wake on its way stale (a
//   clock read every quiet_limit releases while waking_bit is set), takes
//   the bucket lock. There the word
//   is locked_bit | has_parked_bit, perhaps with waking_bit, and nothing but
//   the woken waiter clearing waking_bit can change it: every other CAS
//   outside the bucket lock needs locked_bit clear or the word exactly
//   held_word. So one CAS gives the lock back: it unlinks the first waiter of
//   this lock and stores either waking_bit, with has_parked_bit if more wait
//   -- the lock is free, the waiter is `woken` and retries, and may lose to a
//   barger -- or, when the waiter has waited for fair_after_ns, locked_bit
//   (and waking_bit as it was): ownership is `handed_off` straight to the
//   waiter, so the releasing thread cannot take the lock back at once. That
//   is the eventual fairness: nobody waits much longer than 1 ms while the
//   lock keeps being released. A release that finds a waiter on its way, its
//   wake not stale and no hand-off due wakes nobody.
// * The release writes the waiter's final signal under the bucket lock and
//   wakes it after dropping the bucket lock. It never reads or writes the
//   lock after its store (the new owner may free it at once), and the wake
//   never reads the waiter's word (the waiter may have seen its signal and
//   returned); the wake of a sleeper on the lock word (wake_sleeper) is by
//   address too, reading nothing.
// * A waiter that leaves on its own (a timeout, or a disturbance of an
//   interruptible wait) takes the bucket lock: if a release has unlinked it
//   first, it takes what that release gave; otherwise it unlinks itself and,
//   if it was its lock's last waiter, clears has_parked_bit (a fetch_and: a
//   barger may set locked_bit meanwhile). A waiter woken as it leaves clears
//   waking_bit (and takes the lock if it is free) before it returns.
// * A stop function is asked only while its thread is out of the queue and
//   holds nothing: before the first sleep, and after a disturbance (a signal
//   handler ran, or interrupt()) has taken the waiter out of the queue. So
//   the code it runs (Python's signal handlers, say) may use this very lock
//   as it would outside the wait: no release can hand the lock to a wait
//   that is suspended in its stop function. A waiter that carries on queues
//   again in the order of its first park, keeping its place and its age for
//   the hand-off.
// * fork(): a child inherits the parking lot as it was, bucket locks held by
//   threads that are gone and waiters that will never wake. A handler
//   registered with pthread_atfork at the first park empties every bucket in
//   the child, as CPython's _PyParkingLot_AfterFork does; lock_reinit then
//   makes each lock the child uses free. A lock the child did not reinit may
//   keep a has_parked_bit with no waiter behind it: its next release finds
//   no waiter and clears the bit. It may keep a waking_bit whose waiter is
//   gone: the first waiter to park on an empty queue clears it.
#include "lock.hpp"

#include "wait.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if !defined(_WIN32)
#include <pthread.h>
#define POLYLOCK_HAS_FORK 1
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

// While a woken waiter is on its way (waking_bit), releases wake nobody
// more; every quiet_limit of them looks at the clock, so that a waiter that
// has waited fair_after_ns still gets its hand-off within that many releases
// (a clock read costs about as much as an uncontended acquire and release).
constexpr std::uint32_t quiet_limit = 64;

// A wake older than this whose waiter has not run yet is stale: its waiter
// has been runnable, or stopped, for as long as a parked waiter waits before
// its hand-off, and the next release that looks wakes the next waiter as
// well, so that one late waiter (descheduled, stopped in a debugger or by
// SIGSTOP) cannot hold up every wake after it. The same bound as the
// hand-off's, not shorter: a woken thread that finds a CPU runs within a few
// us (about 12 us on the virtual machine of docs/benchmarks.md, ping-pong),
// but with more runnable threads than CPUs one waits for a CPU far longer,
// and waking more waiters then only adds runnable threads that wait for the
// same CPUs. Measured on 2 CPUs (issue 16, docs/design.md §11): with 20 us,
// nothing outside the lock and 50 ns inside at 4 threads, Jain's index was
// 0.958 (10th percentile 0.842) and the throughput 1.39x std::mutex; with
// 1 ms, 0.973 (0.900) and 1.55x, in the same rounds. With 200 ns outside
// neither was the fairer: in three official runs of each, each fell a little
// below std::mutex's Jain in some rows (docs/benchmarks.md).
constexpr std::int64_t stale_wake_ns = fair_after_ns;

// Outside a busy stretch (a thread whose previous failed spin was longer ago
// than this) a waiter sleeps on the lock word instead of yielding.
constexpr std::int64_t busy_stretch_ns = 100'000;

// When the calling thread's last first spin failed (monotonic ns): per
// thread, across locks. Trivially constructed, so it needs no C++ runtime;
// initial-exec keeps it in static TLS (8 bytes of glibc's surplus, even when
// the library is dlopen()ed), as named_lock.cpp's identity cache. Only on
// ELF: MinGW's thread_local is emulated (its first use on a thread
// allocates, and aborts if that fails: design.md §2 allows neither), and
// Windows' timed waits round up to the timer tick (up to 15.6 ms, not the
// tier's 1 ms). Elsewhere every wait counts as a busy stretch: the yield
// and the parking lot, as before the sleeper tier.
#if defined(__ELF__)
#define POLYLOCK_SLEEPER_TIER 1
__attribute__((tls_model("initial-exec"))) thread_local std::int64_t last_failed_spin_ns = 0;
#else
#define POLYLOCK_SLEEPER_TIER 0
#endif

// Values of Waiter::signal.
enum Signal : std::uint32_t {
  parked = 0,       // queued and sleeping
  interrupted = 1,  // queued; lock_interrupt asks it to consult its stop function
  woken = 2,        // unlinked by a release; the lock was freed for it to try again
  handed_off = 3,   // unlinked by a release; it owns the lock now
};

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

// How a wait in the queue ended.
enum class WaitEnd {
  acquired,    // this waiter holds the lock (handed off to it, or taken)
  woken,       // a release freed the lock for this waiter to try again
  timed_out,   // the deadline passed; the waiter has left the queue
  disturbed,   // an interruptible waiter was disturbed and has left the queue
};

// A thread waiting for a lock, on its own stack; linked into its lock's
// bucket while queued. Every member but `signal` is read and written only
// under the bucket lock (or by its thread while it is not queued).
struct Waiter {
  std::atomic<std::uint32_t> signal{parked};
  const Lock* key = nullptr;  // the lock it waits for
  Waiter* next = nullptr;
  Waiter* prev = nullptr;
  bool interruptible = false;
  std::int64_t parked_since = 0;  // set at the first park, kept across re-parks
};

namespace {

// ---- the parking lot -------------------------------------------------------

// One bucket: a lock of its own and the waiters of the locks that hash here.
// The bucket lock is Drepper's futex mutex ("Futexes Are Tricky", mutex3):
// 0 free, 1 held, 2 held and a thread may sleep on it.
struct alignas(64) Bucket {
  std::atomic<std::uint32_t> word{0};
  Waiter* head = nullptr;  // guarded by word
  Waiter* tail = nullptr;  // guarded by word
};

// A power of two. A fixed table, as CPython's (257 buckets): the library
// allocates nothing outside lock_new and lock_open (design.md §2), and many
// more locks than buckets only lengthen the lists a release walks. Constant-
// initialised, so no guard and nothing of the C++ runtime.
constexpr unsigned bucket_bits = 8;
Bucket buckets[1u << bucket_bits];

// Fibonacci hashing of the address: the top bits of a multiply by 2^64 / phi.
Bucket& bucket_of(const Lock* lock) noexcept {
  const auto key = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(lock));
  return buckets[(key * 0x9E3779B97F4A7C15ull) >> (64 - bucket_bits)];
}

void lock_bucket(Bucket& bucket) noexcept {
  std::uint32_t seen = 0;
  if (bucket.word.compare_exchange_strong(seen, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed))
    return;
  // Held for a few dozen instructions: poll before sleeping.
  if (spinning_pays()) {
    for (int spins = 0; spins < spin_limit; ++spins) {
      cpu_relax();
      seen = bucket.word.load(std::memory_order_relaxed);
      if (seen == 0 && bucket.word.compare_exchange_weak(seen, 1, std::memory_order_acquire,
                                                         std::memory_order_relaxed))
        return;
    }
  }
  // Take it as 2 from here on: whoever holds it then wakes a sleeper on
  // release.
  if (seen != 2) seen = bucket.word.exchange(2, std::memory_order_acquire);
  while (seen != 0) {
    wait_on(bucket.word, 2, no_deadline);
    seen = bucket.word.exchange(2, std::memory_order_acquire);
  }
}

void unlock_bucket(Bucket& bucket) noexcept {
  // wake_one never reads the word; the bucket is static in any case.
  if (bucket.word.exchange(0, std::memory_order_release) == 2) wake_one(bucket.word);
}

// The first waiter of `lock` at or after `from`, under the bucket lock.
Waiter* first_of(const Lock* lock, Waiter* from) noexcept {
  while (from && from->key != lock) from = from->next;
  return from;
}

void unlink(Bucket& bucket, Waiter& waiter) noexcept {
  (waiter.prev ? waiter.prev->next : bucket.head) = waiter.next;
  (waiter.next ? waiter.next->prev : bucket.tail) = waiter.prev;
}

// In the order of first park among the waiters of one lock: a newcomer goes
// to the back, and a waiter that left to ask its stop function goes back to
// its place. Waiters of other locks in the bucket keep their own order.
void enqueue(Bucket& bucket, Waiter& waiter) noexcept {
  Waiter* before = bucket.tail;
  while (before && (before->key != waiter.key || before->parked_since > waiter.parked_since))
    before = before->prev;
  waiter.prev = before;
  waiter.next = before ? before->next : bucket.head;
  (waiter.next ? waiter.next->prev : bucket.tail) = &waiter;
  (before ? before->next : bucket.head) = &waiter;
}

#if POLYLOCK_HAS_FORK
// In a child of fork(): only the forking thread survives. Every waiter in the
// lot belonged to another thread (the forking one was not waiting), and a
// bucket lock may be held by a thread that is gone, mid-change.
void empty_parking_lot() noexcept {
  for (Bucket& bucket : buckets) {
    bucket.head = bucket.tail = nullptr;
    bucket.word.store(0, std::memory_order_relaxed);
  }
}

std::atomic<bool> fork_handler_registered{false};

// At the first park, when the lot first holds anything worth emptying.
void register_fork_handler() noexcept {
  if (fork_handler_registered.load(std::memory_order_relaxed)) return;
  if (fork_handler_registered.exchange(true, std::memory_order_relaxed)) return;
  pthread_atfork(nullptr, nullptr, empty_parking_lot);
}
#else
void register_fork_handler() noexcept {}
#endif

}  // namespace

// ---- the lock --------------------------------------------------------------

bool Lock::try_acquire_contended(std::uint32_t seen) noexcept {
  while (!(seen & locked_bit)) {
    if (state_.compare_exchange_weak(seen, seen | locked_bit, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return true;
  }
  return false;
}

// A load first: a held lock costs the slow path no read-modify-write.
bool Lock::try_acquire_slow() noexcept {
  return try_acquire_contended(state_.load(std::memory_order_relaxed));
}

// Polls spin_limit times (none with one CPU online), whether or not threads
// are parked. WebKit's and CPython's locks stop spinning once a thread
// sleeps; with waking_bit the sleepers are woken one at a time anyway, and a
// thread that parks where a spin would have found the lock free leaves a CPU
// idle while the lock is free.
bool Lock::spin_for_unlock() noexcept {
  if (!spinning_pays()) return false;
  for (int i = 0; i < spin_limit; ++i) {
    const std::uint32_t seen = state_.load(std::memory_order_relaxed);
    if (!(seen & locked_bit) && try_acquire_contended(seen)) return true;
    cpu_relax();
  }
  return false;
}

// Whether the calling thread is in a busy stretch: its previous failed spin
// (on any lock) was less than busy_stretch_ns ago. Called once per acquire,
// after its first spin failed; remembers this one.
#if POLYLOCK_SLEEPER_TIER
void assume_busy_stretch() noexcept { last_failed_spin_ns = INT64_MAX; }

namespace {
bool in_busy_stretch(std::int64_t now) noexcept {
  const std::int64_t previous = last_failed_spin_ns;
  last_failed_spin_ns = now;
  return now - previous < busy_stretch_ns;
}
}  // namespace
#else
void assume_busy_stretch() noexcept {}

namespace {
bool in_busy_stretch(std::int64_t) noexcept { return true; }
}  // namespace
#endif

// The first wait of an acquire, after its first spin failed, is one of two.
//
// In a busy stretch the thread gives its CPU away once (yield_cpu) and polls
// spin_limit times more before it parks. The yield: with more runnable
// threads than CPUs, the holder may be one that the scheduler took off its
// CPU, and the yield lets it (or whoever is next) run; when nothing else
// wants the CPU it returns at once, a poll a system call long. A thread
// that parks instead leaves its CPU idle while the lock is passed among the
// others, and comes back only through a wake and an idle CPU's wake-up (tens
// of us on a virtual machine); glibc's waiters rarely get that far (their
// futex wait returns at once while the word keeps changing). WebKit's Lock and Rust's parking_lot yield in their spins too.
// Measured on 2 CPUs at 4 and 8 threads (issue 16; docs/benchmarks.md):
// without the yield polylock ran at 0.6-0.9x std::mutex with nothing or
// 200 ns outside the lock, with it at 1.0-1.7x. One yield, not more: every
// yield keeps a thread on the CPU it has, and with more the threads of a
// faster CPU took a larger share (Jain's index fell below std::mutex's).
// Once per acquire, before the first park: a waiter a release woke has just
// been given a CPU for this lock, and giving it away again wastes the wake
// (with 1000 ns inside the lock at 4 threads the yield after a wake cost
// 0.8-0.9x against 1.0 without it).
//
// Outside a busy stretch (light contention: the thread's spins rarely fail)
// a thread that does not ask a stop function sleeps on the lock word itself
// (sleep_on_word), as glibc's waiters do, and the release that frees the
// lock wakes it from the releasing thread's CPU. With 200 ns of work outside
// the lock at 4 and 8 threads on 2 CPUs, yielding there left the CPUs less
// evenly split among the threads than glibc's sleeping does (the kernel
// rebalances threads at cross-CPU wakes), and Jain's index of the
// acquisitions fell below std::mutex's by 0.01-0.02 (issue 16;
// docs/design.md §11). Interruptible waits keep the yield: interrupt()
// reaches queued waiters only.

// Sleeps on the state word, with sleeper_bit set, until the lock is free,
// `give_up` (then the caller queues in the parking lot) or `deadline`. Each
// release that clears locked_bit with sleeper_bit set wakes one such
// sleeper, which retries as a newcomer; one that takes the lock sets
// sleeper_bit again (others may sleep still), as glibc's mutex takes the
// lock as 2 after a wait. One that leaves without the lock passes on a wake
// it may have taken from another sleeper.
Lock::Slept Lock::sleep_on_word(std::int64_t give_up, std::int64_t deadline) noexcept {
  const std::int64_t wake_by = give_up < deadline ? give_up : deadline;
  std::uint32_t seen = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(seen & locked_bit)) {
      if (state_.compare_exchange_weak(seen, seen | locked_bit | sleeper_bit,
                                       std::memory_order_acquire, std::memory_order_relaxed))
        return Slept::acquired;
      continue;
    }
    if (!(seen & sleeper_bit)) {
      if (!state_.compare_exchange_weak(seen, seen | sleeper_bit, std::memory_order_relaxed))
        continue;
      seen |= sleeper_bit;
    }
    // Woken, spuriously, by a signal (the wait is not interruptible) or
    // timed out: look again; past wake_by, leave.
    if (wait_on(state_, seen, wake_by) == WakeReason::timed_out) break;
    seen = state_.load(std::memory_order_relaxed);
  }
  wake_one(state_);
  return deadline <= give_up ? Slept::timed_out : Slept::gave_up;
}

// Under the bucket lock, before a waiter queues: takes the lock if it is free
// (true), else makes sure has_parked_bit is set (false). Relaxed: a release
// reads the bit under the same bucket lock. The first waiter of an empty
// queue also clears waking_bit: a waiter woken earlier may still be on its
// way, but one that never comes (its thread did not survive fork()) must not
// leave this waiter asleep. Clearing the bit costs at most one wake too many.
bool Lock::mark_parked(bool queue_empty) noexcept {
  std::uint32_t seen = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(seen & locked_bit)) {
      if (state_.compare_exchange_weak(seen, seen | locked_bit, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return true;
      continue;
    }
    std::uint32_t wanted = seen | has_parked_bit;
    if (queue_empty) wanted &= ~waking_bit;
    if (wanted == seen) return false;
    if (state_.compare_exchange_weak(seen, wanted, std::memory_order_relaxed)) return false;
  }
}

// By a waiter that a release woke without handing it the lock, as soon as it
// runs: takes the lock if it is free (true) and, either way, clears
// waking_bit in the same read-modify-write, so that the next release wakes
// the next waiter.
bool Lock::take_after_wake() noexcept {
  std::uint32_t seen = state_.load(std::memory_order_relaxed);
  for (;;) {
    const bool free = !(seen & locked_bit);
    const std::uint32_t wanted = (free ? seen | locked_bit : seen) & ~waking_bit;
    if (wanted == seen) return false;
    if (state_.compare_exchange_weak(seen, wanted, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return free;
  }
}

// Under the bucket lock: true if the waiter was still queued and has left;
// false, with its final `signal`, if a release unlinked it first.
bool Lock::leave_queue(Waiter& waiter, std::uint32_t& signal) noexcept {
  Bucket& bucket = bucket_of(this);
  lock_bucket(bucket);
  signal = waiter.signal.load(std::memory_order_relaxed);
  const bool queued = signal == parked || signal == interrupted;
  if (queued) {
    unlink(bucket, waiter);
    Waiter* const first = first_of(this, bucket.head);
    note_first_waiter(first);
    if (!first) state_.fetch_and(~has_parked_bit, std::memory_order_relaxed);
  }
  unlock_bucket(bucket);
  return queued;
}

// Sleeps until a release unlinks the waiter, or until the waiter leaves the
// queue on its deadline or, if interruptible, on a disturbance (a signal
// handler ran on this thread, or interrupt() marked it). A waiter that a
// release chose just as it was leaving takes what the release gives.
WaitEnd Lock::wait_in_queue(Waiter& waiter, std::int64_t deadline) noexcept {
  for (;;) {
    std::uint32_t signal = waiter.signal.load(std::memory_order_acquire);
    if (signal == handed_off) return WaitEnd::acquired;
    if (signal == woken) return take_after_wake() ? WaitEnd::acquired : WaitEnd::woken;
    WaitEnd leaving = WaitEnd::disturbed;
    if (signal == parked) {
      const WakeReason reason = wait_on(waiter.signal, parked, deadline);
      if (reason == WakeReason::timed_out) {
        leaving = WaitEnd::timed_out;
      } else if (reason != WakeReason::interrupted || !waiter.interruptible) {
        continue;  // woken, spuriously, or by a signal this wait ignores
      }
    }
    if (leave_queue(waiter, signal)) return leaving;
    // A release unlinked this waiter first; the bucket lock ordered its
    // signal (and, for a hand-off, the critical sections before it) before us.
    if (signal == handed_off) return WaitEnd::acquired;
    // Woken as it left: it tries once, and clears waking_bit -- the wake is
    // not lost. A disturbed waiter that must wait then asks stop.
    return take_after_wake() ? WaitEnd::acquired : leaving;
  }
}

Acquired Lock::acquire_slow(std::int64_t timeout_ns, StopFn stop, void* context) noexcept {
  if (timeout_ns == 0) return try_acquire_slow() ? Acquired::yes : Acquired::timed_out;
  const std::int64_t deadline = timeout_ns < 0 ? no_deadline : deadline_after(timeout_ns);

  Waiter waiter;
  waiter.key = this;
  waiter.interruptible = stop != nullptr;
  // interrupt() reaches queued waiters only. So that a stop request made
  // while this thread was not queued is heard all the same, stop is asked
  // before the first sleep (the request may predate this call), after every
  // disturbance, and again whenever interrupt() ran since it was last asked.
  bool ask_stop = stop != nullptr;
  std::uint32_t interrupts_seen = 0;
  bool first_wait = true;  // the yield or the sleep on the word: once per acquire
  for (;;) {
    if (try_acquire_slow() || spin_for_unlock()) return Acquired::yes;
    if (first_wait) {
      first_wait = false;
      const std::int64_t now = monotonic_now_ns();
      if (!stop && now < deadline && !in_busy_stretch(now)) {
        // Asleep on the word for up to fair_after_ns, then queued in the
        // order of when this wait began, due its hand-off at once.
        waiter.parked_since = now;
        switch (sleep_on_word(now + fair_after_ns, deadline)) {
          case Slept::acquired:
            return Acquired::yes;
          case Slept::timed_out:
            return Acquired::timed_out;
          case Slept::gave_up:
            continue;
        }
      }
      if (now < deadline && spinning_pays()) {
        yield_cpu();  // may last a time slice: not past the deadline
        if (spin_for_unlock()) return Acquired::yes;
      }
    }
    if (ask_stop) {
      // Out of the queue and holding nothing: stop may even take this lock.
      ask_stop = false;
      interrupts_seen = interrupts_.load(std::memory_order_acquire);
      if (stop(context)) return Acquired::stopped;
      continue;  // the lock may have come free while stop ran
    }

    Bucket& bucket = bucket_of(this);
    lock_bucket(bucket);
    if (stop && interrupts_.load(std::memory_order_relaxed) != interrupts_seen) {
      unlock_bucket(bucket);  // an interrupt this waiter could not see: ask first
      ask_stop = true;
      continue;
    }
    // Takes the lock if it came free while we took the bucket lock. Else,
    // from here on a release must come through the bucket lock and will find
    // this waiter: has_parked_bit is set before the bucket lock is dropped.
    if (mark_parked(first_of(this, bucket.head) == nullptr)) {
      unlock_bucket(bucket);
      return Acquired::yes;
    }
    if (waiter.parked_since == 0) waiter.parked_since = monotonic_now_ns();
    waiter.signal.store(parked, std::memory_order_relaxed);
    enqueue(bucket, waiter);
    note_first_waiter(first_of(this, bucket.head));
    unlock_bucket(bucket);
    register_fork_handler();

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

// Whether a release must take the bucket lock: a waiter is parked and none
// is on its way already, or one is, but the first parked waiter is due its
// hand-off or that wake is stale (both looked at every quiet_limit
// releases). Else the release is one CAS, and the woken waiter, when it
// runs, takes the lock or leaves it to the next release to wake somebody.
bool Lock::must_wake(std::uint32_t seen) noexcept {
  if (!(seen & has_parked_bit)) return false;
  if (!(seen & waking_bit)) return true;
  const std::uint32_t quiet = quiet_releases_.load(std::memory_order_relaxed);
  if (quiet + 1 < quiet_limit) {
    quiet_releases_.store(quiet + 1, std::memory_order_relaxed);
    return false;
  }
  quiet_releases_.store(0, std::memory_order_relaxed);
  const std::int64_t now = monotonic_now_ns();
  const std::int64_t since = first_parked_since_.load(std::memory_order_relaxed);
  return (since != 0 && now - since >= fair_after_ns) ||
         now - woke_at_.load(std::memory_order_relaxed) >= stale_wake_ns;
}

// Under the bucket lock, whenever this lock's queue changed.
void Lock::note_first_waiter(const Waiter* first) noexcept {
  first_parked_since_.store(first ? first->parked_since : 0, std::memory_order_relaxed);
}

// A release's read-modify-write that gives the lock up (`next` lacks
// locked_bit): it clears sleeper_bit too. On success `seen` is the word it
// replaced, and the caller passes it to wake_sleeper (after dropping the
// bucket lock, if it holds it).
bool Lock::release_clearing(std::uint32_t& seen, std::uint32_t next) noexcept {
  return state_.compare_exchange_weak(seen, next & ~sleeper_bit, std::memory_order_release,
                                      std::memory_order_relaxed);
}

// After release_clearing replaced `replaced`: if that had sleeper_bit, wakes
// one thread sleeping on the word -- after the CAS, as glibc's unlock wakes.
// The wake never reads the word; should the new owner free the lock at
// once, it is at worst a spurious wake of whoever sleeps at that address
// next, and every sleeper looks again when it wakes.
void Lock::wake_sleeper(std::uint32_t replaced) noexcept {
  if (replaced & sleeper_bit) wake_one(state_);
}

bool Lock::release_slow() noexcept {
  std::uint32_t seen = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(seen & locked_bit)) return false;
    if (must_wake(seen)) break;
    if (release_clearing(seen, seen & ~locked_bit)) {
      wake_sleeper(seen);
      return true;
    }
  }

  Bucket& bucket = bucket_of(this);
  lock_bucket(bucket);
  seen = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(seen & locked_bit)) {  // a racing double release
      unlock_bucket(bucket);
      return false;
    }
    if (seen & has_parked_bit) break;
    // The last waiter left (timed out, disturbed) before we got here.
    if (release_clearing(seen, seen & ~locked_bit)) {
      unlock_bucket(bucket);
      wake_sleeper(seen);
      return true;
    }
  }

  // The word is locked_bit | has_parked_bit, perhaps with waking_bit and
  // sleeper_bit, and nothing but the woken waiter clearing waking_bit and a
  // sleeper setting sleeper_bit can change it until we do: every other
  // writer needs locked_bit clear, the word exactly held_word, or this
  // bucket lock.
  Waiter* const waiter = first_of(this, bucket.head);
  if (!waiter) {  // only after fork(): the waiters were the lost threads'
    while (!release_clearing(seen, 0)) {
    }
    unlock_bucket(bucket);
    wake_sleeper(seen);
    return true;
  }
  const std::int64_t now = monotonic_now_ns();
  const bool hand_off = now - waiter->parked_since >= fair_after_ns;
  const bool stale = now - woke_at_.load(std::memory_order_relaxed) >= stale_wake_ns;
  // A waiter woken before is still on its way (its wake is not stale) and no
  // hand-off is due: no second wake. waking_bit is looked at again by every
  // try: if that waiter clears it meanwhile (it may then leave, timed out),
  // this release wakes.
  while (!hand_off && !stale && (seen & waking_bit)) {
    if (release_clearing(seen, seen & ~locked_bit)) {
      unlock_bucket(bucket);
      wake_sleeper(seen);
      return true;
    }
  }
  unlink(bucket, *waiter);
  Waiter* const next_first = first_of(this, waiter->next);
  note_first_waiter(next_first);
  const bool more = next_first != nullptr;
  // A hand-off leaves waking_bit to the waiter woken before, and
  // sleeper_bit to the new owner's release; a wake sets waking_bit (perhaps
  // again: a stale wake's waiter clears it when it runs, and at worst one
  // release more wakes somebody) and, freeing the lock, wakes a sleeper too.
  if (!hand_off) woke_at_.store(now, std::memory_order_relaxed);
  const std::uint32_t parked = more ? has_parked_bit : 0;
  if (hand_off) {
    while (!state_.compare_exchange_weak(
        seen, locked_bit | (seen & (waking_bit | sleeper_bit)) | parked,
        std::memory_order_release, std::memory_order_relaxed)) {
    }
  } else {
    while (!release_clearing(seen, waking_bit | parked)) {
    }
  }
  // From here on the lock may be freed by its new owner: only the bucket
  // (static) and the waiter (which cannot leave before its signal is
  // written, under this bucket lock) are still ours to touch, and the lock
  // word's address for a sleeper's wake (wake_sleeper).
  std::atomic<std::uint32_t>& signal = waiter->signal;
  signal.store(hand_off ? handed_off : woken, std::memory_order_release);
  unlock_bucket(bucket);
  wake_one(signal);  // never reads the word: the waiter may be gone
  if (!hand_off) wake_sleeper(seen);
  return true;
}

void Lock::interrupt() noexcept {
  Bucket& bucket = bucket_of(this);
  lock_bucket(bucket);
  // Release: a waiter that sees the new count also sees the stop condition
  // its caller set before calling interrupt().
  interrupts_.fetch_add(1, std::memory_order_release);
  for (Waiter* waiter = first_of(this, bucket.head); waiter;
       waiter = first_of(this, waiter->next)) {
    if (!waiter->interruptible) continue;
    // The waiter leaves only through this bucket lock, so it is still here
    // when wake_one runs.
    waiter->signal.store(interrupted, std::memory_order_relaxed);
    wake_one(waiter->signal);
  }
  unlock_bucket(bucket);
}

void Lock::reinit() noexcept {
  interrupts_.store(0, std::memory_order_relaxed);
  quiet_releases_.store(0, std::memory_order_relaxed);
  first_parked_since_.store(0, std::memory_order_relaxed);
  woke_at_.store(0, std::memory_order_relaxed);
  state_.store(0, std::memory_order_release);
}

}  // namespace polylock::core
