/* polylock — a Promela model of the lock protocol of core/lock.hpp and
 * core/lock.cpp, checked with Spin (tests/model/CMakeLists.txt runs it).
 *
 * Each step of the model is one atomic memory operation of the C++ code (a
 * load, a store, a compare-and-swap) or one futex call, and the comment
 * beside it names the function and the statement it stands for. Plain
 * memory guarded by queue_bit (head_/tail_, Waiter::next/prev) is one array,
 * `queue`, touched only by the thread that owns the guard (asserted).
 * CHANGE THIS FILE WHEN THE PROTOCOL IN core/lock.cpp CHANGES.
 *
 * What is abstracted, and why it is sound:
 * - compare_exchange_weak never fails spuriously here: a spurious failure
 *   only reloads `seen` and retries, which the model's retries already cover.
 * - spin_for_unlock is one optional poll: failed polls change nothing
 *   global, and the one poll may run at any point of the interleaving.
 * - lock_queue's bounded spin is folded into its retry loop.
 * - The clock is nondeterminism: a timed wait may time out at any moment,
 *   and release_slow's "waited fair_after_ns" is a free choice.
 * - Memory order is not modelled (Spin is sequentially consistent); the
 *   orders in lock.cpp are argued in its comments and checked by TSan.
 *
 * Properties (see docs/reliability.md):
 * - mutual exclusion: assert in the critical section (holders, locked_bit);
 * - the queue guard excludes: assert on every queue access;
 * - no lost wake-up and no deadlock: every thread runs ITERATIONS rounds
 *   and must finish; a waiter left parked with nobody to wake it is an
 *   invalid end state, and `finished` asserts the lock ends free and empty;
 * - no waiter parked while the lock is free for good: the LTL claim
 *   `no_lost_wakeup` (checked with -a -f, weak fairness).
 */

#ifndef THREADS
#define THREADS 3
#endif
#ifndef ITERATIONS
#define ITERATIONS 2
#endif

/* lock.hpp: the bits of state_ */
#define L  1   /* locked_bit */
#define HW 2   /* has_waiters_bit */
#define Q  4   /* queue_bit */
#define QS 8   /* queue_sleepers_bit */

/* lock.cpp: enum Signal, the values of Waiter::signal */
#define PARKED      0
#define INTERRUPTED 1
#define PENDING     2
#define WOKEN       3
#define HANDED_OFF  4

/* lock.cpp: enum class Leaving */
#define NO        0
#define TIMED_OUT 1
#define STOPPED   2

/* wait.hpp: enum class WakeReason */
#define R_WOKEN       0
#define R_TIMED_OUT   1
#define R_INTERRUPTED 2

/* What acquire returns (enum class Acquired) */
#define YES       0
#define TIMEDOUT  1
#define STOPPEDA  2

/* How a round acquires: lock_acquire's timeout_ns */
#define FOREVER 0   /* -1 */
#define TRY     1   /* 0 */
#define TIMED   2   /* > 0 */

#define NOBODY 255

byte state = 0;                /* Lock::state_ */
byte queue[THREADS];           /* Lock::head_ .. tail_, by thread id */
byte queued = 0;               /* its length */
byte guard_owner = NOBODY;     /* who holds queue_bit (for the asserts) */

byte signal[THREADS];          /* Waiter::signal of each thread's waiter */
bool interruptible[THREADS];   /* Waiter::interruptible */
bool signal_sleeping[THREADS]; /* asleep in futex_wait on its signal */
bool guard_sleeping[THREADS];  /* asleep in futex_wait on state_ (lock_queue) */
bool must_ask[THREADS];        /* ghost: interrupted, stop not asked since */
bool in_slow[THREADS];         /* ghost: inside acquire_slow's loop */
byte interrupts = 0;           /* Lock::interrupts_ (guarded by queue_bit) */

byte holders = 0;              /* threads inside a critical section */
byte done = 0;                 /* threads that finished every round */

