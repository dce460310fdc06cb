/* The C ABI of <polylock/lock.h>, tested from C with CMocka. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "polylock/lock.h"

static int64_t now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int setup_lock(void **state) {
  *state = lock_new();
  return *state ? 0 : -1;
}

static int teardown_lock(void **state) {
  lock_free(*state);
  return 0;
}

/* ---- Lifetime and version -------------------------------------------------- */

static void new_lock_is_unlocked(void **state) {
  assert_int_equal(lock_locked(*state), 0);
}

static void free_accepts_null_and_held_locks(void **state) {
  (void)state;
  lock_free(NULL);
  lock_t *held = lock_new();
  assert_non_null(held);
  assert_int_equal(lock_acquire(held, LOCK_WAIT_FOREVER), LOCK_OK);
  lock_free(held); /* ASan and valgrind would object to a leak or a bad free */
}

static void version_matches_the_header(void **state) {
  (void)state;
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", LOCK_VERSION_MAJOR, LOCK_VERSION_MINOR,
           LOCK_VERSION_PATCH);
  assert_string_equal(lock_version(), expected);
}

static void status_codes_keep_their_values(void **state) {
  (void)state;
  assert_int_equal(LOCK_OK, 0);
  assert_int_equal(LOCK_TIMEOUT, 1);
  assert_int_equal(LOCK_EINVAL, -1);
  assert_int_equal(LOCK_ENOTLOCKED, -2);
  assert_int_equal(LOCK_EINTR, -3);
  assert_int_equal(LOCK_OWNERDEAD, 2);
  assert_int_equal(LOCK_ENOTSUP, -4);
  assert_int_equal(LOCK_ENOMEM, -5);
  assert_int_equal(LOCK_EACCES, -6);
  assert_int_equal(LOCK_ESYS, -7);
  assert_int_equal(LOCK_FAST_FREE, 0);
  assert_int_equal(LOCK_FAST_HELD, 1);
  assert_true(LOCK_WAIT_FOREVER == -1);
}

static void strerror_names_every_status(void **state) {
  (void)state;
  const int statuses[] = {LOCK_OK,     LOCK_TIMEOUT, LOCK_EINVAL, LOCK_ENOTLOCKED,
                          LOCK_EINTR,  LOCK_OWNERDEAD, LOCK_ENOTSUP, LOCK_ENOMEM,
                          LOCK_EACCES, LOCK_ESYS};
  for (size_t i = 0; i < sizeof statuses / sizeof *statuses; ++i) {
    const char *text = lock_strerror(statuses[i]);
    assert_non_null(text);
    assert_string_not_equal(text, "unknown");
    for (size_t j = 0; j < i; ++j) assert_string_not_equal(text, lock_strerror(statuses[j]));
  }
  assert_string_equal(lock_strerror(3), "unknown");
  assert_string_equal(lock_strerror(-8), "unknown");
  assert_string_equal(lock_strerror(INT32_MIN), "unknown");
  assert_string_equal(lock_strerror(INT32_MAX), "unknown");
}

/* ---- Acquire and release --------------------------------------------------- */

static void acquire_then_release(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OK);
  assert_int_equal(lock_locked(lock), 1);
  assert_int_equal(lock_release(lock), LOCK_OK);
  assert_int_equal(lock_locked(lock), 0);
}

static void try_on_a_held_lock_times_out(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  assert_int_equal(lock_acquire(lock, 0), LOCK_TIMEOUT);
  assert_int_equal(lock_locked(lock), 1);
  assert_int_equal(lock_release(lock), LOCK_OK);
}

static void release_of_unlocked_lock_changes_nothing(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_release(lock), LOCK_ENOTLOCKED);
  assert_int_equal(lock_locked(lock), 0);
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  assert_int_equal(lock_release(lock), LOCK_OK);
  assert_int_equal(lock_release(lock), LOCK_ENOTLOCKED);
  assert_int_equal(lock_locked(lock), 0);
}

