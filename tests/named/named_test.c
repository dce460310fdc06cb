/* polylock named-lock tests: lock_open / lock_unlink / LOCK_OWNERDEAD across
 * processes (docs/named-locks.md). Usage: test_named HELPER [TEST]
 *
 * HELPER is named_helper (the other processes). Every test uses names of its
 * own (with this process's pid), and removes them. No test measures time:
 * timeouts only bound waits that must fail, and loops count iterations. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "polylock/lock.h"

extern char **environ;

static const char *helper;
static int failures;

#define CHECK(condition)                                                              \
  do {                                                                                \
    if (!(condition)) {                                                               \
      fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__, __LINE__, __func__, \
              #condition);                                                            \
      ++failures;                                                                     \
    }                                                                                 \
  } while (0)

#define CHECK_EQ(actual, expected)                                                       \
  do {                                                                                   \
    const long long actual_ = (long long)(actual), expected_ = (long long)(expected);    \
    if (actual_ != expected_) {                                                          \
      fprintf(stderr, "%s:%d: %s: %s == %lld, expected %lld\n", __FILE__, __LINE__,      \
              __func__, #actual, actual_, expected_);                                    \
      ++failures;                                                                        \
    }                                                                                    \
  } while (0)

/* ---- helpers --------------------------------------------------------------- */

static void make_name(char *name, size_t size, const char *what) {
  snprintf(name, size, "test-%d-%s", (int)getpid(), what);
}

static void object_path(char *path, size_t size, const char *name) {
  snprintf(path, size, "/dev/shm/polylock.%u.%s", (unsigned)geteuid(), name);
}

static lock_t *open_ok(const char *name) {
  int status = -100;
  lock_t *lock = lock_open(name, &status);
  CHECK(lock != NULL);
  CHECK_EQ(status, LOCK_OK);
  return lock;
}

/* Starts the helper with `args` (NULL-terminated after the mode). With
 * `to_child`, the child's stdin is a pipe whose write end is returned there;
 * with `from_child` its stdout is a pipe whose read end is returned there. */
static pid_t spawn_helper(const char *const *args, int *to_child, int *from_child) {
  const char *argv[16];
  int n = 0;
  argv[n++] = helper;
  for (; *args && n < 15; ++args) argv[n++] = *args;
  argv[n] = NULL;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if (to_child) {
    if (pipe(in) != 0) abort();
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_addclose(&actions, in[1]);
  }
  if (from_child) {
    if (pipe(out) != 0) abort();
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
  }
  pid_t pid = -1;
  if (posix_spawn(&pid, helper, &actions, NULL, (char *const *)argv, environ) != 0) abort();
  posix_spawn_file_actions_destroy(&actions);
  if (to_child) {
    close(in[0]);
    *to_child = in[1];
  }
  if (from_child) {
    close(out[1]);
    *from_child = out[0];
  }
  return pid;
}

static int exit_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* CLOCK_MONOTONIC, in ns. */
static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int run_helper(const char *const *args) { return exit_status(spawn_helper(args, NULL, NULL)); }

/* Reads one line from a helper's stdout: it has done what it says it did. */
static void await_line(int fd) {
  char byte = 0;
  while (byte != '\n' && read(fd, &byte, 1) == 1) {
  }
}

/* The shared object's words, as layout 1 of core/named_lock.cpp lays them out
 * (the tests that forge a holder need them). */
typedef struct {
  uint32_t magic, layout, size, spare0;
  uint64_t owner, hand_off;
  uint32_t wake_seq, sleepers;
  uint64_t pid_namespace;
  uint8_t spare[16];
} object_t;

