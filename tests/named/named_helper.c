/* polylock named-lock tests — the other processes of named_test.c, started
 * with posix_spawn. Each mode is one role:
 *
 *   hammer NAME FILE SLOT N WAIT  N journaled increments of FILE's counter
 *                                 under NAME; WAIT is forever, timed or try.
 *                                 Checks the counter's invariants at every
 *                                 acquisition; repairs after LOCK_OWNERDEAD.
 *   victim NAME FILE SLOT         increments for ever (until SIGKILLed).
 *   take NAME                     acquires (forever) and exits holding it.
 *   release NAME                  releases once; exit status = 10 + status.
 *   try NAME TIMEOUT_NS           acquires once; exit status = 10 + status.
 *   thread-holds NAME             a thread acquires and exits; the process
 *                                 then waits for its stdin to close.
 *   leader-exits NAME             the main thread acquires and calls
 *                                 pthread_exit; another thread waits for
 *                                 stdin to close, then the process exits.
 *   child-without-fds NAME        a fork child that may open no file (so
 *                                 cannot read its own /proc entry) acquires
 *                                 and waits for stdin to close.
 *
 * Exit status 0 is success, 1 a broken invariant (with a message). */
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "polylock/lock.h"

static lock_t *open_or_die(const char *name) {
  int status = -100;
  lock_t *lock = lock_open(name, &status);
  if (!lock || status != LOCK_OK) {
    fprintf(stderr, "helper: lock_open(%s) = %d\n", name, status);
    exit(1);
  }
  return lock;
}

static int fail(const char *what, counter_t *c) {
  fprintf(stderr, "helper %d: %s (count %lld, slots %lld, pending %lld)\n", (int)getpid(), what,
          (long long)c->count, (long long)counter_sum(c), (long long)c->pending);
  return 1;
}

/* Takes the lock as WAIT says; returns LOCK_OK or LOCK_OWNERDEAD. */
static int take(lock_t *lock, const char *wait, unsigned *seed) {
  for (;;) {
    int64_t timeout = LOCK_WAIT_FOREVER;
    if (strcmp(wait, "timed") == 0) timeout = 100000 + (int64_t)(rand_r(seed) % 5000000);
    if (strcmp(wait, "try") == 0) timeout = 0;
    const int status = lock_acquire(lock, timeout);
    if (status == LOCK_OK || status == LOCK_OWNERDEAD) return status;
    if (status != LOCK_TIMEOUT) {
      fprintf(stderr, "helper: lock_acquire = %d\n", status);
      exit(1);
    }
    if (timeout == 0) sched_yield();
  }
}

/* One increment under the lock, checking what the lock promises. */
static int critical_section(lock_t *lock, counter_t *c, int slot, const char *wait,
                            unsigned *seed) {
  const int status = take(lock, wait, seed);
  /* A dead holder may have counted itself in, and will never count out. */
  if (status == LOCK_OWNERDEAD) counter_store(&c->holders, 0);
  if (__atomic_fetch_add(&c->holders, 1, __ATOMIC_SEQ_CST) != 0)
    return fail("two holders at once", c);
  counter_store(&c->holder_slot, 1 + slot);
  if (status == LOCK_OWNERDEAD) {
    __atomic_fetch_add(&c->owner_dead, 1, __ATOMIC_SEQ_CST);
    if (counter_repair(c)) __atomic_fetch_add(&c->repaired, 1, __ATOMIC_SEQ_CST);
  } else if (counter_load(&c->pending)) {
    return fail("LOCK_OK, but a dead holder's increment was half-done", c);
  }
  const int64_t before = counter_load(&c->count);
  if (before != counter_sum(c)) return fail("count differs from the slots' sum", c);
  counter_increment(c, slot);
  if (counter_load(&c->count) != before + 1) return fail("count changed under the lock", c);
  counter_store(&c->holder_slot, 0);
  __atomic_fetch_sub(&c->holders, 1, __ATOMIC_SEQ_CST);
  if (lock_release(lock) != LOCK_OK) return fail("release failed", c);
  return 0;
}

static void wait_for_stdin_to_close(void) {
  char byte;
  while (read(0, &byte, 1) > 0) {
  }
}

static void *take_and_leave(void *lock) {
  if (lock_acquire((lock_t *)lock, LOCK_WAIT_FOREVER) != LOCK_OK) exit(1);
  return NULL;
}

static void *wait_then_exit(void *unused) {
  (void)unused;
  wait_for_stdin_to_close();
  exit(0);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *mode = argv[1];
  lock_t *lock = open_or_die(argv[2]);
  unsigned seed = (unsigned)getpid();

  if (strcmp(mode, "hammer") == 0 && argc == 7) {
    counter_t *c = counter_map(argv[3], 0);
    if (!c) return 2;
    const int slot = atoi(argv[4]);
    const long n = atol(argv[5]);
    for (long i = 0; i < n; ++i)
      if (critical_section(lock, c, slot, argv[6], &seed)) return 1;
    lock_free(lock);
    return 0;
  }
  if (strcmp(mode, "victim") == 0 && argc == 5) {
    counter_t *c = counter_map(argv[3], 0);
    if (!c) return 2;
    const int slot = atoi(argv[4]);
    for (;;)
      if (critical_section(lock, c, slot, "forever", &seed)) return 1;
  }
  /* Closing the handle (lock_free) leaves a held lock held: the modes below
   * close it before they exit, holding or not. */
  if (strcmp(mode, "take") == 0) {
    const int status = lock_acquire(lock, LOCK_WAIT_FOREVER);
    lock_free(lock);
    return status == LOCK_OK || status == LOCK_OWNERDEAD ? 0 : 1;
  }
  if (strcmp(mode, "release") == 0 || (strcmp(mode, "try") == 0 && argc == 4)) {
    const int status = mode[0] == 'r' ? lock_release(lock) : lock_acquire(lock, atoll(argv[3]));
    lock_free(lock);
    return 10 + status;
  }
  if (strcmp(mode, "thread-holds") == 0) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, take_and_leave, lock) != 0) return 2;
    pthread_join(thread, NULL);
    lock_free(lock);
    if (write(1, "held\n", 5) != 5) return 2;
    wait_for_stdin_to_close();
    return 0;
  }
  if (strcmp(mode, "leader-exits") == 0) {
    if (lock_acquire(lock, LOCK_WAIT_FOREVER) != LOCK_OK) return 1;
    lock_free(lock);
    pthread_t thread;
    if (pthread_create(&thread, NULL, wait_then_exit, NULL) != 0) return 2;
    if (write(1, "held\n", 5) != 5) return 2;
    pthread_exit(NULL);
  }
  if (strcmp(mode, "child-without-fds") == 0) {
    const pid_t child = fork();
    if (child == 0) {
      const struct rlimit none = {0, 0};
      if (setrlimit(RLIMIT_NOFILE, &none) != 0) _exit(2);
      if (lock_acquire(lock, LOCK_WAIT_FOREVER) != LOCK_OK) _exit(1);
      if (write(1, "held\n", 5) != 5) _exit(2);
      wait_for_stdin_to_close();
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    lock_free(lock);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
  }
  fprintf(stderr, "helper: bad arguments\n");
  return 2;
}