/* ---- futex, wait_futex.cpp ---------------------------------------------- */

/* wait_on(signal[me], expected, deadline): FUTEX_WAIT compares and sleeps in
 * one step; returns at once if the word differs. A timed wait may time out
 * at any moment (even when a wake has come: the kernel may report either);
 * an interruptible one may see EINTR (a signal handler ran). */
inline wait_on_signal(expected, timed, may_signal) {
  d_step {
    if
    :: signal[me] == expected ->
       /* no lost interrupt: never asleep with an interrupt not yet asked about */
       assert(expected != PARKED || !must_ask[me]);
       signal_sleeping[me] = true
    :: else -> skip
    fi
  }
  if
  :: !signal_sleeping[me] -> reason = R_WOKEN
  :: timed -> d_step { signal_sleeping[me] = false; reason = R_TIMED_OUT }
#ifdef SIGNALS
  :: may_signal && interruptible[me] -> d_step { signal_sleeping[me] = false; reason = R_INTERRUPTED }
#endif
  fi
}

/* wake_one(waiter->signal): wakes the sleeper on that word, if any. It may
 * be late: the waiter may have parked again on the same Waiter, and then
 * sees a spurious wake-up, as it would in the C++ code. */
inline wake_one(who) {
  signal_sleeping[who] = false
}

/* ---- the queue guard: Lock::lock_queue / Lock::unlock_queue -------------- */

inline lock_queue() {
  do
  :: d_step {  /* lock_queue: CAS(seen, seen | queue_bit) when !(seen & queue_bit) */
       (state & Q) == 0 -> state = state | Q; guard_owner = me
     }; break
  :: d_step {  /* lock_queue: guard held -> CAS(seen, seen | queue_sleepers_bit) */
       (state & Q) != 0 -> state = state | QS; seen = state
     };
     d_step {  /* lock_queue: wait_on(state_, seen, no_deadline) */
       if
       :: state == seen -> guard_sleeping[me] = true
       :: else -> skip
       fi
     };
     !guard_sleeping[me]  /* woken by unlock_queue's wake_all, or never slept */
  od;
  seen = 0
}

/* unlock_queue(set_bits, clear_bits): one CAS sets and clears bits and
 * drops the guard; if sleepers were counted, wake_all(state_). */
inline unlock_queue(set_bits, clear_bits) {
  assert(guard_owner == me);
  d_step {
    old = state;
    state = (state | (set_bits)) & ~((clear_bits) | Q | QS);
    guard_owner = NOBODY
  };
  if
  :: old & QS -> d_step {  /* wake_all(state_) */
       guard_sleeping[0] = false;
       guard_sleeping[1] = false;
#if THREADS > 2
       guard_sleeping[2] = false;
#endif
#if THREADS > 3
       guard_sleeping[3] = false;
#endif
     }
  :: else -> skip
  fi;
  old = 0
}

/* ---- the uncontended paths: lock.hpp ------------------------------------- */

/* try_acquire_contended(seen): while !(seen & locked_bit), CAS(seen, seen | L) */
inline try_acquire_contended() {
  got = false;
  do
  :: (seen & L) -> break
  :: else ->
     d_step {
       if
       :: state == seen -> state = seen | L; got = true
       :: else -> seen = state
       fi
     };
     if
     :: got -> break
     :: else -> skip
     fi
  od;
  seen = 0
}

/* try_acquire(): CAS(0, locked_bit) || try_acquire_contended(expected) */
inline try_acquire() {
  d_step {
    if
    :: state == 0 -> state = L; got = true
    :: else -> seen = state; got = false
    fi
  };
  if
  :: !got -> try_acquire_contended()
  :: else -> skip
  fi
}

/* ---- release: lock.hpp release() and Lock::release_slow ------------------ */