static object_t *map_object(const char *name) {
  char path[300];
  object_path(path, sizeof path, name);
  int fd = open(path, O_RDWR);
  if (fd < 0) return NULL;
  void *memory = mmap(NULL, sizeof(object_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return memory == MAP_FAILED ? NULL : (object_t *)memory;
}

static uint64_t start_ticks_of(pid_t pid) {
  char path[64], buffer[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *file = fopen(path, "r");
  if (!file) return 0;
  size_t got = fread(buffer, 1, sizeof buffer - 1, file);
  fclose(file);
  buffer[got] = '\0';
  const char *field = strrchr(buffer, ')');
  if (!field) return 0;
  for (int n = 2; n < 22 && field; ++n) field = strchr(field + 1, ' ');
  return field ? strtoull(field + 1, NULL, 10) : 0;
}

static uint64_t holder_record(pid_t pid, uint64_t start_ticks) {
  return ((start_ticks & ((UINT64_C(1) << 40) - 1)) << 22) | (uint64_t)pid;
}

/* ---- names and objects ------------------------------------------------------ */

static void test_bad_names(void) {
  char long_name[260];
  memset(long_name, 'a', sizeof long_name);
  long_name[201] = '\0';
  const char *bad[] = {"", ".hidden", "a/b", "a b", "caf\xc3\xa9", "a\\b", "..", "x*", long_name,
                       "foo:bar", "file://x", "ETCD://x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i) {
    int status = -100;
    CHECK(lock_open(bad[i], &status) == NULL);
    CHECK_EQ(status, LOCK_EINVAL);
    CHECK_EQ(lock_unlink(bad[i]), LOCK_EINVAL);
  }
  int status = -100;
  CHECK(lock_open(NULL, &status) == NULL);
  CHECK_EQ(status, LOCK_EINVAL);
  CHECK(lock_open(NULL, NULL) == NULL); /* status may be NULL */
  CHECK_EQ(lock_unlink(NULL), LOCK_EINVAL);
  /* The etcd backend is a separate library: without it, LOCK_ENOTSUP. */
  void *etcd = dlopen("libpolylock-etcd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!etcd) {
    CHECK(lock_open("etcd://127.0.0.1:2379/x", &status) == NULL);
    CHECK_EQ(status, LOCK_ENOTSUP);
  } else {
    dlclose(etcd); /* installed here: tests/etcd covers it */
  }

  /* 200 bytes is the longest name; every character of the alphabet works. */
  char name[260];
  snprintf(name, sizeof name, "%d-AZaz09._-", (int)getpid());
  size_t length = strlen(name);
  memset(name + length, 'x', 200 - length);
  name[200] = '\0';
  lock_t *lock = open_ok(name);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

static void test_created_owner_only(void) {
  char name[64], path[300];
  make_name(name, sizeof name, "mode");
  object_path(path, sizeof path, name);
  const mode_t old_umask = umask(0); /* a permissive umask must not widen the mode */
  lock_t *lock = open_ok(name);
  umask(old_umask);
  struct stat st;
  CHECK_EQ(lstat(path, &st), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_mode & 07777, 0600);
  CHECK_EQ(st.st_uid, geteuid());
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
  CHECK_EQ(lstat(path, &st), -1);
}

static void test_semantics(void) {
  char name[64];
  make_name(name, sizeof name, "semantics");
  lock_t *a = open_ok(name);
  lock_t *b = open_ok(name); /* a second handle in the same process: the same lock */
  CHECK(lock_fast_word(a) == NULL);
  CHECK_EQ(lock_locked(a), 0);
  CHECK_EQ(lock_release(a), LOCK_ENOTLOCKED);
  CHECK_EQ(lock_acquire(a, LOCK_WAIT_FOREVER), LOCK_OK);
  CHECK_EQ(lock_locked(b), 1);
  CHECK_EQ(lock_acquire(b, 0), LOCK_TIMEOUT);
  CHECK_EQ(lock_acquire(a, 1000000), LOCK_TIMEOUT); /* not recursive */
  CHECK_EQ(lock_acquire(a, -2), LOCK_EINVAL);
  CHECK_EQ(lock_reinit(a), LOCK_ENOTSUP); /* and nothing changes */
  CHECK_EQ(lock_locked(b), 1);
  CHECK_EQ(lock_release(b), LOCK_OK); /* any handle, any thread */
  CHECK_EQ(lock_release(a), LOCK_ENOTLOCKED);
  CHECK_EQ(lock_acquire(b, INT64_MAX), LOCK_OK); /* the largest timeout, no overflow */
  CHECK_EQ(lock_release(a), LOCK_OK);
  lock_t *c = lock_ref(a);
  CHECK(c == a);
  lock_free(a);
  CHECK_EQ(lock_acquire(c, 0), LOCK_OK); /* still open: one reference left */
  CHECK_EQ(lock_release(c), LOCK_OK);
  lock_free(c);
  lock_free(b);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* What a hostile or broken neighbour may leave at the object's path. Each
 * is refused with LOCK_EACCES, and left as it was. */
static void expect_refused(const char *name, const char *what) {
  int status = -100;
  lock_t *lock = lock_open(name, &status);
  if (lock || status != LOCK_EACCES) fprintf(stderr, "  (%s)\n", what);
  CHECK(lock == NULL);
  CHECK_EQ(status, LOCK_EACCES);
}

static void write_object(const char *path, const void *data, size_t size, mode_t mode) {
  unlink(path);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, mode);
  CHECK(fd >= 0);
  CHECK_EQ(write(fd, data, size), (long long)size);
  CHECK_EQ(fchmod(fd, mode), 0);
  close(fd);
}

static void test_hostile_objects(void) {
  char name[64], path[300], valid_name[64], valid_path[300];
  make_name(name, sizeof name, "hostile");
  object_path(path, sizeof path, name);
  make_name(valid_name, sizeof valid_name, "hostile-valid");
  object_path(valid_path, sizeof valid_path, valid_name);
  lock_free(open_ok(valid_name));
  object_t valid;
  {
    int fd = open(valid_path, O_RDONLY);
    CHECK_EQ(read(fd, &valid, sizeof valid), (long long)sizeof valid);
    close(fd);
  }

  CHECK_EQ(mkdir(path, 0700), 0);
  expect_refused(name, "a directory");
  CHECK_EQ(lock_unlink(name), LOCK_EACCES);
  struct stat st;
  CHECK(lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
  rmdir(path);

  CHECK_EQ(symlink(valid_path, path), 0); /* even to a valid lock */
  expect_refused(name, "a symbolic link");
  CHECK_EQ(lock_unlink(name), LOCK_EACCES);
  CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
  unlink(path);

  CHECK_EQ(mkfifo(path, 0600), 0);
  expect_refused(name, "a FIFO"); /* and the open does not block on it */
  unlink(path);

  write_object(path, &valid, 10, 0600);
  expect_refused(name, "truncated");
  CHECK(lstat(path, &st) == 0 && st.st_size == 10);

  write_object(path, "", 0, 0600);
  expect_refused(name, "empty");

  unsigned char garbage[sizeof valid];
  for (size_t i = 0; i < sizeof garbage; ++i) garbage[i] = (unsigned char)(i * 37 + 11);
  write_object(path, garbage, sizeof garbage, 0600);
  expect_refused(name, "garbage");

  object_t future = valid;
  future.layout = 2;
  write_object(path, &future, sizeof future, 0600);
  expect_refused(name, "a future layout");

  object_t wrong_size = valid;
  wrong_size.size = 128;
  write_object(path, &wrong_size, sizeof wrong_size, 0600);
  expect_refused(name, "a wrong size field");

  object_t other_namespace = valid; /* pids there mean nothing here */
  other_namespace.pid_namespace ^= 1;
  write_object(path, &other_namespace, sizeof other_namespace, 0600);
  expect_refused(name, "another pid namespace");

  write_object(path, &valid, sizeof valid, 0644);
  expect_refused(name, "mode 0644");
  CHECK(lstat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
  write_object(path, &valid, sizeof valid, 0640);
  expect_refused(name, "mode 0640");

  object_t longer[2] = {valid, valid};
  write_object(path, longer, sizeof longer, 0600);
  expect_refused(name, "too long");

  /* The same bytes with the right mode are a lock (the checks above are not
   * refusing everything). */
  write_object(path, &valid, sizeof valid, 0600);
  lock_t *lock = open_ok(name);
  lock_free(lock);
  unlink(path);
  CHECK_EQ(lock_unlink(valid_name), LOCK_OK);
}

static void test_unlink(void) {
  char name[64];
  make_name(name, sizeof name, "unlink");
  errno = 0;
  CHECK_EQ(lock_unlink(name), LOCK_ESYS);
  CHECK_EQ(errno, ENOENT);
  lock_t *old = open_ok(name);
  CHECK_EQ(lock_acquire(old, 0), LOCK_OK);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
  lock_t *fresh = open_ok(name); /* a new lock, unlocked */
  CHECK_EQ(lock_locked(fresh), 0);
  CHECK_EQ(lock_acquire(fresh, 0), LOCK_OK);
  CHECK_EQ(lock_locked(old), 1); /* the old handle keeps working on the old lock */
  CHECK_EQ(lock_release(old), LOCK_OK);
  CHECK_EQ(lock_acquire(old, 0), LOCK_OK);
  CHECK_EQ(lock_release(old), LOCK_OK);
  CHECK_EQ(lock_release(fresh), LOCK_OK);
  lock_free(old);
  lock_free(fresh);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
  CHECK_EQ(lock_unlink(name), LOCK_ESYS);
}

/* ---- several processes ------------------------------------------------------- */

static void counter_path(char *path, size_t size, const char *what) {
  snprintf(path, size, "/tmp/polylock-test-%d-%s.counter", (int)getpid(), what);
}

static void test_hammer(void) {
  char name[64], file[128];
  make_name(name, sizeof name, "hammer");
  counter_path(file, sizeof file, "hammer");
  counter_t *c = counter_map(file, 1);
  CHECK(c != NULL);
  if (!c) return;
  lock_t *lock = open_ok(name);
  const char *waits[] = {"forever", "timed", "try", "forever"};
  const int processes = 4, each = 20000;
  pid_t pids[4];
  for (int i = 0; i < processes; ++i) {
    char slot[16], n[16];
    snprintf(slot, sizeof slot, "%d", i);
    snprintf(n, sizeof n, "%d", each);
    const char *args[] = {"hammer", name, file, slot, n, waits[i], NULL};
    pids[i] = spawn_helper(args, NULL, NULL);
  }
  for (int i = 0; i < processes; ++i) CHECK_EQ(exit_status(pids[i]), 0);
  CHECK_EQ(c->count, (long long)processes * each);
  CHECK_EQ(counter_sum(c), (long long)processes * each);
  CHECK_EQ(c->owner_dead, 0);
  CHECK_EQ(lock_locked(lock), 0);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
  munmap(c, sizeof *c);
  unlink(file);
}

static void test_release_from_another_process(void) {
  char name[64];
  make_name(name, sizeof name, "release");
  lock_t *lock = open_ok(name);
  const char *release[] = {"release", name, NULL};
  CHECK_EQ(run_helper(release), 10 + LOCK_ENOTLOCKED);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  CHECK_EQ(run_helper(release), 10 + LOCK_OK);
  CHECK_EQ(lock_locked(lock), 0);
  CHECK_EQ(lock_release(lock), LOCK_ENOTLOCKED);
  /* And the other way: another process takes it and exits... a dead holder. */
  const char *take[] = {"take", name, NULL};
  CHECK_EQ(run_helper(take), 0);
  CHECK_EQ(lock_locked(lock), 1);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OWNERDEAD);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  /* ...unless someone released it for the dead holder: a plain release. */
  CHECK_EQ(run_helper(take), 0);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* A victim increments in a loop and is killed at a random moment, many times,
 * while waiters of every kind (forever, timed, try) hammer the same counter.
 * The invariants (helper: one holder at a time; LOCK_OK never finds a
 * half-done increment; total == slots' sum after repair) hold throughout. */
static void test_holder_killed(void) {
  char name[64], file[128];
  make_name(name, sizeof name, "killed");
  counter_path(file, sizeof file, "killed");
  counter_t *c = counter_map(file, 1);
  CHECK(c != NULL);
  if (!c) return;
  lock_t *lock = open_ok(name);
  unsigned seed = (unsigned)getpid();
  const int rounds = 60, each = 300;
  const char *waits[] = {"forever", "timed", "try"};
  long long killed_holding = 0;
  for (int round = 0; round < rounds; ++round) {
    char victim_slot[16];
    snprintf(victim_slot, sizeof victim_slot, "%d", 10 + round % 50);
    const char *victim_args[] = {"victim", name, file, victim_slot, NULL};
    const pid_t victim = spawn_helper(victim_args, NULL, NULL);
    pid_t waiters[3];
    for (int i = 0; i < 3; ++i) {
      char slot[16], n[16];
      snprintf(slot, sizeof slot, "%d", i);
      snprintf(n, sizeof n, "%d", each);
      const char *args[] = {"hammer", name, file, slot, n, waits[i], NULL};
      waiters[i] = spawn_helper(args, NULL, NULL);
    }
    /* Kill at a random point: after a random number of the victim's own
     * increments (it must have started), plus a random spin. */
    const int64_t victim_before = counter_load(&c->slots[10 + round % 50]);
    for (long spins = 0; counter_load(&c->slots[10 + round % 50]) == victim_before &&
                         spins < 2000000000L;
         ++spins)
      sched_yield();
    for (volatile unsigned spin = rand_r(&seed) % 200000; spin; --spin) {
    }
    if (round % 4 == 0) {
      /* Every fourth round, kill it certainly holding: wait until the counter
       * shows the victim itself inside (not one of the waiters). */
      const int64_t victim_inside = 1 + 10 + round % 50;
      for (;;) {
        while (counter_load(&c->holder_slot) != victim_inside) sched_yield();
        /* Freeze it, then look again: still inside means holding, for sure
         * (it marks itself in after its acquire and out before its release). */
        kill(victim, SIGSTOP);
        int stopped = 0;
        CHECK_EQ(waitpid(victim, &stopped, WUNTRACED), victim);
        if (counter_load(&c->holder_slot) == victim_inside) break;
        kill(victim, SIGCONT);
      }
    }
    kill(victim, SIGKILL);
    if (round % 2 == 0) CHECK_EQ(exit_status(victim), 128 + SIGKILL); /* else: a zombie a while */
    for (int i = 0; i < 3; ++i) CHECK_EQ(exit_status(waiters[i]), 0);
    if (round % 2 != 0) CHECK_EQ(exit_status(victim), 128 + SIGKILL);
    /* A newcomer after the round: the counter is whole, the lock usable. */
    int status = lock_acquire(lock, LOCK_WAIT_FOREVER);
    CHECK(status == LOCK_OK || status == LOCK_OWNERDEAD);
    if (status == LOCK_OWNERDEAD) {
      ++c->owner_dead;
      counter_store(&c->holders, 0);
      if (counter_repair(c)) ++c->repaired;
    }
    CHECK_EQ(c->pending, 0);
    CHECK_EQ(c->count, counter_sum(c));
    CHECK_EQ(lock_release(lock), LOCK_OK);
    if (failures) break;
  }
  killed_holding = c->owner_dead;
  /* Every fourth round killed a holder for certain; each such death was
   * reported once, to someone. */
  CHECK(killed_holding >= rounds / 4);
  CHECK(c->repaired <= c->owner_dead);
  fprintf(stderr, "  %d rounds: %lld increments, %lld LOCK_OWNERDEAD, %lld repaired\n", rounds,
          (long long)c->count, (long long)c->owner_dead, (long long)c->repaired);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
  munmap(c, sizeof *c);
  unlink(file);
}

/* Pid reuse. The holder record is {pid, start time}. A record whose pid is
 * alive with that very start time names a live process (here one that never
 * used polylock at all): not taken over, however long anyone waits. A record
 * whose pid is alive with another start time names a process that is gone,
 * its pid reused by a later one: that is the proof of death, and the next
 * acquirer takes over (docs/named-locks.md, "The proof-of-death rule"). */
static void test_pid_reuse(void) {
  char name[64];
  make_name(name, sizeof name, "reuse");
  lock_t *lock = open_ok(name);
  object_t *object = map_object(name);
  CHECK(object != NULL);
  if (!object) return;
  const pid_t parent = getppid();
  const uint64_t start = start_ticks_of(parent);
  CHECK(start != 0);
  /* Alive, but with another start time: the recorded process is gone. */
  __atomic_store_n(&object->owner, holder_record(parent, start + 1), __ATOMIC_SEQ_CST);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OWNERDEAD);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  /* The live process itself, start time and all: never taken over. */
  __atomic_store_n(&object->owner, holder_record(parent, start), __ATOMIC_SEQ_CST);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_TIMEOUT);
  CHECK_EQ(lock_acquire(lock, 50000000), LOCK_TIMEOUT);
  const char *try_args[] = {"try", name, "50000000", NULL};
  CHECK_EQ(run_helper(try_args), 10 + LOCK_TIMEOUT);
  /* (A waiter may have set the hand-off request bit, 62, on the record.) */
  CHECK_EQ(__atomic_load_n(&object->owner, __ATOMIC_SEQ_CST) & ((UINT64_C(1) << 62) - 1),
           holder_record(parent, start));
  /* Pid 0 is no process at all: a record no holder could have written. */
  __atomic_store_n(&object->owner, holder_record(0, start), __ATOMIC_SEQ_CST);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OWNERDEAD);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  munmap(object, sizeof *object);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

static void *take_in_thread(void *lock) {
  return (void *)(intptr_t)lock_acquire((lock_t *)lock, LOCK_WAIT_FOREVER);
}

/* Thread exit is not process death. */
static void test_thread_exit_keeps_it_held(void) {
  char name[64];
  make_name(name, sizeof name, "thread");
  lock_t *lock = open_ok(name);
  pthread_t thread;
  void *status = NULL;
  pthread_create(&thread, NULL, take_in_thread, lock);
  pthread_join(thread, &status);
  CHECK_EQ((intptr_t)status, LOCK_OK);
  const char *try_args[] = {"try", name, "30000000", NULL};
  CHECK_EQ(run_helper(try_args), 10 + LOCK_TIMEOUT);
  CHECK_EQ(lock_release(lock), LOCK_OK);

  /* The same from another process, seen by this one. */
  int to_child = -1, from_child = -1;
  const char *holds[] = {"thread-holds", name, NULL};
  pid_t child = spawn_helper(holds, &to_child, &from_child);
  await_line(from_child);
  CHECK_EQ(lock_acquire(lock, 30000000), LOCK_TIMEOUT);
  close(to_child);
  CHECK_EQ(exit_status(child), 0);
  CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OWNERDEAD); /* now it is gone */
  CHECK_EQ(lock_release(lock), LOCK_OK);
  close(from_child);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* A holder whose main thread exited while another runs is alive (its /proc
 * entry says zombie); once its last thread exits it is a zombie, unreaped,
 * and dead. */
static void test_leader_exit_and_zombie(void) {
  char name[64];
  make_name(name, sizeof name, "zombie");
  lock_t *lock = open_ok(name);
  int to_child = -1, from_child = -1;
  const char *args[] = {"leader-exits", name, NULL};
  pid_t child = spawn_helper(args, &to_child, &from_child);
  await_line(from_child);
  /* Wait until the main thread has really gone (the leader shows "Z"). */
  for (long spins = 0; spins < 100000000L; ++spins) {
    char path[64], buffer[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
    FILE *file = fopen(path, "r");
    if (!file) break;
    size_t got = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    buffer[got] = '\0';
    const char *close_paren = strrchr(buffer, ')');
    if (close_paren && close_paren[2] == 'Z') break;
    sched_yield();
  }
  CHECK_EQ(lock_acquire(lock, 0), LOCK_TIMEOUT);
  CHECK_EQ(lock_acquire(lock, 30000000), LOCK_TIMEOUT);
  close(to_child); /* its other thread exits the process; not reaped yet */
  siginfo_t info;
  memset(&info, 0, sizeof info);
  CHECK_EQ(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT), 0); /* a zombie now */
  CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OWNERDEAD);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(exit_status(child), 0);
  close(from_child);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* A waiter blocked for ever in another process notices the SIGKILL. */
static void test_blocked_waiter_sees_owner_dead(void) {
  char name[64];
  make_name(name, sizeof name, "blocked");
  lock_t *lock = open_ok(name);
  int to_child = -1, from_child = -1;
  const char *holds[] = {"thread-holds", name, NULL};
  pid_t holder = spawn_helper(holds, &to_child, &from_child);
  await_line(from_child);
  const char *forever[] = {"try", name, "-1", NULL};
  const char *timed[] = {"try", name, "1000000000000", NULL};
  pid_t waiter = spawn_helper(forever, NULL, NULL);
  pid_t timed_waiter = spawn_helper(timed, NULL, NULL);
  /* Both are blocked: the lock's sleeper count shows them. */
  object_t *object = map_object(name);
  CHECK(object != NULL);
  for (long spins = 0; object && __atomic_load_n(&object->sleepers, __ATOMIC_SEQ_CST) < 2 &&
                       spins < 100000000L;
       ++spins)
    sched_yield();
  kill(holder, SIGKILL);
  const int first = exit_status(waiter), second = exit_status(timed_waiter);
  /* One of them took it with LOCK_OWNERDEAD; the other waits for a release
   * that never comes: the first exited holding it, so it is dead too. */
  CHECK_EQ(first + second, 10 + LOCK_OWNERDEAD + 10 + LOCK_OWNERDEAD);
  CHECK_EQ(exit_status(holder), 128 + SIGKILL);
  close(to_child);
  close(from_child);
  if (object) munmap(object, sizeof *object);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* The watcher thread (core/named_lock.cpp) that notices a dead holder for
 * this process's waiters blocks every signal, so that it never runs a handler
 * meant for the program's threads (a Python, JVM or .NET host's, say): its
 * mask in /proc shows every catchable signal blocked. */
static void test_watcher_blocks_signals(void) {
  char name[64];
  make_name(name, sizeof name, "watcher");
  lock_t *lock = open_ok(name);
  int to_child = -1, from_child = -1;
  const char *holds[] = {"thread-holds", name, NULL};
  pid_t holder = spawn_helper(holds, &to_child, &from_child);
  await_line(from_child);
  pthread_t waiter;
  pthread_create(&waiter, NULL, take_in_thread, lock);
  /* The watcher is started before the waiter's first sleep. */
  unsigned long long blocked = 0;
  int found = 0;
  for (long spins = 0; !found && spins < 100000000L; ++spins) {
    DIR *tasks = opendir("/proc/self/task");
    CHECK(tasks != NULL);
    if (!tasks) break;
    for (struct dirent *task; !found && (task = readdir(tasks)) != NULL;) {
      char path[300], text[4096];
      snprintf(path, sizeof path, "/proc/self/task/%s/comm", task->d_name);
      FILE *comm = fopen(path, "r");
      if (!comm) continue;
      const int named = fgets(text, sizeof text, comm) && strcmp(text, "polylock-watch\n") == 0;
      fclose(comm);
      if (!named) continue;
      snprintf(path, sizeof path, "/proc/self/task/%s/status", task->d_name);
      FILE *status = fopen(path, "r");
      CHECK(status != NULL);
      while (status && fgets(text, sizeof text, status))
        if (sscanf(text, "SigBlk: %llx", &blocked) == 1) found = 1;
      if (status) fclose(status);
    }
    closedir(tasks);
    if (!found) sched_yield();
  }
  CHECK(found);
  const int catchable[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
                           SIGTERM, SIGCHLD, SIGCONT, SIGPROF, SIGWINCH, SIGRTMIN, SIGRTMAX};
  for (size_t i = 0; i < sizeof catchable / sizeof *catchable; ++i)
    CHECK((blocked >> (catchable[i] - 1)) & 1);
  kill(holder, SIGKILL);
  void *result = NULL;
  pthread_join(waiter, &result);
  CHECK_EQ((intptr_t)result, LOCK_OWNERDEAD);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(exit_status(holder), 128 + SIGKILL);
  close(to_child);
  close(from_child);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* ---- waiting ---------------------------------------------------------------- */

static int stop_count;
static int stop_answer;
static int stop(void *context) {
  (void)context;
  __atomic_fetch_add(&stop_count, 1, __ATOMIC_SEQ_CST);
  return __atomic_load_n(&stop_answer, __ATOMIC_SEQ_CST);
}

static void *interruptible_wait(void *lock) {
  return (void *)(intptr_t)lock_acquire_interruptible((lock_t *)lock, LOCK_WAIT_FOREVER, stop,
                                                      NULL);
}

static void test_interruptible(void) {
  char name[64];
  make_name(name, sizeof name, "interrupt");
  lock_t *lock = open_ok(name);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  /* A stop condition set before the wait is heard before the first sleep. */
  stop_answer = 1;
  stop_count = 0;
  CHECK_EQ(lock_acquire_interruptible(lock, LOCK_WAIT_FOREVER, stop, NULL), LOCK_EINTR);
  CHECK_EQ(stop_count, 1);
  /* lock_interrupt makes a sleeping waiter ask again. */
  stop_answer = 0;
  stop_count = 0;
  pthread_t thread;
  pthread_create(&thread, NULL, interruptible_wait, lock);
  while (__atomic_load_n(&stop_count, __ATOMIC_SEQ_CST) == 0) sched_yield();
  __atomic_store_n(&stop_answer, 1, __ATOMIC_SEQ_CST);
  CHECK_EQ(lock_interrupt(lock), LOCK_OK);
  void *status = NULL;
  pthread_join(thread, &status);
  CHECK_EQ((intptr_t)status, LOCK_EINTR);
  CHECK_EQ(lock_locked(lock), 1); /* nothing was taken or given */
  CHECK_EQ(lock_release(lock), LOCK_OK);
  /* A free lock is taken without asking. */
  stop_count = 0;
  CHECK_EQ(lock_acquire_interruptible(lock, LOCK_WAIT_FOREVER, stop, NULL), LOCK_OK);
  CHECK_EQ(stop_count, 0);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* This process takes and releases the lock in a tight loop; a waiter in
 * another process must still get it (the hand-off after ~1 ms), within a
 * number of iterations no starving lock would reach. */
static void test_no_waiter_starves(void) {
  char name[64], file[128];
  make_name(name, sizeof name, "fair");
  counter_path(file, sizeof file, "fair");
  counter_t *c = counter_map(file, 1);
  CHECK(c != NULL);
  if (!c) return;
  lock_t *lock = open_ok(name);
  CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OK);
  const char *args[] = {"hammer", name, file, "1", "20", "forever", NULL};
  pid_t waiter = spawn_helper(args, NULL, NULL);
  long iterations = 0;
  while (counter_load(&c->slots[1]) < 20 && iterations < 2000000000L) {
    CHECK_EQ(lock_release(lock), LOCK_OK);
    CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OK);
    ++iterations;
  }
  CHECK_EQ(counter_load(&c->slots[1]), 20);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(exit_status(waiter), 0);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
  munmap(c, sizeof *c);
  unlink(file);
}

/* The hand-off itself: a waiter in another process that has waited ~1 ms
 * and then loses a race for the lock (it is woken by a release and finds the
 * lock taken again) asks for it (bit 62 of the owner word); the next release
 * then gives it the lock, so the releasing thread cannot take it straight
 * back. The lost race is made certain: the waiter is stopped (SIGSTOP) while
 * this thread releases and retakes the lock, and continued once it has
 * waited over 1 ms; its restarted sleep returns at once (the futex word
 * moved), it finds the lock held, and asks. */
static void test_hand_off_after_a_millisecond(void) {
  char name[64];
  make_name(name, sizeof name, "hand-off");
  lock_t *lock = open_ok(name);
  object_t *object = map_object(name);
  CHECK(object != NULL);
  if (!object) return;
  for (int round = 0; round < 20; ++round) {
    CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OK);
    const char *args[] = {"try", name, "-1", NULL};
    pid_t waiter = spawn_helper(args, NULL, NULL);
    while (__atomic_load_n(&object->sleepers, __ATOMIC_SEQ_CST) == 0) sched_yield();
    const int64_t waiting_since = now_ns(); /* the waiter started before this */
    CHECK_EQ(kill(waiter, SIGSTOP), 0);
    int wait_status = 0;
    CHECK_EQ(waitpid(waiter, &wait_status, WUNTRACED), waiter);
    CHECK(WIFSTOPPED(wait_status));
    CHECK_EQ(lock_release(lock), LOCK_OK);
    int status = lock_acquire(lock, 0); /* the race the waiter loses */
    if (status == LOCK_OK) {
      while (now_ns() - waiting_since < 2000000) sched_yield();
      CHECK_EQ(kill(waiter, SIGCONT), 0);
      while (!(__atomic_load_n(&object->owner, __ATOMIC_SEQ_CST) >> 62 & 1)) sched_yield();
      CHECK_EQ(lock_release(lock), LOCK_OK);
      /* Handed off (reserved), held by the waiter, or left by it on exit. */
      status = lock_acquire(lock, 0);
      CHECK(status != LOCK_OK);
      if (status == LOCK_OK) CHECK_EQ(lock_release(lock), LOCK_OK); /* (only when failing) */
    } else {
      /* On a loaded machine the waiter's first look at the lock may come
       * after 1 ms: it asked before it was stopped, and the release above
       * already handed the lock to it, reserved while it is stopped. */
      CHECK_EQ(status, LOCK_TIMEOUT);
      CHECK(__atomic_load_n(&object->owner, __ATOMIC_SEQ_CST) >> 63 & 1);
      CHECK_EQ(kill(waiter, SIGCONT), 0);
    }
    CHECK_EQ(exit_status(waiter), 10 + LOCK_OK);
    /* The waiter exited holding it. */
    if (status != LOCK_OWNERDEAD) CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OWNERDEAD);
    CHECK_EQ(lock_release(lock), LOCK_OK);
  }
  munmap(object, sizeof *object);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* A holder that could not read its own start time (a fork child that may
 * open no file) records it as unknown: its live process is never taken for
 * dead by a start-time mismatch, and its death is still proved. */
static void test_holder_without_start_time(void) {
  char name[64];
  make_name(name, sizeof name, "no-fds");
  lock_t *lock = open_ok(name);
  object_t *object = map_object(name);
  CHECK(object != NULL);
  if (!object) return;
  int to_child = -1, from_child = -1;
  const char *args[] = {"child-without-fds", name, NULL};
  pid_t helper_pid = spawn_helper(args, &to_child, &from_child);
  await_line(from_child);
  const uint64_t owner = __atomic_load_n(&object->owner, __ATOMIC_SEQ_CST);
  CHECK_EQ((owner >> 22) & ((UINT64_C(1) << 40) - 1), (UINT64_C(1) << 40) - 1); /* unknown */
  CHECK_EQ(lock_acquire(lock, 0), LOCK_TIMEOUT);
  CHECK_EQ(lock_acquire(lock, 20000000), LOCK_TIMEOUT);
  close(to_child); /* the child exits; the helper reaps it */
  CHECK_EQ(exit_status(helper_pid), 0);
  CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OWNERDEAD);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  close(from_child);
  munmap(object, sizeof *object);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

/* A fork child that inherited a handle acquires in its own name: its parent's
 * death would not make the child's hold look dead, and vice versa. */
static void test_fork_child_is_its_own_holder(void) {
  char name[64];
  make_name(name, sizeof name, "fork");
  lock_t *lock = open_ok(name);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  pid_t child = fork();
  if (child == 0) _exit(lock_acquire(lock, 0) == LOCK_OK ? 0 : 1); /* exits holding it */
  CHECK_EQ(exit_status(child), 0);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OWNERDEAD); /* the child's, not ours */
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
  CHECK_EQ(lock_unlink(name), LOCK_OK);
}

static const struct {
  const char *name;
  void (*run)(void);
} tests[] = {
    {"bad_names", test_bad_names},
    {"created_owner_only", test_created_owner_only},
    {"semantics", test_semantics},
    {"hostile_objects", test_hostile_objects},
    {"unlink", test_unlink},
    {"hammer", test_hammer},
    {"release_from_another_process", test_release_from_another_process},
    {"holder_killed", test_holder_killed},
    {"pid_reuse", test_pid_reuse},
    {"thread_exit_keeps_it_held", test_thread_exit_keeps_it_held},
    {"leader_exit_and_zombie", test_leader_exit_and_zombie},
    {"blocked_waiter_sees_owner_dead", test_blocked_waiter_sees_owner_dead},
    {"watcher_blocks_signals", test_watcher_blocks_signals},
    {"interruptible", test_interruptible},
    {"no_waiter_starves", test_no_waiter_starves},
    {"hand_off_after_a_millisecond", test_hand_off_after_a_millisecond},
    {"fork_child_is_its_own_holder", test_fork_child_is_its_own_holder},
    {"holder_without_start_time", test_holder_without_start_time},
};

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_named HELPER [TEST]\n");
    return 2;
  }
  helper = argv[1];
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof *tests; ++i) {
    if (argc > 2 && strcmp(argv[2], tests[i].name) != 0) continue;
    const int before = failures;
    tests[i].run();
    fprintf(stderr, "%s %s\n", failures == before ? "ok  " : "FAIL", tests[i].name);
    ++ran;
  }
  if (ran == 0) {
    fprintf(stderr, "no test named %s\n", argv[2]);
    return 2;
  }
  return failures ? 1 : 0;
}
