/* The C ABI of polylock.dll, tested on Windows (under Wine in CI).
 *
 * A plain C runner: CMocka is not packaged for MinGW. `capi_test <case>` runs
 * one case and exits 0 when it passes; CTest registers each case by name.
 * Threads are Win32 threads and times come from QueryPerformanceCounter, as a
 * Windows user of the DLL would have them.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <polylock/lock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

#define CHECK_EQ(actual, expected)                                                 \
  do {                                                                             \
    long long actual_ = (long long)(actual), expected_ = (long long)(expected);    \
    if (actual_ != expected_) {                                                    \
      fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__,    \
              #actual, actual_, expected_);                                        \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

static int64_t now_ns(void) {
  LARGE_INTEGER ticks, frequency;
  QueryPerformanceCounter(&ticks);
  QueryPerformanceFrequency(&frequency);
  return ticks.QuadPart / frequency.QuadPart * 1000000000 +
         ticks.QuadPart % frequency.QuadPart * 1000000000 / frequency.QuadPart;
}

/* A hang guard, far above any real wait here: a case still waiting after it
 * fails at once. The process is terminated, since a thread asleep for good
 * could keep it from exiting. */
enum { hang_guard_ms = 30000 };

static void stuck(const char *what) {
  fprintf(stderr, "stuck for %d ms: %s\n", hang_guard_ms, what);
  fflush(stderr);
  TerminateProcess(GetCurrentProcess(), 3);
}

static DWORD join(HANDLE thread) {
  DWORD result = 0xdead;
  if (WaitForSingleObject(thread, hang_guard_ms) != WAIT_OBJECT_0) stuck("a thread never returned");
  GetExitCodeThread(thread, &result);
  CloseHandle(thread);
  return result;
}

static HANDLE spawn(LPTHREAD_START_ROUTINE body, void *arg) {
  HANDLE thread = CreateThread(NULL, 0, body, arg, 0, NULL);
  CHECK(thread != NULL);
  return thread;
}

/* ---- cases ---------------------------------------------------------------- */

static void version(void) {
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", LOCK_VERSION_MAJOR, LOCK_VERSION_MINOR,
           LOCK_VERSION_PATCH);
  CHECK(strcmp(lock_version(), expected) == 0);
}

static void strerror_texts(void) {
  const int statuses[] = {LOCK_OK, LOCK_TIMEOUT, LOCK_EINVAL, LOCK_ENOTLOCKED, LOCK_EINTR};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; ++i) {
    const char *text = lock_strerror(statuses[i]);
    CHECK(text != NULL && text[0] != '\0' && strcmp(text, "unknown") != 0);
    for (size_t j = 0; j < i; ++j) CHECK(strcmp(text, lock_strerror(statuses[j])) != 0);
  }
  CHECK(strcmp(lock_strerror(42), "unknown") == 0);
  CHECK(strcmp(lock_strerror(-1000), "unknown") == 0);
}

static void status_values(void) {
  /* Fixed by design.md §2; a Windows build must not renumber them. */
  CHECK_EQ(LOCK_OK, 0);
  CHECK_EQ(LOCK_TIMEOUT, 1);
  CHECK_EQ(LOCK_EINVAL, -1);
  CHECK_EQ(LOCK_ENOTLOCKED, -2);
  CHECK_EQ(LOCK_EINTR, -3);
  CHECK_EQ(LOCK_WAIT_FOREVER, -1);
}

static void lifecycle(void) {
  lock_t *lock = lock_new();
  CHECK(lock != NULL);
  CHECK_EQ(lock_locked(lock), 0);
  CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OK);
  CHECK_EQ(lock_locked(lock), 1);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_TIMEOUT); /* not recursive */
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(lock_locked(lock), 0);
  CHECK_EQ(lock_release(lock), LOCK_ENOTLOCKED);
  CHECK_EQ(lock_locked(lock), 0); /* a bad release changes nothing */
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  lock_free(lock); /* a held lock may be freed */
  lock_free(NULL);
}

static void bad_inputs(void) {
  CHECK_EQ(lock_acquire(NULL, LOCK_WAIT_FOREVER), LOCK_EINVAL);
  CHECK_EQ(lock_acquire(NULL, 0), LOCK_EINVAL);
  CHECK_EQ(lock_release(NULL), LOCK_EINVAL);
  CHECK_EQ(lock_locked(NULL), LOCK_EINVAL);
  CHECK_EQ(lock_acquire_interruptible(NULL, 0, NULL, NULL), LOCK_EINVAL);
  CHECK_EQ(lock_interrupt(NULL), LOCK_EINVAL);
  CHECK_EQ(lock_reinit(NULL), LOCK_EINVAL);

  lock_t *lock = lock_new();
  const int64_t bad[] = {-2, -1000000000, INT64_MIN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    CHECK_EQ(lock_acquire(lock, bad[i]), LOCK_EINVAL);
    CHECK_EQ(lock_acquire_interruptible(lock, bad[i], NULL, NULL), LOCK_EINVAL);
    CHECK_EQ(lock_locked(lock), 0); /* a rejected call takes nothing */
  }
  lock_free(lock);
}

