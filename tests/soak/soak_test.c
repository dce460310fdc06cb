/* polylock soak test: many threads, a handful of locks, a long time.
 *
 * POLYLOCK_SOAK_SECONDS (default 60) and POLYLOCK_SOAK_THREADS (default 16)
 * set the run. Workers pick a lock slot at random and acquire it in a random
 * way — without limit, a try, a timed wait of 1 ns to 2 ms, INT64_MAX — and
 * then either release it themselves or post its "token" to a mailbox, from
 * which a courier thread releases it: a release from another thread, which a
 * binary semaphore allows. Now and then a worker retires a slot: once nobody
 * uses it, the lock is checked, freed (sometimes while held) and replaced by
 * a new one.
 *
 * Checked all the time: never two holders (an atomic count of holders per
 * lock, and a plain counter that only a holder increments), every release of
 * a held lock succeeds, a holder sees lock_locked == 1, a timed-out wait
 * lasted at least its timeout. Checked at each retirement and at the end:
 * the plain counter equals the number of successful acquires, exactly.
 * A watchdog fails the run if any acquire has waited for 30 s (a lost
 * wake-up or a deadlock: timed waits are 2 ms at most, and the fairness
 * hand-off serves a waiter after about 1 ms).
 */
#define _GNU_SOURCE
#include <polylock/lock.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                               \
    }                                                                        \
  } while (0)

enum { slots = 4, couriers = 2 };

struct slot {
  _Atomic(lock_t *) lock;
  atomic_int users;    /* threads or tokens that may touch the lock */
  atomic_int retiring; /* a retirer is waiting for users to reach 0 */
  atomic_int holders;  /* threads that hold the lock: 0 or 1 */
  atomic_int mailbox;  /* 1: the lock is held, and a courier is to release it */
  long counter;        /* incremented by holders only: guarded by the lock */
  atomic_long acquired; /* since this lock was created */
};

static struct slot slot_table[slots];

enum { max_threads = 256 };
/* When each worker's current acquire started (0: none): the watchdog's view. */
static _Atomic int64_t waiting_since[max_threads];

static struct {
  atomic_long acquired, timed_out, tries_failed, cross_releases, retired, freed_held;
  atomic_int workers_running;
  atomic_int stop;
} stats;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static unsigned next_random(unsigned *state) {
  *state ^= *state << 13;
  *state ^= *state >> 17;
  *state ^= *state << 5;
  return *state;
}

/* ---- using a slot: enter before touching its lock, leave after ----------- */

/* A store-buffering handshake with retire(): each side writes its own flag,
 * then (after a seq_cst fence) reads the other's, so they cannot both miss.
 * The counts are relaxed on purpose: they must not order the workers among
 * themselves, so that ThreadSanitizer sees only the order the lock gives. */
static lock_t *enter(struct slot *s) {
  atomic_fetch_add_explicit(&s->users, 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&s->retiring, memory_order_acquire)) {  /* acquire: a new lock */
    atomic_fetch_sub_explicit(&s->users, 1, memory_order_release);
    return NULL;
  }
  return atomic_load_explicit(&s->lock, memory_order_acquire);
}

static void leave(struct slot *s) {
  /* release: the retirer frees the lock after it sees 0 */
  atomic_fetch_sub_explicit(&s->users, 1, memory_order_release);
}

/* ---- holding ------------------------------------------------------------ */

static void got_it(struct slot *s, lock_t *lock) {
  CHECK(atomic_fetch_add_explicit(&s->holders, 1, memory_order_relaxed) == 0);
  CHECK(lock_locked(lock) == 1);
  ++s->counter;
  atomic_fetch_add_explicit(&s->acquired, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&stats.acquired, 1, memory_order_relaxed);
}

/* The holder's count drops before the release: after it, another thread may
 * hold the lock. */
static void let_go(struct slot *s, lock_t *lock) {
  CHECK(atomic_fetch_sub_explicit(&s->holders, 1, memory_order_relaxed) == 1);
  CHECK(lock_release(lock) == LOCK_OK);
}

/* ---- retiring a slot: free its lock and put a new one in ----------------- */

