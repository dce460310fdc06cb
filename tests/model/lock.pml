/* polylock — a Promela model of the lock protocol of core/lock.hpp and
 * core/lock.cpp, and of the binding fast-path contract of lock_fast_word
 * (capi/include/polylock/lock.h), checked with Spin (tests/model/CMakeLists.txt
 * runs it).
 *
 * Each step of the model is one atomic memory operation of the C++ code (a
 * load, a store, a compare-and-swap) or one futex call, and the comment
 * beside it names the function and the statement it stands for. The lock's
 * waiters live in the parking lot, off the lock word: the model has the one
 * bucket the lock hashes to (`bucket`, the bucket lock's word, and `queue`,
 * the lock's waiters in that bucket's list, by waiter id). Plain memory
 * guarded by the bucket lock (the list, Waiter::next/prev/parked_since) is
 * touched only by the thread that holds it (asserted). Waiters of other
 * locks in the same bucket only lengthen the walks: they are not modelled.
 * CHANGE THIS FILE WHEN THE PROTOCOL IN core/lock.cpp CHANGES.
 *
 * Processes: THREADS threads; the last BINDINGS of them are binding-side
 * (Java, C#, another copy of the library): they take the lock with one CAS
 * of the state word from 0 to 1 and give it back with one CAS from 1 to 0,
 * and call lock_acquire / lock_release only when that CAS fails.
 *
 * Waiters: thread t's acquire uses waiter t. With -DSTOP_LOCKS the stop
 * function of an interruptible acquire may itself acquire and release the
 * same lock (as a Python signal handler does); that nested acquire runs on
 * the same thread with a Waiter of its own, waiter t + THREADS. The nesting
 * is one level deep, and the nested acquire is not interruptible.
 *
 * What is abstracted, and why it is sound:
 * - compare_exchange_weak never fails spuriously here: a spurious failure
 *   only reloads `seen` and retries, which the model's retries already cover.
 * - spin_for_unlock is one optional poll: failed polls change nothing
 *   global, and the one poll may run at any point of the interleaving. Its
 *   yield (sched_yield between the two runs of polls) changes nothing of
 *   the lock's either: to the model it is a delay, which any interleaving
 *   already is.
 * - lock_bucket's bounded spin is one optional CAS from 0 to 1: the polls
 *   that fail change nothing.
 * - The sleeper tier (sleep_on_word): whether the first wait of a plain
 *   (not interruptible) acquire falls outside a busy stretch is a free
 *   choice (it depends on the thread's clock). Its 1 ms give-up is taken
 *   only awake (after a wake, or a wait that found the word changed); a
 *   timed acquire's deadline may end it asleep or awake. A spurious or
 *   EINTR return of a plain sleeper's wait is not modelled: it only looks
 *   again (a stutter) or, past the 1 ms, leaves by the path a timed
 *   sleeper's deadline takes asleep, which is. With -DNO_SLEEPERS
 *   the tier is left out (the 2 x 2 interrupt searches, for their size).
 * - The clock is nondeterminism: a timed wait may time out at any moment,
 *   and release_slow's "waited fair_after_ns" and "the wake on its way is
 *   stale (stale_wake_ns)" are free choices, as is must_wake's look at the
 *   clock (quiet_releases_, first_parked_since_ and woke_at_ only decide
 *   when a release looks: any release with waking_bit set may or may not go
 *   to the bucket lock, and there may or may not wake a second waiter).
 *   parked_since
 *   (read only to order the queue) is kept as a rank among the live waiters:
 *   a first park ranks after every live waiter (or, with -DCLOCK_TIES, ties
 *   with the latest, as a coarse clock may), and a rank is given back when
 *   its acquire returns. Only the order of the ranks is ever compared.
 * - Memory order is not modelled (Spin is sequentially consistent); the
 *   orders in lock.cpp are argued in its comments and checked by TSan.
 *
 * Properties (see docs/reliability.md):
 * - mutual exclusion: assert in every critical section (holders, locked_bit,
 *   the ghost `owner`); locked_bit is set exactly while someone owns the
 *   lock (the binding contract's "bit 0 is the lock"), asserted wherever it
 *   changes;
 * - the bucket lock excludes: assert on every queue access;
 * - has_parked_bit says, under the bucket lock, exactly whether the lock has
 *   a waiter queued (asserted whenever the bucket lock is taken), and the
 *   word release_slow replaces under the bucket lock is still
 *   locked_bit | has_parked_bit, with or without waking_bit (asserted there);
 * - sleeper_bit is set only while locked_bit is (SLEEPER_NEEDS_LOCK,
 *   asserted under the bucket lock and at each release under it), and no
 *   thread is left asleep on the state word (an invalid end state; the
 *   final assertion; the LTL claim below);
 * - waking_bit is set only while a waiter chosen to be woken has not yet run
 *   take_after_wake (the ghost `pending`; asserted under the bucket lock and
 *   wherever a release sets it), and is clear at the end;
 * - no lost wake-up and no deadlock: every thread runs ITERATIONS rounds
 *   and must finish; a waiter left parked with nobody to wake it is an
 *   invalid end state, and `finished` asserts the lock ends free and empty;
 * - no lost interrupt: a waiter never sleeps with an interrupt it has not
 *   asked stop about (the ghost must_ask);
 * - stop is asked out of the queue, holding nothing: asserted where it is
 *   asked (not queued, no release signalling it, not the owner), and no
 *   release hands the lock to a waiter suspended in its stop function;
 * - no waiter parked, nor asleep on the state word, while the lock is free
 *   for good: the LTL claim `no_lost_wakeup` (checked with -a -f, weak
 *   fairness).
 */