/* 1.2 on Windows: references, the fast-path word and fencing as on Linux;
 * named locks are not supported there (docs/named-locks.md): lock_open says
 * so with LOCK_ENOTSUP, never a crash, and bad names stay LOCK_EINVAL. */
static void since_1_2(void) {
  lock_t *lock = lock_new();
  CHECK(lock_ref(lock) == lock);
  CHECK(lock_ref(NULL) == NULL);
  uint32_t *word = lock_fast_word(lock);
  CHECK(word != NULL);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  CHECK_EQ(*word, LOCK_FAST_HELD);
  lock_free(lock); /* one of two references */
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(*word, LOCK_FAST_FREE);
  uint64_t token = 0;
  CHECK_EQ(lock_fence(lock, &token), LOCK_ENOTSUP);
  lock_free(lock);

  int status = 12345;
  CHECK(lock_open("polylock-wine-test", &status) == NULL);
  CHECK_EQ(status, LOCK_ENOTSUP);
  CHECK(lock_open("polylock-wine-test", NULL) == NULL);
  status = 12345;
  CHECK(lock_open(".bad", &status) == NULL);
  CHECK(status == LOCK_EINVAL || status == LOCK_ENOTSUP);
  CHECK_EQ(lock_unlink("polylock-wine-test"), LOCK_ENOTSUP);
}

static void huge_timeouts(void) {
  lock_t *lock = lock_new();
  /* Deadlines saturate: the largest timeout must neither overflow nor wait. */
  CHECK_EQ(lock_acquire(lock, INT64_MAX), LOCK_OK);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(lock_acquire(lock, INT64_MAX - 1), LOCK_OK);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
}

static void timeout_lower_bound(void) {
  lock_t *lock = lock_new();
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  const int64_t timeouts[] = {1000000, 20000000, 50000000};
  for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; ++i) {
    const int64_t start = now_ns();
    CHECK_EQ(lock_acquire(lock, timeouts[i]), LOCK_TIMEOUT);
    const int64_t waited = now_ns() - start;
    if (waited < timeouts[i]) fprintf(stderr, "waited %lld ns of %lld\n", (long long)waited,
                                      (long long)timeouts[i]);
    CHECK(waited >= timeouts[i]);
    CHECK_EQ(lock_locked(lock), 1);
  }
  const int64_t start = now_ns();
  CHECK_EQ(lock_acquire_interruptible(lock, 30000000, NULL, NULL), LOCK_TIMEOUT);
  CHECK(now_ns() - start >= 30000000);
  lock_free(lock);
}

/* -- many threads, one exact counter, never two holders -- */

enum { counting_threads = 8, rounds = 20000 };

struct shared {
  lock_t *lock;
  volatile LONG holders;
  volatile LONG overlaps;
  long counter;
};

static DWORD WINAPI count_up(void *arg) {
  struct shared *shared = arg;
  for (int i = 0; i < rounds; ++i) {
    /* Every fourth round waits with a timeout, so both wait paths are used. */
    const int64_t timeout = i % 4 == 0 ? INT64_C(10000000000) : LOCK_WAIT_FOREVER;
    if (lock_acquire(shared->lock, timeout) != LOCK_OK) return 1;
    if (InterlockedIncrement(&shared->holders) != 1) InterlockedIncrement(&shared->overlaps);
    ++shared->counter;
    InterlockedDecrement(&shared->holders);
    if (lock_release(shared->lock) != LOCK_OK) return 1;
  }
  return 0;
}

static void exact_counter(void) {
  struct shared shared = {lock_new(), 0, 0, 0};
  HANDLE threads[counting_threads];
  for (int i = 0; i < counting_threads; ++i) threads[i] = spawn(count_up, &shared);
  for (int i = 0; i < counting_threads; ++i) CHECK_EQ(join(threads[i]), 0);
  CHECK_EQ(shared.counter, (long)counting_threads * rounds);
  CHECK_EQ(shared.overlaps, 0);
  CHECK_EQ(lock_locked(shared.lock), 0);
  lock_free(shared.lock);
}

/* -- a sleeping waiter is woken by a release from another thread -- */

struct handoff {
  lock_t *lock;
  volatile LONG started;
  int status;
};

static DWORD WINAPI wait_forever(void *arg) {
  struct handoff *handoff = arg;
  InterlockedExchange(&handoff->started, 1);
  handoff->status = lock_acquire(handoff->lock, LOCK_WAIT_FOREVER);
  return 0;
}

static void release_from_any_thread(void) {
  struct handoff handoff = {lock_new(), 0, 99};
  CHECK_EQ(lock_acquire(handoff.lock, 0), LOCK_OK);
  HANDLE waiter = spawn(wait_forever, &handoff);
  while (!InterlockedCompareExchange(&handoff.started, 0, 0)) SwitchToThread();
  /* Whether the waiter is asleep yet or not, the release must reach it. */
  CHECK_EQ(lock_release(handoff.lock), LOCK_OK);
  join(waiter);
  CHECK_EQ(handoff.status, LOCK_OK);
  CHECK_EQ(lock_locked(handoff.lock), 1);
  /* The waiter's thread is gone; this thread releases what it took. */
  CHECK_EQ(lock_release(handoff.lock), LOCK_OK);
  lock_free(handoff.lock);
}