static void retire(struct slot *s, unsigned *random) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&s->retiring, &expected, 1)) return;
  atomic_thread_fence(memory_order_seq_cst);
  while (atomic_load_explicit(&s->users, memory_order_acquire) != 0) sched_yield();

  lock_t *const old = atomic_load_explicit(&s->lock, memory_order_relaxed);
  CHECK(atomic_load(&s->holders) == 0);
  CHECK(atomic_load(&s->mailbox) == 0);
  CHECK(lock_locked(old) == 0);
  CHECK(s->counter == atomic_load(&s->acquired));
  if (next_random(random) % 2) {  /* a held lock may be freed */
    CHECK(lock_acquire(old, 0) == LOCK_OK);
    atomic_fetch_add(&stats.freed_held, 1);
  }
  lock_free(old);

  lock_t *const fresh = lock_new();
  CHECK(fresh != NULL);
  CHECK(lock_locked(fresh) == 0);
  s->counter = 0;
  atomic_store(&s->acquired, 0);
  atomic_store_explicit(&s->lock, fresh, memory_order_release);
  atomic_store_explicit(&s->retiring, 0, memory_order_release);
  atomic_fetch_add(&stats.retired, 1);
}

/* ---- the threads ---------------------------------------------------------- */

static void critical_section(unsigned *random) {
  const unsigned r = next_random(random) % 64;
  if (r == 0) {
    sched_yield();  /* held across a reschedule: others park, hand-offs happen */
  } else {
    for (volatile unsigned i = 0; i < r; ++i) {
    }
  }
}

static void *worker(void *arg) {
  const uintptr_t index = (uintptr_t)arg;
  unsigned random = (unsigned)index * 2654435761u + 1;
  while (!atomic_load_explicit(&stats.stop, memory_order_relaxed)) {
    struct slot *const s = &slot_table[next_random(&random) % slots];
    const unsigned pick = next_random(&random) % 10000;
    if (pick < 5) {  /* rarely: a lock lives for thousands of acquisitions */
      retire(s, &random);
      continue;
    }
    lock_t *const lock = enter(s);
    if (!lock) continue;

    int64_t timeout;
    if (pick < 4000) {
      timeout = LOCK_WAIT_FOREVER;
    } else if (pick < 7000) {
      timeout = 0;
    } else if (pick < 9500) {
      timeout = 1 + (int64_t)(next_random(&random) % 2000000);
    } else {
      timeout = INT64_MAX;
    }
    const int64_t start = now_ns();
    atomic_store_explicit(&waiting_since[index], start, memory_order_relaxed);
    const int status = lock_acquire(lock, timeout);
    atomic_store_explicit(&waiting_since[index], 0, memory_order_relaxed);
    if (status == LOCK_TIMEOUT) {
      CHECK(timeout != LOCK_WAIT_FOREVER && timeout != INT64_MAX);
      if (timeout == 0) {
        atomic_fetch_add_explicit(&stats.tries_failed, 1, memory_order_relaxed);
      } else {
        CHECK(now_ns() - start >= timeout);  /* never early */
        atomic_fetch_add_explicit(&stats.timed_out, 1, memory_order_relaxed);
      }
      leave(s);
      continue;
    }
    CHECK(status == LOCK_OK);
    got_it(s, lock);
    critical_section(&random);
    if (next_random(&random) % 4 == 0) {
      /* Hand the token to a courier; our use of the slot goes with it. */
      int empty = 0;
      CHECK(atomic_compare_exchange_strong_explicit(&s->mailbox, &empty, 1,
                                                    memory_order_release,
                                                    memory_order_relaxed));
    } else {
      let_go(s, lock);
      leave(s);
    }
  }
  atomic_fetch_sub(&stats.workers_running, 1);
  return NULL;
}

/* Couriers never wait for a lock, so posted tokens always get released. */
static void *courier(void *arg) {
  unsigned random = (unsigned)(uintptr_t)arg * 2246822519u + 7;
  for (;;) {
    /* Read before the scan: tokens posted by workers that have all stopped
     * are in the mailboxes by then. */
    const int running = atomic_load(&stats.workers_running);
    int delivered = 0;
    for (int i = 0; i < slots; ++i) {
      struct slot *const s = &slot_table[i];
      int full = 1;
      if (!atomic_compare_exchange_strong_explicit(&s->mailbox, &full, 0, memory_order_acquire,
                                                   memory_order_relaxed))
        continue;
      let_go(s, atomic_load_explicit(&s->lock, memory_order_relaxed));
      leave(s);
      atomic_fetch_add_explicit(&stats.cross_releases, 1, memory_order_relaxed);
      delivered = 1;
    }
    if (!delivered) {
      if (running == 0) break;
      /* A try of its own now and then, and a short nap. */
      struct slot *const s = &slot_table[next_random(&random) % slots];
      lock_t *const lock = enter(s);
      if (lock) {
        if (lock_acquire(lock, 0) == LOCK_OK) {
          got_it(s, lock);
          let_go(s, lock);
        }
        leave(s);
      }
      nanosleep(&(struct timespec){.tv_nsec = 20000}, NULL);
    }
  }
  return NULL;
}