static void timed_acquire_waits_its_timeout(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  const int64_t start = now_ns();
  assert_int_equal(lock_acquire(lock, 20 * 1000000), LOCK_TIMEOUT);
  const int64_t waited = now_ns() - start;
  assert_true(waited >= 20 * 1000000);
  assert_true(waited < (int64_t)10 * 1000000000); /* generous: shared machines */
  assert_int_equal(lock_locked(lock), 1);
  assert_int_equal(lock_release(lock), LOCK_OK);
}

static void largest_timeout_on_a_free_lock(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, INT64_MAX), LOCK_OK);
  assert_int_equal(lock_release(lock), LOCK_OK);
}

/* ---- Bad input --------------------------------------------------------------- */

static void null_handles_are_einval(void **state) {
  (void)state;
  assert_int_equal(lock_acquire(NULL, LOCK_WAIT_FOREVER), LOCK_EINVAL);
  assert_int_equal(lock_acquire(NULL, 0), LOCK_EINVAL);
  assert_int_equal(lock_acquire(NULL, INT64_MAX), LOCK_EINVAL);
  assert_int_equal(lock_release(NULL), LOCK_EINVAL);
  assert_int_equal(lock_locked(NULL), LOCK_EINVAL);
  assert_int_equal(lock_acquire_interruptible(NULL, 0, NULL, NULL), LOCK_EINVAL);
  assert_int_equal(lock_interrupt(NULL), LOCK_EINVAL);
  assert_int_equal(lock_reinit(NULL), LOCK_EINVAL);
}

static void bad_timeouts_are_einval_and_change_nothing(void **state) {
  lock_t *lock = *state;
  const int64_t bad[] = {-2, -1000, INT64_MIN, INT64_MIN + 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i) {
    assert_int_equal(lock_acquire(lock, bad[i]), LOCK_EINVAL);
    assert_int_equal(lock_locked(lock), 0);
    assert_int_equal(lock_acquire_interruptible(lock, bad[i], NULL, NULL), LOCK_EINVAL);
    assert_int_equal(lock_locked(lock), 0);
  }
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i) {
    assert_int_equal(lock_acquire(lock, bad[i]), LOCK_EINVAL);
    assert_int_equal(lock_locked(lock), 1);
  }
  assert_int_equal(lock_release(lock), LOCK_OK);
}

/* ---- Threads ------------------------------------------------------------------ */

struct waiter {
  lock_t *lock;
  int64_t timeout_ns;
  int status;
};

static void *acquire_in_thread(void *argument) {
  struct waiter *waiter = argument;
  waiter->status = lock_acquire(waiter->lock, waiter->timeout_ns);
  return NULL;
}

static void *release_in_thread(void *argument) {
  struct waiter *waiter = argument;
  waiter->status = lock_release(waiter->lock);
  return NULL;
}

static void another_thread_may_release(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OK);
  struct waiter releaser = {lock, 0, -100};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, release_in_thread, &releaser), 0);
  pthread_join(thread, NULL);
  assert_int_equal(releaser.status, LOCK_OK);
  assert_int_equal(lock_locked(lock), 0);
}

static void release_wakes_a_waiter_with_the_largest_timeout(void **state) {
  /* INT64_MAX must mean "a very long time", not overflow into "already late". */
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  struct waiter waiter = {lock, INT64_MAX, -100};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, acquire_in_thread, &waiter), 0);
  struct timespec pause = {0, 20 * 1000000};
  nanosleep(&pause, NULL);
  assert_int_equal(lock_release(lock), LOCK_OK);
  pthread_join(thread, NULL);
  assert_int_equal(waiter.status, LOCK_OK);
  assert_int_equal(lock_locked(lock), 1);
  assert_int_equal(lock_release(lock), LOCK_OK);
}

#define WORKERS 8
#define ROUNDS 20000