inline release() {
  d_step {  /* release(): CAS(locked_bit, 0) */
    if
    :: state == L -> state = 0; ok = true
    :: else -> seen = state; ok = false
    fi
  };
  if
  :: ok -> skip
  :: else ->
     /* release_slow: the loop before the guard */
     do
     :: (seen & L) == 0 -> ok = false; break  /* "if (!(seen & locked_bit)) return false" */
     :: (seen & L) != 0 && (seen & (HW | Q)) != 0 -> slow = true; break
     :: (seen & L) != 0 && (seen & (HW | Q)) == 0 ->
        d_step {  /* CAS(seen, seen & ~locked_bit) */
          if
          :: state == seen -> state = seen & ~L; ok = true
          :: else -> seen = state
          fi
        };
        if
        :: ok -> break
        :: else -> skip
        fi
     od;
     seen = 0;
     if
     :: slow ->
        lock_queue();
        /* Under the guard, head_/tail_ and the chosen waiter's links are
         * ours alone: each atomic block below holds at most one access that
         * another thread can observe (state_, or the waiter's signal). */
        atomic {
          assert(guard_owner == me);
          if
          :: (state & L) == 0 -> double_release = true  /* "a racing double release" */
          :: else -> double_release = false
          fi
        };
        if
        :: double_release -> unlock_queue(0, 0); ok = false; double_release = false
        :: else ->
           if
           :: queued == 0 -> unlock_queue(0, L); ok = true  /* "if (!waiter)" */
           :: else ->
              atomic {
                /* waiter = head_; head_ = waiter->next */
                w = queue[0];
                queue[0] = queue[1];
#if THREADS > 2
                queue[1] = queue[2];
#endif
#if THREADS > 3
                queue[2] = queue[3];
#endif
                queue[THREADS - 1] = 0;
                queued--;
                /* hand_off = now - parked_since >= fair_after_ns: either */
                if
                :: hand_off = true
                :: hand_off = false
                fi;
                signal[w] = PENDING  /* waiter->signal.store(pending) */
              };
              /* unlock_queue(0, (hand_off ? 0 : L) | (head_ ? 0 : HW)) */
              unlock_queue(0, (hand_off -> 0 : L) | (queued > 0 -> 0 : HW));
              /* From here on only the waiter is touched, never state_. */
              signal[w] = (hand_off -> HANDED_OFF : WOKEN);
              wake_one(w);
              ok = true;
              w = 0;
              hand_off = false
           fi
        fi;
        slow = false
     :: else -> skip
     fi
  fi
}

/* ---- acquire: lock.hpp acquire() and Lock::acquire_slow ------------------ */

/* leave_queue(waiter): under the guard, unlink unless a release did. */
inline leave_queue() {
  lock_queue();
  atomic {
    assert(guard_owner == me);
    if
    :: signal[me] != PARKED && signal[me] != INTERRUPTED -> left = false
    :: else ->
       /* (prev ? prev->next : head_) = next; (next ? next->prev : tail_) = prev */
       i = 0;
       do
       :: i < queued && queue[i] != me -> i++
       :: i < queued && queue[i] == me -> break
       :: i >= queued -> assert(false); break  /* a parked waiter is always queued */
       od;
       do
       :: i + 1 < queued -> queue[i] = queue[i + 1]; i++
       :: else -> break
       od;
       queue[queued - 1] = 0;
       queued--;
       i = 0;
       left = true
    fi
  };
  if
  :: left -> unlock_queue(0, (queued > 0 -> 0 : HW))
  :: else -> unlock_queue(0, 0)
  fi
}

/* wait_in_queue: returns in `sig` WOKEN or HANDED_OFF (chosen by a release),
 * or PARKED once the waiter has left on a timeout or a stop. */
