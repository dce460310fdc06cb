/* See hammer.h. */
#include "hammer.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

lock_t *peer_new(void) { return lock_new(); }

void peer_free(lock_t *lock) { lock_free(lock); }

typedef struct {
  lock_t *lock;
  int rounds;
  long *counter;
  int *holders;
  int *overlaps;
  int status; /* out */
} Hammer;

/* One acquire of the kind `round` picks; LOCK_OK once taken. */
static int take(lock_t *lock, int round) {
  int status;
  switch (round % 3) {
    case 0:
      return lock_acquire(lock, LOCK_WAIT_FOREVER);
    case 1: /* try until it is free */
      while ((status = lock_acquire(lock, 0)) == LOCK_TIMEOUT) sched_yield();
      return status;
    default: /* 100 ms at a time */
      while ((status = lock_acquire(lock, 100 * 1000 * 1000)) == LOCK_TIMEOUT) {
      }
      return status;
  }
}

static void *hammer(void *argument) {
  Hammer *h = (Hammer *)argument;
  for (int round = 0; round < h->rounds; round++) {
    int status = take(h->lock, round);
    if (status != LOCK_OK) {
      h->status = status;
      return NULL;
    }
    /* Atomics only so that the checks are well defined even if the lock is
     * broken; under a working lock nobody else touches these meanwhile. */
    if (__atomic_fetch_add(h->holders, 1, __ATOMIC_SEQ_CST) != 0)
      __atomic_fetch_add(h->overlaps, 1, __ATOMIC_SEQ_CST);
    long seen = __atomic_load_n(h->counter, __ATOMIC_RELAXED);
    if (round % 16 == 0) sched_yield(); /* widen the window a lost update needs */
    __atomic_store_n(h->counter, seen + 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(h->holders, 1, __ATOMIC_SEQ_CST);
    status = lock_release(h->lock);
    if (status != LOCK_OK) {
      h->status = status;
      return NULL;
    }
  }
  return NULL;
}

int peer_hammer(lock_t *lock, int threads, int rounds, long *counter, int *holders,
                int *overlaps) {
  pthread_t *ids = calloc((size_t)threads, sizeof *ids);
  Hammer *work = calloc((size_t)threads, sizeof *work);
  int status = LOCK_OK;
  int started = 0;
  if (!ids || !work) status = LOCK_ENOMEM;
  for (; status == LOCK_OK && started < threads; started++) {
    work[started] = (Hammer){lock, rounds, counter, holders, overlaps, LOCK_OK};
    if (pthread_create(&ids[started], NULL, hammer, &work[started]) != 0) status = LOCK_ESYS;
  }
  if (status != LOCK_OK) started--; /* the one that failed did not start */
  for (int i = 0; i < started; i++) {
    pthread_join(ids[i], NULL);
    if (status == LOCK_OK) status = work[i].status;
  }
  free(ids);
  free(work);
  return status;
}