struct shared_counter {
  lock_t *lock;
  long counter;
  int holders;
  int overlaps;
  long entries; /* successful acquires, counted atomically */
};

static void *count_under_lock(void *argument) {
  struct shared_counter *shared = argument;
  for (int i = 0; i < ROUNDS; ++i) {
    /* Blocking, try and timed acquires, mixed. */
    const int64_t timeout = i % 3 == 0 ? LOCK_WAIT_FOREVER : i % 3 == 1 ? 0 : 100000;
    if (lock_acquire(shared->lock, timeout) != LOCK_OK) continue;
    if (__atomic_fetch_add(&shared->holders, 1, __ATOMIC_RELAXED) != 0)
      __atomic_fetch_add(&shared->overlaps, 1, __ATOMIC_RELAXED);
    ++shared->counter; /* a plain increment: lost updates if two threads were in */
    __atomic_fetch_add(&shared->entries, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&shared->holders, 1, __ATOMIC_RELAXED);
    if (lock_release(shared->lock) != LOCK_OK) __atomic_fetch_add(&shared->overlaps, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void threads_keep_an_exact_count(void **state) {
  struct shared_counter shared = {*state, 0, 0, 0, 0};
  pthread_t threads[WORKERS];
  for (int i = 0; i < WORKERS; ++i)
    assert_int_equal(pthread_create(&threads[i], NULL, count_under_lock, &shared), 0);
  for (int i = 0; i < WORKERS; ++i) pthread_join(threads[i], NULL);
  assert_int_equal(shared.overlaps, 0);
  assert_int_equal(shared.counter, shared.entries);
  /* Every blocking acquire (a third of the rounds) must have got in. */
  assert_true(shared.counter >= (long)WORKERS * ((ROUNDS + 2) / 3));
  assert_true(shared.counter <= (long)WORKERS * ROUNDS);
  assert_int_equal(lock_locked(*state), 0);
}

/* ---- Since 1.1 -------------------------------------------------------------------- */

static int stop_always(void *context) {
  __atomic_fetch_add((int *)context, 1, __ATOMIC_RELEASE);
  return 1;
}

static void interruptible_acquire_works_like_acquire(void **state) {
  lock_t *lock = *state;
  int asked = 0;
  assert_int_equal(lock_acquire_interruptible(lock, LOCK_WAIT_FOREVER, stop_always, &asked), LOCK_OK);
  assert_int_equal(lock_acquire_interruptible(lock, 0, stop_always, &asked), LOCK_TIMEOUT);
  assert_int_equal(lock_acquire_interruptible(lock, 1000000, NULL, NULL), LOCK_TIMEOUT);
  assert_int_equal(asked, 0); /* nothing disturbed the waits */
  assert_int_equal(lock_release(lock), LOCK_OK);
}

struct interruptible_waiter {
  lock_t *lock;
  int asked;
  int status;
};

static void *wait_interruptibly(void *argument) {
  struct interruptible_waiter *waiter = argument;
  waiter->status = lock_acquire_interruptible(waiter->lock, LOCK_WAIT_FOREVER, stop_always, &waiter->asked);
  return NULL;
}

static void interrupt_stops_a_waiter(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  struct interruptible_waiter waiter = {lock, 0, -100};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, wait_interruptibly, &waiter), 0);
  /* Interrupt until the waiter has heard it: it may not be waiting yet. */
  while (__atomic_load_n(&waiter.asked, __ATOMIC_ACQUIRE) == 0) {
    assert_int_equal(lock_interrupt(lock), LOCK_OK);
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }
  pthread_join(thread, NULL);
  assert_int_equal(waiter.status, LOCK_EINTR);
  assert_int_equal(lock_locked(lock), 1); /* the stopped waiter took nothing */
  assert_int_equal(lock_release(lock), LOCK_OK);
  assert_int_equal(lock_interrupt(lock), LOCK_OK); /* with no waiter: a no-op */
}

static void reinit_unlocks(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  assert_int_equal(lock_reinit(lock), LOCK_OK);
  assert_int_equal(lock_locked(lock), 0);
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  assert_int_equal(lock_release(lock), LOCK_OK);
}

/* ---- Since 1.2: references ------------------------------------------------------ */

static void ref_returns_the_lock_and_each_reference_frees_once(void **state) {
  (void)state;
  assert_null(lock_ref(NULL));
  lock_t *lock = lock_new();
  assert_non_null(lock);
  assert_ptr_equal(lock_ref(lock), lock);
  assert_ptr_equal(lock_ref(lock), lock);
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  lock_free(lock); /* two references left: the lock lives, still held */
  lock_free(lock);
  assert_int_equal(lock_locked(lock), 1);
  assert_int_equal(lock_release(lock), LOCK_OK);
  lock_free(lock); /* the last: freed (ASan and valgrind see a leak or a double free) */
}

static void ref_refuses_what_is_not_a_lock(void **state) {
  (void)state;
  uint64_t not_a_lock[8] = {0};
  assert_null(lock_ref((lock_t *)not_a_lock));
  memset(not_a_lock, 0xa5, sizeof not_a_lock);
  assert_null(lock_ref((lock_t *)not_a_lock));
  /* Integers a binding may be handed as a handle (Java's long, .NET's nint),
   * refused without being read: reading any of them would crash. */
  assert_null(lock_ref((lock_t *)(uintptr_t)8));
  assert_null(lock_ref((lock_t *)(uintptr_t)4095));
  assert_null(lock_ref((lock_t *)UINTPTR_MAX));
  assert_null(lock_ref((lock_t *)(uintptr_t)-4096)); /* the last page */
#if defined(__x86_64__) || defined(_M_X64)
  assert_null(lock_ref((lock_t *)(UINTPTR_MAX / 2 + 1))); /* the kernel's half */
#endif
  lock_t *lock = lock_new();
  assert_non_null(lock);
  assert_null(lock_ref((lock_t *)((uintptr_t)lock + 1))); /* misaligned */
  lock_free(lock);
  /* Never mapped by any system unless a program placed memory there itself:
   * the first 64 KiB (4096 is the second page) and, on x86-64, 2^47 and up. */
  assert_null(lock_ref((lock_t *)(uintptr_t)4096));
  assert_null(lock_ref((lock_t *)(uintptr_t)65528));
#if defined(__x86_64__) || defined(_M_X64)
  assert_null(lock_ref((lock_t *)((uintptr_t)1 << 47)));
  assert_null(lock_ref((lock_t *)(uintptr_t)0x0000800000001000ull)); /* non-canonical */
#endif
}

#define REF_THREADS 8
#define REF_ROUNDS 20000

static void *ref_and_free(void *argument) {
  lock_t *lock = argument;
  for (int i = 0; i < REF_ROUNDS; ++i) {
    lock_t *again = lock_ref(lock);
    if (lock_acquire(again, 0) == LOCK_OK) lock_release(again);
    lock_free(again);
  }
  lock_free(lock); /* this thread's own reference, dropped in any order */
  return NULL;
}

static void references_are_exact_under_races(void **state) {
  (void)state;
  for (int round = 0; round < 20; ++round) {
    lock_t *lock = lock_new();
    assert_non_null(lock);
    pthread_t threads[REF_THREADS];
    for (int i = 0; i < REF_THREADS; ++i) {
      assert_ptr_equal(lock_ref(lock), lock); /* one reference per thread */
      assert_int_equal(pthread_create(&threads[i], NULL, ref_and_free, lock), 0);
    }
    lock_free(lock); /* the maker's, while the threads race */
    for (int i = 0; i < REF_THREADS; ++i) pthread_join(threads[i], NULL);
    /* Freed exactly once by whichever dropped last: a miscount is a leak or a
     * use after free, which the ASan and valgrind runs of this suite report. */
  }
}

/* ---- Since 1.2: the fast-path word --------------------------------------------- */

static void fast_word_follows_the_frozen_contract(void **state) {
  lock_t *lock = *state;
  assert_null(lock_fast_word(NULL));
  uint32_t *word = lock_fast_word(lock);
  assert_non_null(word);
  assert_int_equal((uintptr_t)word % 4, 0);
  assert_int_equal(__atomic_load_n(word, __ATOMIC_RELAXED), LOCK_FAST_FREE);

  /* A binding's take is an acquire... */
  uint32_t expected = LOCK_FAST_FREE;
  assert_true(__atomic_compare_exchange_n(word, &expected, LOCK_FAST_HELD, 0, __ATOMIC_ACQUIRE,
                                          __ATOMIC_RELAXED));
  assert_int_equal(lock_locked(lock), 1);
  assert_int_equal(lock_acquire(lock, 0), LOCK_TIMEOUT);
  assert_int_equal(lock_release(lock), LOCK_OK);
  assert_int_equal(__atomic_load_n(word, __ATOMIC_RELAXED), LOCK_FAST_FREE);

  /* ... and its give-back a release. */
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  assert_int_equal(__atomic_load_n(word, __ATOMIC_RELAXED), LOCK_FAST_HELD);
  expected = LOCK_FAST_HELD;
  assert_true(__atomic_compare_exchange_n(word, &expected, LOCK_FAST_FREE, 0, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
  assert_int_equal(lock_locked(lock), 0);
  assert_int_equal(lock_release(lock), LOCK_ENOTLOCKED);

  /* With a thread parked, the word is neither value: the give-back CAS fails
   * and the binding must call lock_release, which wakes the waiter. */
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  struct waiter waiter = {lock, LOCK_WAIT_FOREVER, -100};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, acquire_in_thread, &waiter), 0);
  while (__atomic_load_n(word, __ATOMIC_RELAXED) == LOCK_FAST_HELD) {
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }
  assert_int_not_equal(__atomic_load_n(word, __ATOMIC_RELAXED) & LOCK_FAST_HELD, 0);
  expected = LOCK_FAST_HELD;
  assert_false(__atomic_compare_exchange_n(word, &expected, LOCK_FAST_FREE, 0, __ATOMIC_RELEASE,
                                           __ATOMIC_RELAXED));
  assert_int_equal(lock_release(lock), LOCK_OK);
  pthread_join(thread, NULL);
  assert_int_equal(waiter.status, LOCK_OK);
  assert_int_equal(lock_release(lock), LOCK_OK);
}

/* 1.2: the stop function is asked out of the queue, holding nothing, so it
 * may take the lock its own wait is for (lock.h, lock_stop_fn). */
struct reentrant_stop {
  lock_t *lock;
  int asked;         /* atomic */
  int inner_waiting; /* atomic */
  int inner_status;  /* atomic */
};

static int stop_takes_the_same_lock(void *context) {
  struct reentrant_stop *probe = context;
  if (__atomic_fetch_add(&probe->asked, 1, __ATOMIC_ACQ_REL) != 1) return 0;
  __atomic_store_n(&probe->inner_waiting, 1, __ATOMIC_RELEASE);
  /* Bounded, so that the bug fails the test instead of hanging it. */
  const int status = lock_acquire(probe->lock, 5000 * 1000000LL);
  if (status == LOCK_OK) lock_release(probe->lock);
  __atomic_store_n(&probe->inner_status, status, __ATOMIC_RELEASE);
  return 0;
}

struct outer_wait {
  struct reentrant_stop *probe;
  int status;
};

static void *wait_with_reentrant_stop(void *argument) {
  struct outer_wait *outer = argument;
  outer->status = lock_acquire_interruptible(outer->probe->lock, LOCK_WAIT_FOREVER,
                                             stop_takes_the_same_lock, outer->probe);
  return NULL;
}

static void stop_function_may_take_its_own_lock(void **state) {
  lock_t *lock = *state;
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  struct reentrant_stop probe = {lock, 0, 0, -100};
  struct outer_wait outer = {&probe, -100};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, wait_with_reentrant_stop, &outer), 0);
  struct timespec pause = {0, 1000000};
  /* Asked once before its first sleep, then parked. */
  while (__atomic_load_n(&probe.asked, __ATOMIC_ACQUIRE) < 1 ||
         __atomic_load_n(lock_fast_word(lock), __ATOMIC_ACQUIRE) == LOCK_FAST_HELD)
    nanosleep(&pause, NULL);
  assert_int_equal(lock_interrupt(lock), LOCK_OK); /* it asks again, and takes the lock */
  while (!__atomic_load_n(&probe.inner_waiting, __ATOMIC_ACQUIRE)) nanosleep(&pause, NULL);
  pause.tv_nsec = 5000000;
  nanosleep(&pause, NULL); /* past the 1 ms after which a release hands the lock over */
  assert_int_equal(lock_release(lock), LOCK_OK);
  pthread_join(thread, NULL);
  assert_int_equal(probe.inner_status, LOCK_OK); /* 1.1 gave LOCK_TIMEOUT after 5 s */
  assert_int_equal(outer.status, LOCK_OK);
  assert_int_equal(lock_release(lock), LOCK_OK);
}