inline wait_in_queue() {
  do
  :: sig = signal[me];  /* waiter.signal.load(acquire) */
     if
     :: sig == WOKEN || sig == HANDED_OFF -> break
     :: sig == PENDING || (sig != WOKEN && sig != HANDED_OFF && leaving != NO) ->
        /* "the final signal is on its way": wait_on(signal, signal, no_deadline) */
        wait_on_signal(sig, false, false)
     :: else ->
        reason = R_INTERRUPTED;
        if
        :: sig == INTERRUPTED ->
           /* back to parked before stop is asked: CAS(interrupted, parked),
            * without the guard; it fails if a release unlinked us meanwhile */
           d_step {
             if
             :: signal[me] == INTERRUPTED -> signal[me] = PARKED; cas_ok = true
             :: else -> cas_ok = false
             fi
           }
        :: else ->
           cas_ok = true;
           if
           :: !ask_stop_now -> wait_on_signal(PARKED, mode == TIMED, true)  /* wait_on(signal, parked, deadline) */
           :: else -> skip
           fi
        fi;
        if
        :: !cas_ok -> skip  /* "continue" */
        :: else ->
           ask_stop_now = false;
           if
           :: reason == R_TIMED_OUT -> leaving = TIMED_OUT
           :: reason == R_INTERRUPTED && interruptible[me] ->
              must_ask[me] = false;
              if  /* stop(context): either answer */
              :: leaving = STOPPED
              :: skip
              fi
           :: else -> skip
           fi;
           reason = R_WOKEN;
           if
           :: leaving != NO ->
              leave_queue();
              if
              :: left -> sig = PARKED; left = false; break
              :: else -> skip
              fi
           :: else -> skip  /* woken, spuriously or by a signal that stop let pass */
           fi
        fi;
        cas_ok = false
     fi
  od
}

inline acquire() {
  d_step {  /* acquire(): CAS(0, locked_bit) */
    if
    :: state == 0 -> state = L; result = YES; got = true
    :: else -> got = false
    fi
  };
  if
  :: got -> got = false
  :: else ->
     if
     :: mode == TRY ->  /* acquire_slow: timeout_ns == 0 */
        try_acquire();
        result = (got -> YES : TIMEDOUT)
     :: else ->
        /* ask_stop_now = stop != nullptr; interrupts_seen = 0 */
        d_step { ask_stop_now = interruptible[me]; interrupts_seen = 0; in_slow[me] = true };
        do  /* acquire_slow's for (;;) */
        :: try_acquire();
           if
           :: got -> result = YES; break
           :: else -> skip
           fi;
#ifndef NO_SPIN
           if  /* spin_for_unlock: one poll */
           :: seen = state;
              if
              :: (seen & HW) != 0 -> seen = 0  /* "if (seen & has_waiters_bit) return false" */
              :: (seen & HW) == 0 && (seen & L) == 0 -> try_acquire_contended()
              :: (seen & HW) == 0 && (seen & L) != 0 -> seen = 0
              fi;
              if
              :: got -> result = YES; break
              :: else -> skip
              fi
           :: skip
           fi;
#endif
           lock_queue();
           seen = state;  /* under the guard: "freed while we queued up" */
           if
           :: (seen & L) == 0 -> try_acquire_contended()
           :: else -> seen = 0
           fi;
           if
           :: got -> unlock_queue(0, 0); result = YES; break
           :: else -> skip
           fi;
           atomic {  /* nobody else touches a waiter that is not queued */
             assert(guard_owner == me);
             signal[me] = PARKED;           /* waiter.signal.store(parked) */
             queue[queued] = me; queued++;  /* enqueue(waiter) */
             /* if (stop && interrupts_ != interrupts_seen) ask_stop_now = true */
             ask_stop_now = ask_stop_now || (interruptible[me] && interrupts != interrupts_seen);
             interrupts_seen = interrupts
           };
           unlock_queue(HW, 0);             /* has_waiters_bit with the guard's drop */

           leaving = NO;
           wait_in_queue();
           if
           :: leaving == NO && sig == HANDED_OFF -> result = YES; sig = 0; break
           :: leaving == NO && sig != HANDED_OFF -> sig = 0  /* woken: try again */
           :: leaving != NO ->
              /* got = handed_off || (woken && try_acquire()) */
              if
              :: sig == HANDED_OFF -> got = true
              :: sig == WOKEN -> try_acquire()
              :: else -> got = false
              fi;
              if
              :: leaving == TIMED_OUT -> result = (got -> YES : TIMEDOUT)
              :: else ->
                 if
                 :: got -> release(); assert(ok)  /* pass the lock on */
                 :: else -> skip
                 fi;
                 result = STOPPEDA
              fi;
              got = false; sig = 0; leaving = NO;
              break
           fi
        od;
        atomic { in_slow[me] = false; ask_stop_now = false; interrupts_seen = 0 }
     fi
  fi
}