static long env_number(const char *name, long fallback) {
  const char *text = getenv(name);
  if (!text || !*text) return fallback;
  char *end = NULL;
  const long value = strtol(text, &end, 10);
  CHECK(*end == '\0' && value > 0);
  return value;
}

int main(void) {
  const long seconds = env_number("POLYLOCK_SOAK_SECONDS", 60);
  const long workers = env_number("POLYLOCK_SOAK_THREADS", 16) - couriers;
  CHECK(workers >= 1);
  printf("soak: %ld s, %ld workers + %d couriers on %d locks\n", seconds, workers, couriers,
         slots);
  fflush(stdout);

  for (int i = 0; i < slots; ++i) {
    lock_t *const lock = lock_new();
    CHECK(lock != NULL);
    atomic_init(&slot_table[i].lock, lock);
  }
  atomic_init(&stats.workers_running, (int)workers);

  pthread_t threads[max_threads];
  CHECK(workers + couriers < max_threads);
  for (long i = 0; i < workers; ++i)
    CHECK(pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
  for (long i = 0; i < couriers; ++i)
    CHECK(pthread_create(&threads[workers + i], NULL, courier, (void *)(uintptr_t)(i + 1)) == 0);

  /* Watchdog, until every worker is back: no acquire may wait for 30 s.
   * (Timed waits last 2 ms at most, and a waiter is handed the lock after
   * about 1 ms, so a wait that long is a lost wake-up or a deadlock.) */
  const int64_t second = 1000000000;
  const int64_t end = now_ns() + (int64_t)seconds * second;
  while (atomic_load(&stats.workers_running) > 0) {
    sleep(1);
    const int64_t now = now_ns();
    if (now >= end) atomic_store(&stats.stop, 1);
    for (long i = 1; i <= workers; ++i) {
      const int64_t since = atomic_load_explicit(&waiting_since[i], memory_order_relaxed);
      if (since != 0 && now - since > 30 * second) {
        fprintf(stderr, "soak: worker %ld has waited in lock_acquire for 30 s: a lost wake-up "
                "or a deadlock\n", i);
        for (int k = 0; k < slots; ++k)
          fprintf(stderr, "  lock %d: users %d, holders %d, mailbox %d, retiring %d\n", k,
                  atomic_load(&slot_table[k].users), atomic_load(&slot_table[k].holders),
                  atomic_load(&slot_table[k].mailbox), atomic_load(&slot_table[k].retiring));
        abort();
      }
    }
  }
  for (long i = 0; i < workers + couriers; ++i) CHECK(pthread_join(threads[i], NULL) == 0);

  long total = 0;
  for (int i = 0; i < slots; ++i) {
    struct slot *const s = &slot_table[i];
    CHECK(atomic_load(&s->users) == 0);
    CHECK(atomic_load(&s->holders) == 0);
    CHECK(atomic_load(&s->mailbox) == 0);
    CHECK(s->counter == atomic_load(&s->acquired));
    lock_t *const lock = atomic_load(&s->lock);
    CHECK(lock_locked(lock) == 0);
    total += s->counter;
    lock_free(lock);
  }
  printf("soak: ok: %ld acquisitions (%ld since the last retirements, exact), %ld failed tries, "
         "%ld timed out, %ld released by another thread, %ld locks retired (%ld freed while "
         "held)\n",
         atomic_load(&stats.acquired), total, atomic_load(&stats.tries_failed),
         atomic_load(&stats.timed_out), atomic_load(&stats.cross_releases),
         atomic_load(&stats.retired), atomic_load(&stats.freed_held));
  return 0;
}
