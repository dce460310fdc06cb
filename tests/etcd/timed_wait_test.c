/* polylock etcd kind: a timed acquire cut short must not end a hold, nor
 * report a death that did not happen. Usage: test_etcd_timed_wait ENDPOINTS_FILE
 *
 * Three handles of one etcd lock in one process, nobody dying: HOLDER takes
 * the lock; a thread releases it through RELEASER after 0-30 ms (a release
 * by another handle, as another process would); meanwhile WAITER waits with
 * 1-20 ms timeouts, retried, until it gets the lock. ROUNDS rounds with WAITER
 * a separate handle, ROUNDS with WAITER the holding handle itself (the lock is not
 * owned: a holder may wait on it again). Every acquire must be LOCK_OK or
 * LOCK_TIMEOUT: LOCK_OWNERDEAD would say a holder died. (While etcd_lock.cpp
 * abandoned the handle's lease when a deadline cut a claim short, 40 rounds
 * each way failed in 1 to 6 rounds, or in none in about half the runs; hence
 * ROUNDS.) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "polylock/lock.h"

enum { ROUNDS = 100 };

static lock_t *releaser_handle;
static atomic_int release_asked;
static atomic_int done;
static unsigned seed = 1;

static void *release_soon(void *unused) {
  (void)unused;
  while (!atomic_load(&done)) {
    if (!atomic_exchange(&release_asked, 0)) {
      const struct timespec tick = {0, 100000};
      nanosleep(&tick, NULL);
      continue;
    }
    const struct timespec delay = {0, (long)(rand_r(&seed) % 30000000)};
    nanosleep(&delay, NULL);
    const int status = lock_release(releaser_handle);
    if (status != LOCK_OK) fprintf(stderr, "release by another handle: %d\n", status);
  }
  return NULL;
}

/* Rounds in which WAITER's retried timed acquire was answered LOCK_OWNERDEAD. */
static int rounds(lock_t *holder, lock_t *waiter, int count) {
  int owner_dead = 0;
  for (int i = 0; i < count; ++i) {
    if (lock_acquire(holder, 30000000000LL) > LOCK_OWNERDEAD) exit(2);
    atomic_store(&release_asked, 1);
    int status;
    unsigned local = seed + (unsigned)i;
    while ((status = lock_acquire(waiter, (1 + rand_r(&local) % 20) * 1000000LL)) == LOCK_TIMEOUT) {
    }
    if (status == LOCK_OWNERDEAD) ++owner_dead;
    else if (status != LOCK_OK) fprintf(stderr, "acquire: %d\n", status);
    if (lock_release(waiter) != LOCK_OK) fprintf(stderr, "release by the waiter failed\n");
  }
  return owner_dead;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  char endpoints[512] = "";
  FILE *file = fopen(argv[1], "r");
  if (!file || !fgets(endpoints, sizeof endpoints, file)) return 1;
  fclose(file);
  endpoints[strcspn(endpoints, "\n")] = 0;
  char name[700];
  snprintf(name, sizeof name, "etcd://%s/test-%d-timed-wait?ttl=3", endpoints, (int)getpid());
  lock_t *holder = lock_open(name, NULL), *waiter = lock_open(name, NULL);
  releaser_handle = lock_open(name, NULL);
  if (!holder || !waiter || !releaser_handle) return 1;
  pthread_t thread;
  pthread_create(&thread, NULL, release_soon, NULL);
  const int separate = rounds(holder, waiter, ROUNDS);
  const int same = rounds(holder, holder, ROUNDS);
  atomic_store(&done, 1);
  pthread_join(thread, NULL);
  printf("LOCK_OWNERDEAD with nobody dead: %d of %d rounds (separate waiting handle), "
         "%d of %d (the holding handle waiting)\n", separate, ROUNDS, same, ROUNDS);
  lock_free(holder);
  lock_free(waiter);
  lock_free(releaser_handle);
  return separate || same ? 1 : 0;
}
