/* Two copies of libpolylock in one process operate one lock.
 *
 *   test_copies <path of copy A> <path of copy B>
 *
 * Both are opened by path with RTLD_LOCAL, so each keeps its own code and
 * data (B is the test-only later copy: another version, another private
 * layout, another waiting backend). Locks made by either are used through
 * both: every function, references dropped in either order, interrupts and
 * wake-ups that cross, and threads hammering one lock through both copies
 * with an exact counter. Exits non-zero and says why on the first failure. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "polylock/lock.h"

static int failures;

#define CHECK(condition)                                                              \
  do {                                                                                \
    if (!(condition)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);   \
      ++failures;                                                                     \
    }                                                                                 \
  } while (0)

struct copy {
  const char *path;
  void *library;
  lock_t *(*new_lock)(void);
  void (*free_lock)(lock_t *);
  lock_t *(*ref)(lock_t *);
  int (*acquire)(lock_t *, int64_t);
  int (*acquire_interruptible)(lock_t *, int64_t, lock_stop_fn, void *);
  int (*interrupt)(lock_t *);
  int (*release)(lock_t *);
  int (*locked)(const lock_t *);
  uint32_t *(*fast_word)(lock_t *);
  const char *(*version)(void);
};

static void resolve(struct copy *copy, void *destination, const char *name) {
  void *symbol = dlsym(copy->library, name);
  if (!symbol) {
    fprintf(stderr, "dlsym(%s, %s): %s\n", copy->path, name, dlerror());
    exit(1);
  }
  /* ISO C has no object-to-function cast; POSIX says the bytes agree. */
  memcpy(destination, &symbol, sizeof symbol);
}

static void open_copy(struct copy *copy, const char *path) {
  copy->path = path;
  copy->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!copy->library) {
    fprintf(stderr, "dlopen(%s): %s\n", path, dlerror());
    exit(1);
  }
  resolve(copy, &copy->new_lock, "lock_new");
  resolve(copy, &copy->free_lock, "lock_free");
  resolve(copy, &copy->ref, "lock_ref");
  resolve(copy, &copy->acquire, "lock_acquire");
  resolve(copy, &copy->acquire_interruptible, "lock_acquire_interruptible");
  resolve(copy, &copy->interrupt, "lock_interrupt");
  resolve(copy, &copy->release, "lock_release");
  resolve(copy, &copy->locked, "lock_locked");
  resolve(copy, &copy->fast_word, "lock_fast_word");
  resolve(copy, &copy->version, "lock_version");
}

static void pause_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

/* Every function of `user` on a lock made by `maker`; references dropped by
 * the user first, then by the maker. */
static void one_lock_two_copies(struct copy *maker, struct copy *user) {
  lock_t *lock = maker->new_lock();
  CHECK(lock != NULL);
  CHECK(user->ref(lock) == lock);
  CHECK(user->fast_word(lock) == maker->fast_word(lock));
  CHECK(user->locked(lock) == 0);
  CHECK(user->acquire(lock, 0) == LOCK_OK);
  CHECK(maker->locked(lock) == 1);
  CHECK(maker->acquire(lock, 0) == LOCK_TIMEOUT);
  CHECK(user->acquire(lock, 2000000) == LOCK_TIMEOUT);
  CHECK(maker->release(lock) == LOCK_OK); /* taken through one, released through the other */
  CHECK(user->release(lock) == LOCK_ENOTLOCKED);
  CHECK(user->acquire(lock, -2) == LOCK_EINVAL);
  CHECK(user->acquire(lock, LOCK_WAIT_FOREVER) == LOCK_OK);
  user->free_lock(lock); /* the user's reference; the maker's keeps it alive, held */
  CHECK(maker->locked(lock) == 1);
  CHECK(maker->release(lock) == LOCK_OK);
  maker->free_lock(lock);

  lock = maker->new_lock();
  CHECK(user->ref(lock) == lock);
  maker->free_lock(lock); /* the maker goes first this time */
  CHECK(user->acquire(lock, 0) == LOCK_OK);
  CHECK(user->release(lock) == LOCK_OK);
  user->free_lock(lock);
}

/* ---- wake-ups and interrupts that cross copies ----------------------------- */

struct waiter {
  struct copy *copy;
  lock_t *lock;
  int status;
  int stop; /* for stop_when_told */
};

/* Gives up once told to (the library also asks before the first sleep). */
static int stop_when_told(void *context) { return __atomic_load_n((int *)context, __ATOMIC_ACQUIRE); }

static void *wait_forever(void *argument) {
  struct waiter *waiter = argument;
  waiter->status = waiter->copy->acquire(waiter->lock, LOCK_WAIT_FOREVER);
  return NULL;
}

static void *wait_interruptibly(void *argument) {
  struct waiter *waiter = argument;
  /* Unbounded: only the interrupt (through the other copy) can end it. */
  const int status = waiter->copy->acquire_interruptible(waiter->lock, LOCK_WAIT_FOREVER,
                                                         stop_when_told, &waiter->stop);
  __atomic_store_n(&waiter->status, status, __ATOMIC_RELEASE); /* the main thread polls it */
  return NULL;
}