#ifndef THREADS
#define THREADS 3
#endif
#ifndef ITERATIONS
#define ITERATIONS 2
#endif
#ifndef BINDINGS
#define BINDINGS 0
#endif

#ifdef STOP_LOCKS
#define WAITERS (2 * THREADS)  /* waiter t + THREADS: the acquire inside t's stop function */
#else
#define WAITERS THREADS
#endif

/* lock.hpp: the bits of state_ */
#define L  1   /* locked_bit */
#define P  2   /* has_parked_bit */
#define K  4   /* waking_bit */
#define S  8   /* sleeper_bit */

/* lock.cpp: enum Signal, the values of Waiter::signal */
#define PARKED      0
#define INTERRUPTED 1
#define WOKEN       2
#define HANDED_OFF  3

/* lock.cpp: enum class WaitEnd (0: not decided) */
#define E_NONE     0
#define E_ACQUIRED 1
#define E_WOKEN    2
#define E_TIMEDOUT 3
#define E_DISTURBED 4

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
byte bucket = 0;               /* Bucket::word: 0 free, 1 held, 2 held, maybe sleepers */
byte queue[WAITERS];           /* the lock's waiters in Bucket::head .. tail, by waiter id */
byte queued = 0;               /* its length */
byte guard_owner = NOBODY;     /* which thread holds the bucket lock (for the asserts) */
byte owner = NOBODY;           /* ghost: which thread owns the lock */

byte signal[WAITERS];          /* Waiter::signal */
bool interruptible[WAITERS];   /* Waiter::interruptible */
byte stamp[WAITERS];           /* Waiter::parked_since, as a rank (0: not parked yet) */
bool signal_sleeping[WAITERS]; /* asleep in futex_wait on its signal */
bool guard_sleeping[THREADS];  /* asleep in futex_wait on Bucket::word (lock_bucket) */
bool word_sleeping[WAITERS];   /* asleep in futex_wait on the state word (sleep_on_word) */
bool must_ask[WAITERS];        /* ghost: interrupted, stop not asked since */
bool in_slow[WAITERS];         /* ghost: inside acquire_slow's loop */
bool asking[WAITERS];          /* ghost: suspended in its stop function */
byte interrupts = 0;           /* Lock::interrupts_ */
byte pending = 0;              /* ghost: waiters a release chose to wake (not hand off) that
                                  have not yet run take_after_wake */

byte holders = 0;              /* threads inside a critical section */
byte done = 0;                 /* threads that finished every round */

/* locked_bit is set exactly while the lock is owned (lock_fast_word's
 * contract: bit 0 of the word is what lock_locked returns). */
#define OWNER_MATCHES_BIT (((state & L) != 0) == (owner != NOBODY))

/* waking_bit is set only while a woken waiter is on its way: a release sets
 * it only with a wake, and whoever clears it early costs a wake, never loses
 * one. */
#define WAKING_HAS_WAITER ((state & K) == 0 || pending > 0)

/* sleeper_bit is set only while locked_bit is: every release CAS that
 * clears locked_bit clears sleeper_bit with it (release_clearing). */
#define SLEEPER_NEEDS_LOCK ((state & S) == 0 || (state & L) != 0)

/* Somebody sleeps on the state word (for the LTL claim). */
#if WAITERS > 4
#define WORD_SLEEPER (word_sleeping[0] || word_sleeping[1] || word_sleeping[2] || \
                      word_sleeping[3] || word_sleeping[4] || word_sleeping[5])
#elif WAITERS > 3
#define WORD_SLEEPER (word_sleeping[0] || word_sleeping[1] || word_sleeping[2] || \
                      word_sleeping[3])