/* -- interruptible waits -- */

struct interruptible {
  lock_t *lock;
  volatile LONG stop_calls;
  int give_up;
  int status;
};

static int ask_stop(void *context) {
  struct interruptible *wait = context;
  InterlockedIncrement(&wait->stop_calls);
  return wait->give_up;
}

static DWORD WINAPI wait_interruptibly(void *arg) {
  struct interruptible *wait = arg;
  wait->status = lock_acquire_interruptible(wait->lock, LOCK_WAIT_FOREVER, ask_stop, wait);
  return 0;
}

static void interrupt_stops_a_wait(void) {
  struct interruptible wait = {lock_new(), 0, 1, 99};
  CHECK_EQ(lock_acquire(wait.lock, 0), LOCK_OK);
  HANDLE waiter = spawn(wait_interruptibly, &wait);
  /* Interrupts that come before the waiter queues disturb nobody: repeat. */
  const int64_t start = now_ns();
  while (WaitForSingleObject(waiter, 1) == WAIT_TIMEOUT) {
    CHECK_EQ(lock_interrupt(wait.lock), LOCK_OK);
    if (now_ns() - start > (int64_t)hang_guard_ms * 1000000) stuck("lock_interrupt stopped nobody");
  }
  join(waiter);
  CHECK_EQ(wait.status, LOCK_EINTR);
  CHECK(wait.stop_calls >= 1);
  CHECK_EQ(lock_locked(wait.lock), 1); /* still ours: a stopped wait takes nothing */
  CHECK_EQ(lock_release(wait.lock), LOCK_OK);
  CHECK_EQ(lock_locked(wait.lock), 0);
  lock_free(wait.lock);
}

static void interrupt_can_be_declined(void) {
  struct interruptible wait = {lock_new(), 0, 0, 99};
  CHECK_EQ(lock_acquire(wait.lock, 0), LOCK_OK);
  HANDLE waiter = spawn(wait_interruptibly, &wait);
  const int64_t start = now_ns();
  while (InterlockedCompareExchange(&wait.stop_calls, 0, 0) < 3) {
    CHECK_EQ(lock_interrupt(wait.lock), LOCK_OK);
    SwitchToThread();
    if (now_ns() - start > (int64_t)hang_guard_ms * 1000000) stuck("lock_interrupt reached nobody");
  }
  CHECK_EQ(WaitForSingleObject(waiter, 0), WAIT_TIMEOUT); /* it declined, and waits on */
  CHECK_EQ(lock_release(wait.lock), LOCK_OK);
  join(waiter);
  CHECK_EQ(wait.status, LOCK_OK);
  CHECK_EQ(lock_release(wait.lock), LOCK_OK);
  lock_free(wait.lock);
}

static void interruptible_without_stop(void) {
  lock_t *lock = lock_new();
  CHECK_EQ(lock_acquire_interruptible(lock, 0, NULL, NULL), LOCK_OK);
  CHECK_EQ(lock_acquire_interruptible(lock, 0, NULL, NULL), LOCK_TIMEOUT);
  CHECK_EQ(lock_interrupt(lock), LOCK_OK); /* nobody waits: nothing happens */
  CHECK_EQ(lock_locked(lock), 1);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
}

static void reinit(void) {
  lock_t *lock = lock_new();
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  CHECK_EQ(lock_reinit(lock), LOCK_OK);
  CHECK_EQ(lock_locked(lock), 0);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
}

/* ---- runner --------------------------------------------------------------- */

static const struct {
  const char *name;
  void (*run)(void);
} cases[] = {
    {"version", version},
    {"strerror", strerror_texts},
    {"status_values", status_values},
    {"lifecycle", lifecycle},
    {"bad_inputs", bad_inputs},
    {"since_1_2", since_1_2},
    {"huge_timeouts", huge_timeouts},
    {"timeout_lower_bound", timeout_lower_bound},
    {"exact_counter", exact_counter},
    {"release_from_any_thread", release_from_any_thread},
    {"interrupt_stops_a_wait", interrupt_stops_a_wait},
    {"interrupt_can_be_declined", interrupt_can_be_declined},
    {"interruptible_without_stop", interruptible_without_stop},
    {"reinit", reinit},
};

int main(int argc, char **argv) {
  const size_t count = sizeof cases / sizeof cases[0];
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < count; ++i) printf("%s\n", cases[i].name);
    return 0;
  }
  int ran = 0;
  for (size_t i = 0; i < count; ++i) {
    if (argc == 2 && strcmp(argv[1], cases[i].name) != 0) continue;
    const int before = failures;
    cases[i].run();
    printf("%s %s\n", failures == before ? "PASS" : "FAIL", cases[i].name);
    ++ran;
  }
  if (ran == 0) {
    fprintf(stderr, "usage: %s [--list | <case>]\n", argv[0]);
    return 2;
  }
  return failures ? 1 : 0;
}
