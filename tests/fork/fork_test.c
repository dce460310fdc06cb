/* polylock fork safety: lock_reinit gives a child of fork() a usable lock.
 *
 * A child inherits the lock's memory as it was at fork(), but none of the
 * other threads: a lock held by one of them stays held for ever, a queue of
 * waiters names threads that are gone, and a bucket lock of the parking lot
 * may be mid-use. Each scenario below forks in one such moment; the child
 * checks what it inherited, calls lock_reinit, and then uses the lock hard —
 * blocking, try and timed acquires, releases from other threads, many
 * threads at once — and exits 0 only if every check held. The parent's lock
 * is untouched.
 */
#define _GNU_SOURCE
#include <polylock/lock.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* In a child, _exit: the parent's atexit handlers and buffers are not ours. */
static int in_child = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__,        \
              in_child ? "child" : "parent", #cond);                             \
      if (in_child) _exit(1);                                                    \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

enum { child_threads = 4, child_rounds = 20000, forks_per_scenario = 20 };

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- what a child does with the lock it inherited ------------------------- */

struct shared {
  lock_t *lock;
  long counter;      /* guarded by lock */
  atomic_int inside; /* threads between acquire and release: never above 1 */
};

static void *hammer(void *arg) {
  struct shared *s = arg;
  unsigned seed = (unsigned)(uintptr_t)pthread_self();
  for (int i = 0; i < child_rounds; ++i) {
    const int kind = (int)(rand_r(&seed) % 3);
    int status;
    if (kind == 0) {
      status = lock_acquire(s->lock, LOCK_WAIT_FOREVER);
      CHECK(status == LOCK_OK);
    } else {
      status = lock_acquire(s->lock, kind == 1 ? 0 : 50000);
      CHECK(status == LOCK_OK || status == LOCK_TIMEOUT);
      if (status != LOCK_OK) {
        --i;  /* every round counts once */
        continue;
      }
    }
    CHECK(atomic_fetch_add(&s->inside, 1) == 0);
    ++s->counter;
    CHECK(atomic_fetch_sub(&s->inside, 1) == 1);
    CHECK(lock_release(s->lock) == LOCK_OK);
  }
  return NULL;
}

static void *release_it(void *arg) {
  CHECK(lock_release(arg) == LOCK_OK);
  return NULL;
}

/* A thread of the child, on a stack of its own. glibc would otherwise reuse
 * the stack, and so the thread id, of a parent's thread that the child does
 * not have, and ThreadSanitizer takes that for a thread started twice. */
struct child_thread {
  pthread_t id;
  void *stack;
};

static void start_in_child(struct child_thread *thread, void *(*body)(void *), void *arg) {
  enum { stack_size = 1 << 20 };
  CHECK(posix_memalign(&thread->stack, 4096, stack_size) == 0);
  pthread_attr_t attr;
  CHECK(pthread_attr_init(&attr) == 0);
  CHECK(pthread_attr_setstack(&attr, thread->stack, stack_size) == 0);
  CHECK(pthread_create(&thread->id, &attr, body, arg) == 0);
  CHECK(pthread_attr_destroy(&attr) == 0);
}

static void join_in_child(struct child_thread *thread) {
  CHECK(pthread_join(thread->id, NULL) == 0);
  free(thread->stack);
}

/* Runs in the child: never returns. */
static void child_uses(lock_t *lock, int inherited_locked) {
  in_child = 1;
  if (inherited_locked >= 0) CHECK(lock_locked(lock) == inherited_locked);
  CHECK(lock_reinit(lock) == LOCK_OK);
  CHECK(lock_locked(lock) == 0);

  /* One thread: every kind of call. */
  CHECK(lock_acquire(lock, LOCK_WAIT_FOREVER) == LOCK_OK);
  CHECK(lock_locked(lock) == 1);
  CHECK(lock_acquire(lock, 0) == LOCK_TIMEOUT);
  const int64_t start = now_ns();
  CHECK(lock_acquire(lock, 2000000) == LOCK_TIMEOUT);
  CHECK(now_ns() - start >= 2000000);
  CHECK(lock_release(lock) == LOCK_OK);
  CHECK(lock_release(lock) == LOCK_ENOTLOCKED);
  CHECK(lock_acquire(lock, INT64_MAX) == LOCK_OK);

  /* Released by another thread, as a binary semaphore may be. */
  struct child_thread releaser;
  start_in_child(&releaser, release_it, lock);
  join_in_child(&releaser);
  CHECK(lock_locked(lock) == 0);

  /* Held here and released elsewhere while this thread waits for it. */
  CHECK(lock_acquire(lock, 0) == LOCK_OK);
  start_in_child(&releaser, release_it, lock);
  CHECK(lock_acquire(lock, LOCK_WAIT_FOREVER) == LOCK_OK);
  join_in_child(&releaser);
  CHECK(lock_release(lock) == LOCK_OK);

  /* Many threads: exact counter, never two holders. */
  struct shared s = {.lock = lock, .counter = 0};
  atomic_init(&s.inside, 0);
  struct child_thread threads[child_threads];
  for (int i = 0; i < child_threads; ++i) start_in_child(&threads[i], hammer, &s);
  for (int i = 0; i < child_threads; ++i) join_in_child(&threads[i]);
  CHECK(s.counter == (long)child_threads * child_rounds);
  CHECK(lock_locked(lock) == 0);
  _exit(0);
}