#elif WAITERS > 2
#define WORD_SLEEPER (word_sleeping[0] || word_sleeping[1] || word_sleeping[2])
#else
#define WORD_SLEEPER (word_sleeping[0] || word_sleeping[1])
#endif

/* take_after_wake(): the woken waiter, first thing: take the lock if it is
 * free, and clear waking_bit, in one CAS (a failed CAS only reloads). */
inline take_after_wake() {
  d_step {
    assert(pending > 0);
    pending--;
    if
    :: (state & L) == 0 ->
       state = (state | L) & ~K; got = true; assert(owner == NOBODY); owner = me
    :: else -> state = state & ~K; got = false
    fi
  }
}

/* ---- futex, wait_futex.cpp ---------------------------------------------- */

/* wait_on(signal[W], expected, deadline): FUTEX_WAIT compares and sleeps in
 * one step; returns at once if the word differs. A timed wait may time out
 * at any moment (even when a wake has come: the kernel may report either);
 * an interruptible one may see EINTR (a signal handler ran). */
inline wait_on_signal(expected, timed, may_signal) {
  d_step {
    if
    :: signal[W] == expected ->
       /* no lost interrupt: never asleep with an interrupt not yet asked about */
       assert(expected != PARKED || !must_ask[W]);
       signal_sleeping[W] = true
    :: else -> skip
    fi
  }
  if
  :: !signal_sleeping[W] -> reason = R_WOKEN
  :: timed -> d_step { signal_sleeping[W] = false; reason = R_TIMED_OUT }
#ifdef SIGNALS
  :: may_signal && interruptible[W] ->
     /* the handler that ran wants stop asked too (PyErr_CheckSignals) */
     d_step { signal_sleeping[W] = false; reason = R_INTERRUPTED; must_ask[W] = true }
#endif
  fi
}

/* wake_one(waiter->signal): wakes the sleeper on that word, if any. It may
 * be late: the waiter may have parked again on the same Waiter, and then
 * sees a spurious wake-up, as it would in the C++ code. */
inline wake_one(who) {
  signal_sleeping[who] = false
}

/* wake_one(state_): wakes one thread sleeping on the state word, if any
 * (which one is the kernel's choice). */
inline wake_word() {
  atomic {
    if
    :: word_sleeping[0] -> word_sleeping[0] = false
    :: word_sleeping[1] -> word_sleeping[1] = false
#if WAITERS > 2
    :: word_sleeping[2] -> word_sleeping[2] = false
#endif
#if WAITERS > 3
    :: word_sleeping[3] -> word_sleeping[3] = false
#endif
#if WAITERS > 4
    :: word_sleeping[4] -> word_sleeping[4] = false
    :: word_sleeping[5] -> word_sleeping[5] = false
#endif
    :: else -> skip
    fi
  }
}

/* ---- the bucket lock: lock_bucket / unlock_bucket (Drepper's mutex3) ------ */

/* has_parked_bit is set, under the bucket lock, exactly while the lock has a
 * waiter queued: asserted by whoever takes the bucket lock. */
#define PARKED_MATCHES_QUEUE (((state & P) != 0) == (queued > 0))

inline lock_queue() {
  if
  :: d_step {  /* lock_bucket: CAS(0, 1), or one of the spin's */
       bucket == 0 -> bucket = 1; c = 0
     }
  :: d_step {  /* lock_bucket: exchange(2) */
       c = bucket; bucket = 2
     };
     do
     :: c == 0 -> break
     :: c != 0 ->
        d_step {  /* wait_on(word, 2, no_deadline) */
          if
          :: bucket == 2 -> guard_sleeping[me] = true
          :: else -> skip
          fi
        };
        !guard_sleeping[me];  /* woken by unlock_bucket's wake_one, or never slept */
        d_step { c = bucket; bucket = 2 }  /* exchange(2) */
     od
  fi;
  atomic {  /* (atomic, not d_step: the break above jumps here) */
    assert(guard_owner == NOBODY);
    guard_owner = me;
    assert(PARKED_MATCHES_QUEUE);
    assert(WAKING_HAS_WAITER);
    assert(SLEEPER_NEEDS_LOCK);
    c = 0
  }
}