static void wakes_and_interrupts_cross(struct copy *maker, struct copy *user) {
  lock_t *lock = maker->new_lock();
  CHECK(user->acquire(lock, 0) == LOCK_OK);

  /* A waiter parked through the maker is woken by a release through the user. */
  struct waiter parked = {maker, lock, -100, 0};
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, wait_forever, &parked) == 0);
  /* Until it has queued (the word then holds more than the held bit). */
  while (__atomic_load_n(maker->fast_word(lock), __ATOMIC_ACQUIRE) == LOCK_FAST_HELD) pause_ms(1);
  CHECK(user->release(lock) == LOCK_OK);
  pthread_join(thread, NULL);
  CHECK(parked.status == LOCK_OK);

  /* A waiter interruptible through the user is stopped by an interrupt
   * through the maker. The lock stays held all along. */
  struct waiter stopped = {user, lock, -100, 0};
  CHECK(pthread_create(&thread, NULL, wait_interruptibly, &stopped) == 0);
  while (__atomic_load_n(maker->fast_word(lock), __ATOMIC_ACQUIRE) == LOCK_FAST_HELD) pause_ms(1);
  __atomic_store_n(&stopped.stop, 1, __ATOMIC_RELEASE);
  do {
    CHECK(maker->interrupt(lock) == LOCK_OK);
    pause_ms(1);
  } while (__atomic_load_n(&stopped.status, __ATOMIC_ACQUIRE) == -100);
  pthread_join(thread, NULL);
  CHECK(stopped.status == LOCK_EINTR);
  CHECK(maker->locked(lock) == 1);
  CHECK(user->release(lock) == LOCK_OK);
  maker->free_lock(lock);
}

/* ---- hammering one lock through both copies -------------------------------- */

#define WORKERS 8
#define ROUNDS 20000

struct hammer {
  struct copy *copies[2];
  lock_t *lock;
  long counter;   /* a plain increment: two holders at once lose updates */
  long entries;   /* acquisitions, counted atomically */
  int holders;
  int overlaps;
};

struct worker {
  struct hammer *hammer;
  int index;
};

static void *hammer_lock(void *argument) {
  struct worker *worker = argument;
  struct hammer *hammer = worker->hammer;
  for (int i = 0; i < ROUNDS; ++i) {
    /* Take through one copy, give back through either. */
    struct copy *taker = hammer->copies[(worker->index + i) % 2];
    struct copy *giver = hammer->copies[(worker->index + i / 3) % 2];
    const int64_t timeout = i % 3 == 0 ? LOCK_WAIT_FOREVER : i % 3 == 1 ? 0 : 200000;
    if (taker->acquire(hammer->lock, timeout) != LOCK_OK) continue;
    if (__atomic_fetch_add(&hammer->holders, 1, __ATOMIC_RELAXED) != 0)
      __atomic_fetch_add(&hammer->overlaps, 1, __ATOMIC_RELAXED);
    ++hammer->counter;
    __atomic_fetch_add(&hammer->entries, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&hammer->holders, 1, __ATOMIC_RELAXED);
    if (giver->release(hammer->lock) != LOCK_OK)
      __atomic_fetch_add(&hammer->overlaps, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void hammer_through_both(struct copy *maker, struct copy *other) {
  struct hammer hammer = {{maker, other}, maker->new_lock(), 0, 0, 0, 0};
  CHECK(hammer.lock != NULL);
  pthread_t threads[WORKERS];
  struct worker workers[WORKERS];
  for (int i = 0; i < WORKERS; ++i) {
    workers[i] = (struct worker){&hammer, i};
    CHECK(pthread_create(&threads[i], NULL, hammer_lock, &workers[i]) == 0);
  }
  for (int i = 0; i < WORKERS; ++i) pthread_join(threads[i], NULL);
  CHECK(hammer.overlaps == 0);
  CHECK(hammer.counter == hammer.entries);
  CHECK(hammer.counter >= (long)WORKERS * ((ROUNDS + 2) / 3)); /* every blocking one got in */
  CHECK(other->locked(hammer.lock) == 0);
  printf("lock made by %s: %ld acquisitions through both copies, exact\n", maker->version(),
         hammer.counter);
  other->ref(hammer.lock);
  maker->free_lock(hammer.lock);
  other->free_lock(hammer.lock);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <libpolylock copy A> <libpolylock copy B>\n", argv[0]);
    return 2;
  }
  struct copy a, b;
  open_copy(&a, argv[1]);
  open_copy(&b, argv[2]);
  /* Two copies indeed: their own code and their own version. */
  CHECK(a.acquire != b.acquire);
  CHECK(strcmp(a.version(), b.version()) != 0);
  printf("copy A %s (%s), copy B %s (%s)\n", a.version(), a.path, b.version(), b.path);

  one_lock_two_copies(&a, &b);
  one_lock_two_copies(&b, &a);
  wakes_and_interrupts_cross(&a, &b);
  wakes_and_interrupts_cross(&b, &a);
  hammer_through_both(&a, &b);
  hammer_through_both(&b, &a);

  printf("copies: %s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