static void fork_and_check(lock_t *lock, int inherited_locked) {
  fflush(NULL);
  const pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) child_uses(lock, inherited_locked);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fprintf(stderr, "child failed: status 0x%x\n", (unsigned)status);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- scenario 1: another thread holds the lock ---------------------------- */

struct holder {
  lock_t *lock;
  atomic_int held;
  atomic_int may_release;
};

static void *hold(void *arg) {
  struct holder *h = arg;
  CHECK(lock_acquire(h->lock, LOCK_WAIT_FOREVER) == LOCK_OK);
  atomic_store(&h->held, 1);
  while (!atomic_load(&h->may_release)) sched_yield();
  CHECK(lock_release(h->lock) == LOCK_OK);
  return NULL;
}

static void fork_while_held(void) {
  struct holder h = {.lock = lock_new()};
  CHECK(h.lock);
  atomic_init(&h.held, 0);
  atomic_init(&h.may_release, 0);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, hold, &h) == 0);
  while (!atomic_load(&h.held)) sched_yield();
  for (int i = 0; i < forks_per_scenario; ++i) fork_and_check(h.lock, 1);
  CHECK(lock_locked(h.lock) == 1);  /* the children's reinit did not reach us */
  atomic_store(&h.may_release, 1);
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(lock_locked(h.lock) == 0);
  lock_free(h.lock);
  puts("fork while another thread holds the lock: ok");
}

/* ---- scenario 2: another thread waits for the lock ------------------------ */

struct waiter {
  lock_t *lock;
  atomic_int disturbed; /* times lock_interrupt reached the waiter */
  int status;
};

static int carry_on(void *context) {
  atomic_fetch_add(&((struct waiter *)context)->disturbed, 1);
  return 0;
}

static void *wait_for_it(void *arg) {
  struct waiter *w = arg;
  w->status = lock_acquire_interruptible(w->lock, LOCK_WAIT_FOREVER, carry_on, w);
  return NULL;
}

static void fork_while_waited_for(void) {
  struct waiter w = {.lock = lock_new()};
  CHECK(w.lock);
  atomic_init(&w.disturbed, 0);
  CHECK(lock_acquire(w.lock, 0) == LOCK_OK);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, wait_for_it, &w) == 0);
  /* lock_interrupt reaches only a queued waiter: once the stop function has
   * run, the waiter is in the queue (and goes back to sleep in it). */
  while (atomic_load(&w.disturbed) == 0) {
    CHECK(lock_interrupt(w.lock) == LOCK_OK);
    sched_yield();
  }
  for (int i = 0; i < forks_per_scenario; ++i) fork_and_check(w.lock, 1);
  CHECK(lock_release(w.lock) == LOCK_OK);  /* the parent's waiter still gets it */
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(w.status == LOCK_OK);
  CHECK(lock_locked(w.lock) == 1);
  CHECK(lock_release(w.lock) == LOCK_OK);
  lock_free(w.lock);
  puts("fork while another thread waits for the lock: ok");
}

/* ---- scenario 3: threads use the lock hard as we fork --------------------- */

enum { busy_threads = 3 };

struct busy {
  lock_t *lock;
  atomic_int stop;
  atomic_int running;         /* threads that have started their loop */
  long counter;               /* guarded by lock */
  long taken[busy_threads];   /* each thread's own count */
};

struct busy_thread {
  struct busy *b;
  int index;
};

static void *keep_busy(void *arg) {
  const struct busy_thread *t = arg;
  struct busy *b = t->b;
  static const int64_t timeouts[] = {LOCK_WAIT_FOREVER, 0, 100000};
  atomic_fetch_add(&b->running, 1);
  for (unsigned round = 0; !atomic_load(&b->stop); ++round) {
    const int status = lock_acquire(b->lock, timeouts[round % 3]);
    CHECK(status == LOCK_OK || status == LOCK_TIMEOUT);
    if (status != LOCK_OK) continue;
    ++b->counter;
    ++b->taken[t->index];
    CHECK(lock_release(b->lock) == LOCK_OK);
  }
  return NULL;
}

static void fork_while_busy(void) {
  struct busy b = {.lock = lock_new()};
  CHECK(b.lock);
  atomic_init(&b.stop, 0);
  atomic_init(&b.running, 0);
  pthread_t threads[busy_threads];
  struct busy_thread args[busy_threads];
  for (int i = 0; i < busy_threads; ++i) {
    args[i] = (struct busy_thread){.b = &b, .index = i};
    CHECK(pthread_create(&threads[i], NULL, keep_busy, &args[i]) == 0);
  }
  /* Every thread is in its loop before the first fork: a thread still being
   * started may hold the allocator's locks (AddressSanitizer's allocator is
   * not fork-safe), and a fork then would leave the child unable to start
   * threads of its own, whatever the lock does. */
  while (atomic_load(&b.running) < busy_threads) sched_yield();
  /* Whatever moment each fork lands in — held, queued, a bucket lock taken, a
   * hand-off under way — the child's reinit makes the lock usable. */
  for (int i = 0; i < forks_per_scenario; ++i) fork_and_check(b.lock, -1);
  atomic_store(&b.stop, 1);
  long total = 0;
  for (int i = 0; i < busy_threads; ++i) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    total += b.taken[i];
  }
  CHECK(b.counter == total);
  CHECK(lock_locked(b.lock) == 0);
  lock_free(b.lock);
  printf("fork while %d threads use the lock: ok (%ld acquisitions)\n", busy_threads, total);
}

int main(void) {
  fork_while_held();
  fork_while_waited_for();
  fork_while_busy();
  return 0;
}
