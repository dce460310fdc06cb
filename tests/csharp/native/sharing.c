/* polylock's C# tests: a small native library that makes a lock and hands it
 * to C# (Lock.FromHandle), hammers it from native threads with a plain
 * counter while .NET threads do the same, and frees its own reference in
 * either order. It links the build tree's libpolylock, a different copy from
 * the NuGet package's that C# loads: the lock crosses copies too. */
#include <polylock/lock.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define SHARING_API __attribute__((visibility("default")))

SHARING_API lock_t *sharing_make(void) { return lock_new(); }

SHARING_API void sharing_free(lock_t *lock) { lock_free(lock); }

struct job {
  lock_t *lock;
  int64_t *counter;
  int rounds;
  int first;
  int errors;
};

/* Every way in and out a C user has: blocking, try, timed, and the two
 * transitions of lock.h's fast-path contract, falling back as it says. */
static void take(lock_t *lock, int way, struct job *job) {
  _Atomic uint32_t *word = (_Atomic uint32_t *)lock_fast_word(lock);
  uint32_t expected = LOCK_FAST_FREE;
  switch (way % 4) {
    case 0:
      if (lock_acquire(lock, LOCK_WAIT_FOREVER) != LOCK_OK) job->errors++;
      break;
    case 1:
      while (lock_acquire(lock, 0) != LOCK_OK) sched_yield();
      break;
    case 2:
      while (lock_acquire(lock, 1000000) != LOCK_OK) {
      }
      break;
    default:
      if (!word || !atomic_compare_exchange_strong_explicit(word, &expected, LOCK_FAST_HELD,
                                                            memory_order_acquire,
                                                            memory_order_relaxed)) {
        if (lock_acquire(lock, LOCK_WAIT_FOREVER) != LOCK_OK) job->errors++;
      }
      break;
  }
}

static void give_back(lock_t *lock, int way, struct job *job) {
  _Atomic uint32_t *word = (_Atomic uint32_t *)lock_fast_word(lock);
  uint32_t expected = LOCK_FAST_HELD;
  if (way % 2 == 0 && word &&
      atomic_compare_exchange_strong_explicit(word, &expected, LOCK_FAST_FREE,
                                              memory_order_release, memory_order_relaxed))
    return;
  if (lock_release(lock) != LOCK_OK) job->errors++;
}

static void *hammer(void *argument) {
  struct job *job = argument;
  for (int i = 0; i < job->rounds; i++) {
    take(job->lock, i + job->first, job);
    ++*(volatile int64_t *)job->counter; /* a plain read-modify-write: only the lock orders it */
    give_back(job->lock, i / 4 + job->first, job);
  }
  return NULL;
}

/* Runs `threads` native threads of `rounds` increments each on `counter`
 * under `lock`; returns how many calls failed (0), or -1 if a thread could
 * not start. */
SHARING_API int sharing_hammer(lock_t *lock, int64_t *counter, int threads, int rounds) {
  if (threads > 64) return -1;
  pthread_t ids[64];
  struct job jobs[64];
  int started = 0;
  for (; started < threads; started++) {
    jobs[started] = (struct job){lock, counter, rounds, started, 0};
    if (pthread_create(&ids[started], NULL, hammer, &jobs[started]) != 0) break;
  }
  int errors = started == threads ? 0 : -1;
  for (int t = 0; t < started; t++) {
    pthread_join(ids[t], NULL);
    if (errors >= 0) errors += jobs[t].errors;
  }
  return errors;
}

/* The state C sees, for checks from C#: 1 locked, 0 not. */
SHARING_API int sharing_locked(lock_t *lock) { return lock_locked(lock); }