/* unlock_bucket: exchange(0); if it was 2, wake_one(word). */
inline unlock_queue() {
  d_step {
    assert(guard_owner == me);
    assert(PARKED_MATCHES_QUEUE);
    guard_owner = NOBODY;
    c = bucket;
    bucket = 0
  };
  if
  :: c == 2 ->
     if  /* wake_one(word): one sleeper, if any */
     :: guard_sleeping[0] -> guard_sleeping[0] = false
     :: guard_sleeping[1] -> guard_sleeping[1] = false
#if THREADS > 2
     :: guard_sleeping[2] -> guard_sleeping[2] = false
#endif
#if THREADS > 3
     :: guard_sleeping[3] -> guard_sleeping[3] = false
#endif
     :: else -> skip
     fi
  :: else -> skip
  fi;
  c = 0
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
       :: state == seen ->
          state = seen | L; got = true;
          assert(owner == NOBODY); owner = me
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

/* try_acquire_slow(): try_acquire_contended(state_.load(relaxed)). One
 * step: the load and a CAS straight after it; a CAS that fails because the
 * word changed in between only reloads and decides again, which is this step
 * taken later. */
inline try_acquire_slow() {
  d_step {
    if
    :: (state & L) == 0 ->
       state = state | L; got = true; assert(owner == NOBODY); owner = me
    :: else -> got = false
    fi
  }
}

/* ---- release: lock.hpp release() and Lock::release_slow ------------------ */

inline release() {
  d_step {  /* release(): CAS(locked_bit, 0) */
    if
    :: state == L -> state = 0; ok = true; assert(owner == me); owner = NOBODY
    :: else -> seen = state; ok = false
    fi
  };
  if
  :: ok -> skip
  :: else ->
     /* release_slow: the loop before the bucket lock */
     do
     :: (seen & L) == 0 -> ok = false; break  /* "if (!(seen & locked_bit)) return false" */
     /* must_wake(seen): a waiter parked and none on its way, or one on its
      * way and the first parked waiter due its hand-off or that wake stale
      * (the clock, read every quiet_limit releases: a free choice) */
     :: (seen & L) != 0 && (seen & P) != 0 && (seen & K) == 0 -> slow = true; break
     :: (seen & L) != 0 && (seen & P) != 0 && (seen & K) != 0 -> slow = true; break
     :: (seen & L) != 0 && ((seen & P) == 0 || (seen & K) != 0) ->
        d_step {  /* release_clearing: CAS(seen, seen & ~(locked_bit | sleeper_bit)) */
          if
          :: state == seen ->
             state = seen & ~(L | S); ok = true; owner = NOBODY; sw = (seen & S) != 0
          :: else -> seen = state
          fi
        };
        if
        :: ok -> break
        :: else -> skip
        fi
     od;
     if  /* wake_sleeper: wake_one(state_) if sleeper_bit was set */
     :: sw -> wake_word(); sw = false
     :: else -> skip
     fi;
     seen = 0;
     if
     :: slow ->
        lock_queue();
        /* Under the bucket lock: seen = state_.load(relaxed), then the loop,
         * as one step (a CAS that fails only reloads and decides again). */
        d_step {
          if
          :: (state & L) == 0 -> double_release = true  /* "a racing double release" */
          :: (state & L) != 0 && (state & P) != 0 -> skip
          :: (state & L) != 0 && (state & P) == 0 ->
             /* the last waiter left first: release_clearing */
             sw = (state & S) != 0; state = state & ~(L | S); ok = true; owner = NOBODY
          fi
        };
        if
        :: double_release -> unlock_queue(); ok = false; double_release = false
        :: ok ->
           unlock_queue();
           if :: sw -> wake_word(); sw = false :: else -> skip fi  /* wake_sleeper */
        :: else ->
           /* hand_off = now - parked_since >= fair_after_ns, and stale =
            * now - woke_at_ >= stale_wake_ns: either (a stale wake matters
            * only without a hand-off) */
           if
           :: hand_off = true
           :: hand_off = false
           :: hand_off = false; stale = true
           fi;
           /* "while (!hand_off && !stale && (seen & waking_bit))": a waiter
            * is on its way, no second wake: CAS(seen, seen & ~locked_bit) */
           d_step {  /* release_clearing */
             if
             :: !hand_off && !stale && (state & K) != 0 ->
                assert((state & L) != 0);
                sw = (state & S) != 0; state = state & ~(L | S); ok = true; owner = NOBODY
             :: else -> skip
             fi
           };
           if
           :: ok ->
              unlock_queue();
              if :: sw -> wake_word(); sw = false :: else -> skip fi  /* wake_sleeper */
           :: else ->
           /* Under the bucket lock the list and the chosen waiter's links
            * are ours alone: each atomic block below holds at most one access
            * that another thread can observe (state_, or the waiter's signal). */
           atomic {
             assert(guard_owner == me);
             /* has_parked_bit under the bucket lock: a waiter is queued (in
              * the C++ code, "if (!waiter)" happens only after fork()) */
             assert(queued > 0);
             /* waiter = first_of(this, head); unlink(*waiter) */
             w = queue[0];
             i = 0;
             do
             :: i + 1 < queued -> queue[i] = queue[i + 1]; i++
             :: else -> break
             od;
             queue[queued - 1] = 0;
             queued--;
             i = 0
           };
           d_step {
             /* hand-off: CAS(seen, L | (seen & (K | S)) | (more ? P : 0));
              * wake: release_clearing(seen, K | (more ? P : 0)); retried:
              * only the woken waiter clearing waking_bit and a sleeper
              * setting sleeper_bit can have changed the word since the
              * load above */
             assert((state & ~(K | S)) == (L | P));
             sw = !hand_off && (state & S) != 0;
             state = (hand_off -> L | (state & (K | S)) : K) | (queued > 0 -> P : 0);
             if
             :: hand_off ->
                /* never to a wait suspended in its stop function */
                assert(!asking[w]);
                owner = w % THREADS
             :: else -> owner = NOBODY; pending++
             fi;
             assert(OWNER_MATCHES_BIT);
             assert(WAKING_HAS_WAITER);
             assert(SLEEPER_NEEDS_LOCK)
           };
           /* waiter->signal.store(hand_off ? handed_off : woken), still under
            * the bucket lock; the wake comes after unlock_bucket. */
           signal[w] = (hand_off -> HANDED_OFF : WOKEN);
           unlock_queue();
           wake_one(w);
           if :: sw -> wake_word(); sw = false :: else -> skip fi;  /* wake_sleeper */
           ok = true;
           w = 0
           fi;
           hand_off = false;
           stale = false
        fi;
        seen = 0;
        slow = false
     :: else -> skip
     fi
  fi
}

/* ---- acquire: lock.hpp acquire() and Lock::acquire_slow ------------------ */

/* leave_queue(waiter, signal): under the bucket lock, unlink unless a
 * release did; `sig` is the signal read there. */
inline leave_queue() {
  lock_queue();
  atomic {
    assert(guard_owner == me);
    sig = signal[W];  /* waiter.signal.load(relaxed) */
    if
    :: sig != PARKED && sig != INTERRUPTED -> left = false
    :: else ->
       /* unlink(bucket, waiter) */
       i = 0;
       do
       :: i < queued && queue[i] != W -> i++
       :: i < queued && queue[i] == W -> break
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
  :: left && queued == 0 ->
     d_step {  /* the lock's last waiter: state_.fetch_and(~has_parked_bit) */
       state = state & ~P
     }
  :: else -> skip
  fi;
  unlock_queue()
}

/* wait_in_queue(waiter, deadline): sets `wend` to E_ACQUIRED or E_WOKEN
 * (chosen by a release), or E_TIMEDOUT / E_DISTURBED once the waiter has
 * left the queue; a waiter that a release unlinked as it was leaving takes
 * what the release gives. */
inline wait_in_queue() {
  do
  :: sig = signal[W];  /* waiter.signal.load(acquire) */
     if
     :: sig == HANDED_OFF -> wend = E_ACQUIRED; break
     :: sig == WOKEN ->
        take_after_wake();
        wend = (got -> E_ACQUIRED : E_WOKEN);
        got = false;
        break
     :: sig == PARKED || sig == INTERRUPTED ->
        leaving = E_DISTURBED;
        if
        :: sig == PARKED ->
           wait_on_signal(PARKED, mode == TIMED, true);  /* wait_on(signal, parked, deadline) */
           if
           :: reason == R_TIMED_OUT -> leaving = E_TIMEDOUT
           :: reason == R_INTERRUPTED && interruptible[W] -> skip
           :: else -> leaving = E_NONE  /* woken, spuriously, or a signal this wait ignores */
           fi;
           reason = R_WOKEN
        :: else -> skip  /* interrupted: interrupt() marked it */
        fi;
        if
        :: leaving == E_NONE -> skip  /* "continue" */
        :: else ->
           leave_queue();
           if
           :: left -> wend = leaving; left = false; leaving = E_NONE; break
           :: else ->
              /* A release unlinked this waiter first: `sig` is what it gave. */
              if
              :: sig == HANDED_OFF -> wend = E_ACQUIRED
              :: else ->
                 /* woken as it left: tries once and clears waking_bit */
                 take_after_wake();
                 wend = (got -> E_ACQUIRED : leaving);
                 got = false
              fi;
              leaving = E_NONE;
              break
           fi
        fi
     fi;
     sig = 0
  od;
  sig = 0
}

/* parked_since = monotonic_now_ns(), if not yet set: a rank after every
 * live waiter's (or, with -DCLOCK_TIES, tied with the latest). */
inline take_stamp() {
  if
  :: stamp[W] == 0 ->
     j = 0;
     do
     :: j < WAITERS -> if :: stamp[j] > s -> s = stamp[j] :: else -> skip fi; j++
     :: else -> break
     od;
     j = 0;
     if
     :: stamp[W] = s + 1
#ifdef CLOCK_TIES
     :: s > 0 -> stamp[W] = s
#endif
     fi;
     s = 0
  :: else -> skip
  fi
}

/* sleep_on_word(give_up, deadline): sets `sl` to 1 (took the lock), 2 (its
 * deadline passed) or 3 (gave up after 1 ms: queue next). A wait on the word
 * ends woken, or at once when the word differs; a timed acquire may time
 * out at any moment, asleep or not. The 1 ms give-up is taken only awake
 * (after a wake, or a wait that did not sleep): were it a free choice while
 * asleep too, a sleeper nobody wakes would always get out that way, and
 * the searches could not tell a lost wake. Leaving asleep is the deadline's
 * path, the same code. */
inline sleep_on_word() {
  seen = state;  /* state_.load(relaxed) */
  do
  :: (seen & L) == 0 ->
     d_step {  /* CAS(seen, seen | locked_bit | sleeper_bit) */
       if
       :: state == seen ->
          state = seen | L | S; got = true; assert(owner == NOBODY); owner = me
       :: else -> seen = state
       fi
     };
     if
     :: got -> got = false; sl = 1; break
     :: else -> skip
     fi
  :: (seen & L) != 0 && (seen & S) == 0 ->
     d_step {  /* CAS(seen, seen | sleeper_bit) */
       if
       :: state == seen -> state = seen | S; seen = state
       :: else -> seen = state
       fi
     }
  :: (seen & L) != 0 && (seen & S) != 0 ->
     d_step {  /* wait_on(state_, seen, wake_by) */
       if
       :: state == seen -> word_sleeping[W] = true
       :: else -> skip
       fi
     };
     if
     :: !word_sleeping[W] ->  /* woken, or the word differed */
        if
        :: mode == TIMED -> sl = 2; break  /* the deadline, reported as it woke */
        :: sl = 3; break                    /* 1 ms since the wait began */
        :: seen = state                     /* look again */
        fi
     :: mode == TIMED -> d_step { word_sleeping[W] = false; sl = 2 }; break
     fi
  od;
  seen = 0;
  if
  :: sl != 1 -> wake_word()  /* leaving without the lock: pass on a wake it may have taken */
  :: else -> skip
  fi
}

/* One acquire of thread `me` through waiter W. Written once, because it is
 * also the acquire that the stop function of an interruptible acquire makes
 * (-DSTOP_LOCKS): that nested call saves the outer frame, jumps back to
 * `acquire_call` (the label on the call in `thread`) as waiter me + THREADS
 * (depth d = 1), and returns to `stop_returns` when it is over. */
inline acquire() {
  atomic {  /* acquire(): CAS(0, locked_bit) (atomic, not d_step: a goto target) */
    if
    :: state == 0 -> state = L; got = true; assert(owner == NOBODY); owner = me
    :: else -> got = false
    fi
  };
  if
  :: got -> got = false; result = YES
  :: else ->
     if
     :: mode == TRY ->  /* acquire_slow: timeout_ns == 0 */
        try_acquire_slow();
        result = (got -> YES : TIMEDOUT);
        got = false
     :: else ->
        /* ask_stop = stop != nullptr; interrupts_seen = 0 */
        d_step {
          ask_stop = interruptible[W]; interrupts_seen = 0; in_slow[W] = true;
#ifndef NO_SLEEPERS
          fw = true;
#endif
          /* the ghost: a stop request may predate this call */
          must_ask[W] = interruptible[W]
        };
        do  /* acquire_slow's for (;;) */
        :: try_acquire_slow();
           if
           :: got -> got = false; result = YES; break
           :: else -> skip
           fi;
#ifndef NO_SPIN
           if  /* spin_for_unlock: one poll */
           :: seen = state;
              if  /* parked waiters or not */
              :: (seen & L) == 0 -> try_acquire_contended()
              :: (seen & L) != 0 -> seen = 0
              fi;
              if
              :: got -> got = false; result = YES; break
              :: else -> skip
              fi
           :: skip
           fi;
#endif
           /* first_wait: outside a busy stretch (the thread's clock: a free
            * choice) a wait with no stop function sleeps on the word; in one
            * it yields and polls again (changing nothing here) */
           if
#ifndef NO_SLEEPERS
           :: fw && !interruptible[W] ->
              fw = false;
              take_stamp();  /* waiter.parked_since = now */
              sleep_on_word();
              if
              :: sl == 1 -> sl = 0; result = YES; break
              :: sl == 2 -> sl = 0; result = TIMEDOUT; break
              :: else -> skip  /* gave up (sl == 3) */
              fi
#endif
           :: fw = false
           fi;
           if
           :: sl == 3 -> sl = 0  /* "continue": try, poll, then queue */
           :: sl == 0 && ask_stop ->
              /* Out of the queue and holding nothing: ask stop.
               * ask_stop = false; interrupts_seen = interrupts_.load(acquire) */
              d_step {
                ask_stop = false;
                interrupts_seen = interrupts;
                must_ask[W] = false;  /* the ghost: every interrupt so far is heard */
                assert(owner != me);            /* holds nothing */
                i = 0;
                do
                :: i < queued -> assert(queue[i] != W); i++  /* not queued */
                :: else -> break
                od;
                i = 0;
                asking[W] = true
              };
#ifdef STOP_LOCKS
              if
              :: d == 0 ->  /* stop(context) takes this very lock and gives it back */
                 d_step {
                   d = 1; omode = mode; oseen = interrupts_seen; W = me + THREADS
                 };
                 if
                 :: mode = FOREVER
                 :: mode = TRY
                 :: mode = TIMED
                 fi;
                 goto acquire_call
              :: skip  /* stop(context) does not touch the lock */
              fi;
stop_returns:
#endif
              asking[W] = false;
              if  /* stop's answer: either */
              :: result = STOPPEDA; break
              :: skip  /* "continue": the lock may have come free while stop ran */
              fi
           :: else ->
              lock_queue();
              if
              :: interruptible[W] && interrupts != interrupts_seen ->
                 /* an interrupt this waiter could not see: ask first */
                 unlock_queue();
                 ask_stop = true
              :: else ->
                 /* mark_parked(): take the lock if it came free while we
                  * took the bucket lock, or set has_parked_bit unless it is
                  * set (a CAS loop: one atomic step here, as a failed CAS
                  * only reloads) */
                 d_step {
                   if
                   :: (state & L) == 0 ->
                      state = state | L; got = true; assert(owner == NOBODY); owner = me
                   :: else ->
                      state = state | P;
                      /* the first waiter of an empty queue clears waking_bit */
                      if
                      :: queued == 0 -> state = state & ~K
                      :: else -> skip
                      fi
                   fi
                 };
                 if
                 :: got -> unlock_queue(); got = false; result = YES; break
                 :: else -> skip
                 fi;
                 atomic {  /* nobody else touches a waiter that is not queued */
                   assert(guard_owner == me);
                   /* if (parked_since == 0) parked_since = monotonic_now_ns() */
                   take_stamp();
                   signal[W] = PARKED;  /* waiter.signal.store(parked) */
                   /* enqueue(waiter): walk back from the tail past the waiters
                    * that first parked later, and insert there */
                   j = queued;
                   do
                   :: j > 0 && stamp[queue[j - 1]] > stamp[W] -> queue[j] = queue[j - 1]; j--
                   :: else -> break
                   od;
                   queue[j] = W;
                   queued++;
                   /* the queue is in the order of first park */
                   j = 1;
                   do
                   :: j < queued -> assert(stamp[queue[j - 1]] <= stamp[queue[j]]); j++
                   :: else -> break
                   od;
                   j = 0
                 };
                 unlock_queue();

                 wait_in_queue();
                 if
                 :: wend == E_ACQUIRED -> wend = E_NONE; result = YES; break
                 :: wend == E_TIMEDOUT -> wend = E_NONE; result = TIMEDOUT; break
                 :: wend == E_DISTURBED -> wend = E_NONE; ask_stop = true
                 :: wend == E_WOKEN -> wend = E_NONE  /* try again, park again in order */
                 fi
              fi
           fi
        od;
        /* The Waiter goes out of scope: its parked_since rank is given back
         * (the ranks above it move down one, keeping their order). */
        atomic {  /* (atomic: the breaks above jump here) */
          in_slow[W] = false;
          d_step {
            ask_stop = false; interrupts_seen = 0; fw = false;
            signal[W] = PARKED;
            s = stamp[W];
            stamp[W] = 0;
            if
            :: s > 0 ->
               j = 0;
               do
               :: j < WAITERS && stamp[j] == s -> break  /* a tie keeps the rank */
               :: j < WAITERS && stamp[j] != s -> j++
               :: j >= WAITERS -> break
               od;
               if
               :: j >= WAITERS ->
                  j = 0;
                  do
                  :: j < WAITERS -> if :: stamp[j] > s -> stamp[j]-- :: else -> skip fi; j++
                  :: else -> break
                  od
               :: else -> skip
               fi
            :: else -> skip
            fi;
            j = 0;
            s = 0
          }
        }
     fi
  fi;
#ifdef STOP_LOCKS
  if
  :: d == 1 ->  /* the stop function's acquire returned: use the lock, give it back */
     if
     :: result == YES ->
        d_step { holders++; assert(holders == 1); assert(state & L); assert(owner == me) };
        d_step { holders-- };
        release();
        assert(ok)
     :: else -> assert(mode != FOREVER)
     fi;
     d_step {
       d = 0; W = me; mode = omode; omode = 0; interrupts_seen = oseen; oseen = 0;
       result = YES; ok = false
     };
     goto stop_returns
  :: else -> skip
  fi
#endif
}

/* ---- Lock::interrupt ----------------------------------------------------- */

inline interrupt() {
  lock_queue();
  /* interrupts_.fetch_add(1). The ghost: a waiter that is not queued now
   * (spinning, in its stop function, or between a wake and its next
   * queueing) must ask stop before it sleeps; the queued ones are reached
   * through their signal below. */
  d_step {
    interrupts++;
    i = 0;
    do
    :: i < WAITERS ->
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
  unlock_queue()
}

/* ---- the threads ---------------------------------------------------------- */

/* `binding`: this thread is binding-side (lock_fast_word): it tries one
 * CAS 0 -> 1 before lock_acquire and one CAS 1 -> 0 before lock_release. */
proctype thread(byte me; bool binding) {
  byte seen, c, sig, reason, leaving, wend, result, mode, w, i, j, s, rounds;
  byte W = me;       /* the waiter of the acquire running now */
  byte interrupts_seen;
  bool got, ok, slow, hand_off, stale, left, double_release, ask_stop;
  bool sw;           /* a release cleared sleeper_bit: it owes the word a wake */
  bool fw;           /* acquire_slow's first_wait */
  byte sl;           /* how sleep_on_word ended: 0 not asleep, 1 acquired, 2 timed out, 3 gave up */
#ifdef STOP_LOCKS
  byte d, omode, oseen;  /* depth (1: inside the stop function), the outer frame */
#endif

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
     :: binding -> skip
     :: !binding ->
        if
        :: interruptible[me] = true
        :: interruptible[me] = false
        :: interrupt(); goto next_round
        fi
     fi;
#endif
     if
     :: binding ->
        d_step {  /* the binding's CAS(LOCK_FAST_FREE, LOCK_FAST_HELD) */
          if
          :: state == 0 -> state = 1; got = true; assert(owner == NOBODY); owner = me
          :: else -> got = false
          fi
        }
     :: else -> skip
     fi;
     if
     :: got -> got = false; result = YES
     :: else ->
acquire_call:  /* the stop function's acquire starts here too */
        acquire()  /* lock_acquire */
     fi;
     if
     :: result == YES ->
        d_step { holders++; assert(holders == 1); assert(state & L); assert(owner == me) };
cs:     skip;  /* the critical section */
#ifdef INTERRUPT
        if  /* a holder may interrupt the waiters too */
        :: !binding -> interrupt()
        :: skip
        fi;
#endif
        d_step { holders-- };
        if
        :: binding ->
           d_step {  /* the binding's CAS(LOCK_FAST_HELD, LOCK_FAST_FREE) */
             if
             :: state == 1 -> state = 0; ok = true; assert(owner == me); owner = NOBODY
             :: else -> ok = false
             fi
           }
        :: else -> ok = false
        fi;
        if
        :: ok -> skip
        :: else -> release()  /* lock_release */
        fi;
        assert(ok)  /* the holder's release always succeeds */
     :: else -> assert(mode != FOREVER || interruptible[me])
     fi;
#ifdef INTERRUPT
next_round:
#endif
     result = YES; mode = FOREVER; interruptible[me] = false; must_ask[me] = false; ok = false
  :: else -> break
  od;
  /* Once every thread is through, the lock is free and nobody is queued. */
  atomic {
    done++;
    if
    :: done == THREADS ->
       assert(state == 0 && queued == 0 && bucket == 0 && guard_owner == NOBODY &&
              holders == 0 && owner == NOBODY && pending == 0 && !WORD_SLEEPER)
    :: else -> skip
    fi
  }
}

init {
  byte t = 0;
  atomic {
    do
    :: t < THREADS -> run thread(t, t >= THREADS - BINDINGS); t++
    :: else -> break
    od
  }
}

/* No lost wake-up, as a liveness property: whenever a waiter is queued, or
 * a thread sleeps on the state word, and the lock is free, eventually the
 * lock is taken again or nobody waits in either place. (With bounded
 * rounds the runs end; a run that ends with a waiter queued or asleep on a
 * free lock stutters there and violates it.) */
#define LOCK_FREE (state % 2 == 0)   /* !(state & locked_bit) */
ltl no_lost_wakeup {
  [] (((queued > 0 || WORD_SLEEPER) && LOCK_FREE) ->
      <> ((queued == 0 && !WORD_SLEEPER) || !LOCK_FREE))
}