static void fence_is_unsupported_by_in_process_locks(void **state) {
  lock_t *lock = *state;
  uint64_t token = 12345;
  assert_int_equal(lock_fence(NULL, &token), LOCK_EINVAL);
  assert_int_equal(lock_fence(lock, NULL), LOCK_EINVAL);
  assert_int_equal(lock_acquire(lock, 0), LOCK_OK);
  assert_int_equal(lock_fence(lock, &token), LOCK_ENOTSUP);
  assert_int_equal(token, 12345); /* untouched on error */
  assert_int_equal(lock_release(lock), LOCK_OK);
}

#define WITH_LOCK(test) cmocka_unit_test_setup_teardown(test, setup_lock, teardown_lock)

int main(void) {
  const struct CMUnitTest tests[] = {
      WITH_LOCK(new_lock_is_unlocked),
      cmocka_unit_test(free_accepts_null_and_held_locks),
      cmocka_unit_test(version_matches_the_header),
      cmocka_unit_test(status_codes_keep_their_values),
      cmocka_unit_test(strerror_names_every_status),
      WITH_LOCK(acquire_then_release),
      WITH_LOCK(try_on_a_held_lock_times_out),
      WITH_LOCK(release_of_unlocked_lock_changes_nothing),
      WITH_LOCK(timed_acquire_waits_its_timeout),
      WITH_LOCK(largest_timeout_on_a_free_lock),
      cmocka_unit_test(null_handles_are_einval),
      WITH_LOCK(bad_timeouts_are_einval_and_change_nothing),
      WITH_LOCK(another_thread_may_release),
      WITH_LOCK(release_wakes_a_waiter_with_the_largest_timeout),
      WITH_LOCK(threads_keep_an_exact_count),
      WITH_LOCK(interruptible_acquire_works_like_acquire),
      WITH_LOCK(interrupt_stops_a_waiter),
      WITH_LOCK(reinit_unlocks),
      cmocka_unit_test(ref_returns_the_lock_and_each_reference_frees_once),
      cmocka_unit_test(ref_refuses_what_is_not_a_lock),
      cmocka_unit_test(references_are_exact_under_races),
      WITH_LOCK(fast_word_follows_the_frozen_contract),
      WITH_LOCK(fence_is_unsupported_by_in_process_locks),
      WITH_LOCK(stop_function_may_take_its_own_lock),
  };
  return cmocka_run_group_tests_name("polylock C ABI", tests, NULL, NULL);
}