/* ---- Lock::interrupt ----------------------------------------------------- */

inline interrupt() {
  lock_queue();
  /* ++interrupts_. The ghost: a waiter that is not queued now (spinning, or
   * between a wake and its next queueing) must ask stop before it sleeps;
   * the queued ones are reached through their signal below. */
  d_step {
    interrupts++;
    i = 0;
    do
    :: i < THREADS ->
       w = 0;
       do
       :: w < queued && queue[w] != i -> w++
       :: else -> break
       od;
       must_ask[i] = must_ask[i] || (in_slow[i] && interruptible[i] && w == queued);
       i++
    :: else -> break
    od;
    w = 0
  };
  i = 0;
  do
  :: i < queued ->
     if
     :: interruptible[queue[i]] ->
        d_step { signal[queue[i]] = INTERRUPTED; must_ask[queue[i]] = true };
        wake_one(queue[i])
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0;
  unlock_queue(0, 0)
}

/* ---- the threads ---------------------------------------------------------- */

proctype thread(byte me) {
  byte seen, old, sig, reason, leaving, result, mode, w, i, rounds;
  byte interrupts_seen;
  bool got, ok, slow, hand_off, left, double_release, cas_ok, ask_stop_now;

  do
  :: rounds < ITERATIONS ->
     rounds++;
     if  /* how this round waits */
     :: mode = FOREVER
     :: mode = TRY
     :: mode = TIMED
     fi;
#ifdef INTERRUPT
     if
     :: interruptible[me] = true
     :: interruptible[me] = false
     :: interrupt(); goto next_round
     fi;
#endif
     acquire();
     if
     :: result == YES ->
        d_step { holders++; assert(holders == 1); assert(state & L) };
cs:     skip;  /* the critical section */
#ifdef INTERRUPT
        if  /* a holder may interrupt the waiters too */
        :: interrupt()
        :: skip
        fi;
#endif
        d_step { holders-- };
        release();
        assert(ok)  /* the holder's release always succeeds */
     :: else -> assert(mode != FOREVER || interruptible[me])
     fi;
#ifdef INTERRUPT
next_round:
#endif
     result = YES; mode = FOREVER; interruptible[me] = false; must_ask[me] = false
  :: else -> break
  od;
  /* Once every thread is through, the lock is free and nobody is queued. */
  atomic {
    done++;
    if
    :: done == THREADS -> assert(state == 0 && queued == 0 && guard_owner == NOBODY && holders == 0)
    :: else -> skip
    fi
  }
}

init {
  byte t = 0;
  atomic {
    do
    :: t < THREADS -> run thread(t); t++
    :: else -> break
    od
  }
}

/* No lost wake-up, as a liveness property: whenever a waiter is queued and
 * the lock is free, eventually the lock is taken again or the queue empties.
 * (With bounded rounds the runs end; a run that ends with a waiter queued
 * on a free lock stutters there and violates it.) */
#define LOCK_FREE (state % 2 == 0)   /* !(state & locked_bit) */
ltl no_lost_wakeup { [] ((queued > 0 && LOCK_FREE) -> <> (queued == 0 || !LOCK_FREE)) }
