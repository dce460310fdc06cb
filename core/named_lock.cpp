// polylock core — the named lock's protocol (docs/named-locks.md says the
// same for users).
//
// THE OBJECT. A named lock is a 64-byte regular file in /dev/shm (a tmpfs),
// "/dev/shm/polylock.<euid>.<name>", mapped MAP_SHARED by every process that
// opened it. It is created whole or not at all: written under a temporary
// name (O_EXCL, mode 0600), then link()ed into place, so a process that dies
// while creating leaves at worst a stray temporary file, never a half-made
// lock that later opens would refuse. An existing object is used only if it
// is a regular file (O_NOFOLLOW, fstat), owned by geteuid(), with no group or
// other permission bits, of exactly the expected size, holding our magic and
// layout version, made in this process's pid namespace (pids mean nothing in
// another); anything else is `not_ours`. After that check the shared
// words are still treated as hostile: every bit pattern decodes to something
// harmless (a holder that is proved dead or not, a spurious wake-up), and
// every wait is bounded by the caller's deadline.
//
// THE OWNER WORD (64 bits) is the lock. 0 is free. Otherwise its low 62 bits
// name a task: a 22-bit id (pid_max <= 2^22) and the task's start time in
// clock ticks since boot (field 22 of /proc/<id>/stat, 40 bits: centuries),
// and its two top bits say whose it is:
//   * reserved_bit clear: held, by the *process* named (pid, start).
//   * reserved_bit set: handed off to the *thread* named (tid, start), which
//     has yet to claim it (below). It counts as held.
//   * want_hand_off_bit: a starving waiter asked for the next release to hand
//     the lock to it.
// Acquire is one CAS 0 -> me; an uncontended release is one CAS me -> 0 plus
// a load of `sleepers` -- no system call.
//
// WAITING. A waiter counts itself in `sleepers`, then sleeps on the 32-bit
// futex word `wake_seq` (a shared futex: no FUTEX_PRIVATE_FLAG). A release
// that sees sleepers != 0 after its CAS bumps wake_seq and wakes one. Both
// sides are sequentially consistent, so either the waiter sees the free lock
// or the release sees the waiter (the waiter reads wake_seq before the owner
// word, so a bump in between makes its FUTEX_WAIT return at once).
//
// HOLDER DEATH. A waiter sleeps with no timeout (or until its deadline); the
// process's watcher thread (below) wakes it when the holder is proved dead,
// and it then takes the lock with a CAS from the holder's exact value to its
// own, answering `owner_died`, only on proof of death -- /proc/<pid>/stat is
// gone, or its start time differs (the pid was reused), or the process is a
// zombie with one thread left (a process whose main thread exited while other
// threads run shows "Z" too, but with "Threads: 2" or more in
// /proc/<pid>/status, and is alive). Never on a timeout. A newcomer that only
// tries (timeout 0) checks at once; a timed waiter checks at its deadline. A
// process learns its own identity from /proc/self/stat once, and again in a
// fork child (pthread_atfork).
//
// FAIRNESS. A waiter that has waited fair_after_ns and, woken, finds the lock
// taken again (it lost a race) puts its thread identity
// (tid, thread start time) in the `hand_off` word -- one request at a time --
// and sets want_hand_off_bit on the owner word. A release that sees the bit
// (its fast CAS fails on it) turns the owner word into reserved_bit|request
// in one CAS and wakes all sleepers; only the requesting thread can claim it
// (CAS to its process identity), so no newcomer barges in and nobody starves
// for longer than about two holds past the first millisecond. A reservation is
// abandoned, and anyone may take it (answering `yes`, since nobody ran the
// critical section), when the request is no longer in `hand_off` (the waiter
// withdrew) or the thread is proved gone. A request whose thread is gone is
// cleared by the next starving waiter.
//
// INTERRUPTS are per handle: a counter in this process's handle, and a bump
// of wake_seq plus a wake-all, so that a sleeper re-reads the counter.
#include "named_lock.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <errno.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wait.hpp"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#endif

namespace polylock::core {

std::atomic<std::uint64_t> named_lock_self{0};

bool valid_lock_name(const char* name) noexcept {
  if (!name || name[0] == '\0' || name[0] == '.') return false;
  unsigned length = 0;
  for (const char* c = name; *c; ++c) {
    if (++length > named_lock_max_name) return false;
    const char ch = *c;
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

#if defined(__linux__)

// The shared object. Layout 1; a later layout gets a new number, and this
// code refuses it rather than guess.
struct SharedLock {
  std::uint32_t magic;   // shared_magic
  std::uint32_t layout;  // shared_layout
  std::uint32_t size;    // sizeof(SharedLock)
  std::uint32_t spare0;
  std::atomic<std::uint64_t> owner;     // the lock: see the top of this file
  std::atomic<std::uint64_t> hand_off;  // 0, or the thread a starving waiter asks to be handed it
  std::atomic<std::uint32_t> wake_seq;  // the futex word waiters sleep on
  std::atomic<std::uint32_t> sleepers;  // threads in the waiting loop (an upper bound)
  std::uint64_t pid_namespace;          // inode of the creator's /proc/self/ns/pid
  std::uint8_t spare[16];
};

namespace {

constexpr std::uint32_t shared_magic = 0x4e4b4c50u;  // "PLKN"
constexpr std::uint32_t shared_layout = 1;

// What creation writes with pwrite: the same 64 bytes, as plain data. Written
// with a system call rather than through the mapping, so that a full tmpfs is
// an ENOSPC here, not a SIGBUS later.
struct SharedImage {
  std::uint32_t magic, layout, size, spare0;
  std::uint64_t owner, hand_off;
  std::uint32_t wake_seq, sleepers;
  std::uint64_t pid_namespace;
  std::uint8_t spare[16];
};
static_assert(sizeof(SharedLock) == 64 && sizeof(SharedImage) == 64, "the layout is 64 bytes");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "shared words must be lock-free to work across processes");

constexpr unsigned id_bits = 22;
constexpr std::uint64_t id_mask = (std::uint64_t{1} << id_bits) - 1;
constexpr std::uint64_t start_mask = (std::uint64_t{1} << 40) - 1;
constexpr std::uint64_t task_mask = (std::uint64_t{1} << 62) - 1;  // id and start
constexpr std::uint64_t want_hand_off_bit = std::uint64_t{1} << 62;
constexpr std::uint64_t reserved_bit = std::uint64_t{1} << 63;
// The start time a process records when it could not read its own (a fork
// child out of file descriptors): its pid alone then proves nothing but a
// missing /proc entry or a zombie, never a reuse, so it is never wrongly
// taken for dead.
constexpr std::uint64_t unknown_start = start_mask;

// A waiter that has waited this long asks for the lock to be handed to it.
constexpr std::int64_t fair_after_ns = 1'000'000;
// Sleeps between checks of the holder (a /proc read each): the first after
// 4 ms, then doubling to 16 ms, so that a long wait costs about 60 reads a
// second while a dead holder is still noticed within ~16 ms. Not sooner: on a
// loaded machine waits of a millisecond or two are common, and a check on
// each would cost more than the hand-off it delays.
constexpr std::int64_t first_poll_ns = 4'000'000;
constexpr std::int64_t max_poll_ns = 16'000'000;
// Polls before the first sleep, as in lock.cpp: outlasts a short critical
// section, short next to a futex wake.
constexpr int spin_limit = 10;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

std::uint64_t task_identity(std::uint64_t id, std::uint64_t start_ticks) noexcept {
  return ((start_ticks & start_mask) << id_bits) | (id & id_mask);
}

// ---- /proc ---------------------------------------------------------------

enum class Task { gone, alive, zombie, unknown };

// Reads `path` (a /proc file) into `buffer`, NUL-terminated. -1 with errno
// set on failure.
long read_small_file(const char* path, char* buffer, std::size_t size) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long total = 0;
  for (;;) {
    const ssize_t got = ::read(fd, buffer + total, size - 1 - static_cast<std::size_t>(total));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    total += got;
    if (static_cast<std::size_t>(total) >= size - 1) break;
  }
  ::close(fd);
  buffer[total] = '\0';
  return total;
}

// The state and start time of the task at /proc/<path>/stat. The command
// name (field 2) may hold spaces and parentheses, so fields are counted from
// the last ')'.
Task read_stat(const char* path, std::uint64_t& start_ticks) noexcept {
  char buffer[1024];
  if (read_small_file(path, buffer, sizeof buffer) < 0)
    return errno == ENOENT || errno == ESRCH ? Task::gone : Task::unknown;
  const char* close = std::strrchr(buffer, ')');
  if (!close || close[1] != ' ') return Task::unknown;
  const char state = close[2];
  const char* field = close + 2;  // field 3
  for (int n = 3; n < 22; ++n) {
    field = std::strchr(field, ' ');
    if (!field) return Task::unknown;
    ++field;
  }
  std::uint64_t value = 0;
  if (*field < '0' || *field > '9') return Task::unknown;
  for (; *field >= '0' && *field <= '9'; ++field) value = value * 10 + (*field - '0');
  start_ticks = value;
  return state == 'Z' || state == 'X' ? Task::zombie : Task::alive;
}

// How many threads /proc/<pid>/status counts; 0 if unknown.
long thread_count(unsigned pid) noexcept {
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/status", pid);
  char buffer[4096];
  if (read_small_file(path, buffer, sizeof buffer) < 0) return 0;
  const char* line = std::strstr(buffer, "\nThreads:");
  if (!line) return 0;
  return std::strtol(line + 9, nullptr, 10);
}

// True only on proof that the process `identity` names no longer runs: its
// /proc entry is gone, belongs to a later process (start time), or is a
// zombie with no live thread. Anything unclear (no /proc, a parse failure)
// is no proof.
bool process_gone(std::uint64_t identity) noexcept {
  const auto pid = static_cast<unsigned>(identity & id_mask);
  if (pid == 0) return true;  // no process has that id: the word is not a holder at all
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/stat", pid);
  std::uint64_t start = 0;
  switch (read_stat(path, start)) {
    case Task::gone:
      return true;
    case Task::unknown:
      return false;
    case Task::alive:
      return (identity >> id_bits) != unknown_start &&
             (start & start_mask) != (identity >> id_bits);
    case Task::zombie:
      if ((identity >> id_bits) != unknown_start && (start & start_mask) != (identity >> id_bits))
        return true;
      // A main thread that called pthread_exit leaves the leader a zombie
      // while the other threads run: "Threads:" still counts them.
      return thread_count(pid) == 1;
  }
  return false;
}

// True on proof that the thread `identity` names (a hand-off's target) no
// longer runs. /proc/<tid> answers for any thread, listed or not.
bool thread_gone(std::uint64_t identity) noexcept {
  const auto tid = static_cast<unsigned>(identity & id_mask);
  if (tid == 0) return true;
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/stat", tid);
  std::uint64_t start = 0;
  switch (read_stat(path, start)) {
    case Task::gone:
    case Task::zombie:  // an exited thread that waits on nothing
      return true;
    case Task::unknown:
      return false;
    case Task::alive:
      return (start & start_mask) != (identity >> id_bits);
  }
  return false;
}

// ---- who am I ------------------------------------------------------------

// This process's identity (named_lock_self), read once; a fork child forgets
// it (atfork), so that it never takes the lock in its parent's name. A plain
// atomic, not a function-local static, to keep the C++ runtime out of the
// library.
std::atomic<bool> atfork_registered{false};

void forget_self_in_child() { named_lock_self.store(0, std::memory_order_relaxed); }

void lock_watch_list();
void unlock_watch_list();
void reset_watch_in_child();

void atfork_child() {
  forget_self_in_child();
  reset_watch_in_child();
}

std::uint64_t read_self_identity() noexcept {
  std::uint64_t start = 0;
  if (read_stat("/proc/self/stat", start) != Task::alive) return 0;
  if ((start & start_mask) == unknown_start) start = 0;  // not after 348 years of uptime
  return task_identity(static_cast<std::uint64_t>(getpid()), start);
}

// Pids mean something only within one pid namespace. Processes of two
// namespaces (containers sharing /dev/shm) could not prove each other's death
// -- each would see the other's pid missing -- so a lock belongs to the
// namespace that created it, and other namespaces are refused.
std::uint64_t pid_namespace() noexcept {
  struct stat st {};
  return stat("/proc/self/ns/pid", &st) == 0 ? static_cast<std::uint64_t>(st.st_ino) : 0;
}

std::uint64_t self_identity() noexcept {
  std::uint64_t self = named_lock_self.load(std::memory_order_relaxed);
  if (self != 0) return self;
  self = read_self_identity();
  if (self == 0) return task_identity(static_cast<std::uint64_t>(getpid()), unknown_start);
  named_lock_self.store(self, std::memory_order_relaxed);
  return self;
}

// The calling thread's identity, for a hand-off request; 0 if /proc fails.
// Kept per thread, since a /proc read costs more than a whole hand-off; the
// tid check catches a fork child, whose one thread has a new tid. A trivially
// constructed thread_local needs no C++ runtime, and initial-exec keeps it
// in static TLS (8 bytes of glibc's surplus, even when dlopen()ed), so the
// library needs no __tls_get_addr from ld.so: libc alone.
__attribute__((tls_model("initial-exec"))) thread_local std::uint64_t thread_identity_cache = 0;

std::uint64_t thread_identity() noexcept {
  const auto tid = static_cast<std::uint64_t>(syscall(SYS_gettid));
  if (thread_identity_cache != 0 && (thread_identity_cache & id_mask) == tid)
    return thread_identity_cache;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%u/stat", static_cast<unsigned>(tid));
  std::uint64_t start = 0;
  if (read_stat(path, start) != Task::alive) return 0;
  thread_identity_cache = task_identity(tid, start);
  return thread_identity_cache;
}

// ---- the shared futex ------------------------------------------------------

WakeReason wait_shared(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       std::int64_t deadline_ns) noexcept {
  // An absolute CLOCK_MONOTONIC deadline (FUTEX_WAIT_BITSET; one already
  // past makes the kernel answer ETIMEDOUT at once), and no
  // FUTEX_PRIVATE_FLAG: the word is shared with other processes.
  // No deadline: no timeout at all, so that the kernel arms no timer (on a
  // virtual machine each one costs an exit to the hypervisor).
  timespec deadline{};
  deadline.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
  deadline.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
  const long rc = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET,
                          expected, deadline_ns == no_deadline ? nullptr : &deadline, nullptr,
                          FUTEX_BITSET_MATCH_ANY);
  if (rc == -1 && errno == ETIMEDOUT) return WakeReason::timed_out;
  if (rc == -1 && errno == EINTR) return WakeReason::interrupted;
  return WakeReason::woken;
}

void wake_sleepers(SharedLock& shared, int how_many) noexcept {
  shared.wake_seq.fetch_add(1, std::memory_order_seq_cst);
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&shared.wake_seq), FUTEX_WAKE, how_many,
          nullptr, nullptr, 0);
}

// ---- the holder watcher ------------------------------------------------------
//
// Waiters sleep without a timeout (or until their own deadline), so that a
// hand-off between processes costs what a bare shared futex costs. Someone
// must then notice a holder that dies: one thread per process, the watcher,
// started by the process's first sleep on a named lock. Every watch_tick_ns
// it looks at each handle of this process that has a sleeper; if the lock's
// holder (a process, or the thread a hand-off was reserved for) is proved
// gone, it counts a notice in the handle's `deaths` and wakes every sleeper,
// and a waiter that sees a new notice probes the holder itself (attempt()).
// It also wakes them if the lock is free or reserved, since a releaser that
// dies between its CAS and its wake-up would leave them asleep.
// After idle_after_ticks ticks with no sleeper at all it sleeps on
// `watcher_state` until a waiter wakes it: a process that waits on nothing
// costs nothing. The watcher blocks every signal, so that it never runs a
// handler meant for the program's own threads. If it cannot be started (out
// of threads), waiters fall back to bounded sleeps of first_poll_ns doubling
// to max_poll_ns and probe at each. A fork child has no watcher until one of
// its threads sleeps.

enum : std::uint32_t { watcher_none, watcher_running, watcher_idle, watcher_failed };

constexpr std::int64_t watch_tick_ns = 8'000'000;
constexpr int idle_after_ticks = 125;  // about a second

pthread_mutex_t watch_mutex = PTHREAD_MUTEX_INITIALIZER;
NamedLocal* watch_list = nullptr;  // under watch_mutex
std::atomic<std::uint32_t> watcher_state{watcher_none};

enum class Look { nothing, wake, holder_gone };

// What the watcher does for a lock its process waits on: tell the waiters
// that the holder (or the thread the lock is reserved for) is proved gone;
// or only wake them, when the lock is free or reserved -- a releaser may
// have died between its CAS and its wake-up, which would otherwise leave
// them asleep (at worst a spurious wake-up per tick); or nothing.
Look look_at(const SharedLock& shared) noexcept {
  const std::uint64_t seen = shared.owner.load(std::memory_order_seq_cst);
  if (seen == 0) return Look::wake;
  if (seen & reserved_bit) return thread_gone(seen & task_mask) ? Look::holder_gone : Look::wake;
  const std::uint64_t task = seen & task_mask;
  if (task == named_lock_self.load(std::memory_order_relaxed)) return Look::nothing;  // alive
  return process_gone(task) ? Look::holder_gone : Look::nothing;
}

// One look at every watched handle; true if any has a sleeper.
bool watch_once(bool check) noexcept {
  bool any = false;
  pthread_mutex_lock(&watch_mutex);
  for (NamedLocal* local = watch_list; local; local = local->next) {
    if (local->sleepers.load(std::memory_order_seq_cst) == 0) continue;
    any = true;
    const Look look = check ? look_at(*local->shared) : Look::nothing;
    if (look == Look::holder_gone) local->deaths.fetch_add(1, std::memory_order_seq_cst);
    if (look != Look::nothing) wake_sleepers(*local->shared, INT32_MAX);
  }
  pthread_mutex_unlock(&watch_mutex);
  return any;
}

void* watcher_main(void*) {
  int idle_ticks = 0;
  for (;;) {
    if (watch_once(true)) {
      idle_ticks = 0;
    } else if (++idle_ticks >= idle_after_ticks) {
      idle_ticks = 0;
      // Sequentially consistent, as the waiter's side in watch(): it counts
      // itself in, then reads the state; either it sees `idle` and wakes this
      // thread, or the look below sees its count.
      watcher_state.store(watcher_idle, std::memory_order_seq_cst);
      if (!watch_once(false))
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&watcher_state),
                FUTEX_WAIT | FUTEX_PRIVATE_FLAG, watcher_idle, nullptr, nullptr, 0);
      watcher_state.store(watcher_running, std::memory_order_seq_cst);
      continue;
    }
    timespec tick{0, watch_tick_ns};
    while (nanosleep(&tick, &tick) != 0 && errno == EINTR) {
    }
  }
  return nullptr;
}

// Starts the watcher; under watch_mutex.
void start_watcher() noexcept {
  // The library must outlive the thread that runs its code: never unmapped
  // by dlclose() from now on.
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&watcher_main), &info) != 0 && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  sigset_t all{}, before{};
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);  // the watcher inherits the full mask
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attributes, 64 * 1024);
  pthread_t thread{};
  const bool started = pthread_create(&thread, &attributes, watcher_main, nullptr) == 0;
  pthread_attr_destroy(&attributes);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (started) pthread_setname_np(thread, "polylock-watch");
  watcher_state.store(started ? watcher_running : watcher_failed, std::memory_order_seq_cst);
}

// Counts a waiting thread in on `local` and makes sure the watcher runs.
// False if there is no watcher: the caller must then bound its sleeps.
bool watch(NamedLocal& local) noexcept {
  if (!local.watched.load(std::memory_order_acquire)) {
    pthread_mutex_lock(&watch_mutex);
    if (!local.watched.load(std::memory_order_relaxed)) {
      local.next = watch_list;
      watch_list = &local;
      local.watched.store(true, std::memory_order_release);
    }
    pthread_mutex_unlock(&watch_mutex);
  }
  local.sleepers.fetch_add(1, std::memory_order_seq_cst);
  std::uint32_t state = watcher_state.load(std::memory_order_seq_cst);
  if (state == watcher_idle) {
    if (watcher_state.compare_exchange_strong(state, watcher_running, std::memory_order_seq_cst))
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&watcher_state),
              FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr, nullptr, 0);
    return true;
  }
  if (state == watcher_none) {
    pthread_mutex_lock(&watch_mutex);
    if (watcher_state.load(std::memory_order_relaxed) == watcher_none) start_watcher();
    pthread_mutex_unlock(&watch_mutex);
    state = watcher_state.load(std::memory_order_seq_cst);
  }
  return state != watcher_failed;
}

void unwatch(NamedLocal& local) noexcept {
  if (!local.watched.load(std::memory_order_acquire)) return;
  pthread_mutex_lock(&watch_mutex);
  for (NamedLocal** link = &watch_list; *link; link = &(*link)->next) {
    if (*link == &local) {
      *link = local.next;
      break;
    }
  }
  pthread_mutex_unlock(&watch_mutex);
}

// fork(): the child gets the list whole (the mutex is held across the fork),
// no watcher, and no waiting thread but the one that forked.
void lock_watch_list() { pthread_mutex_lock(&watch_mutex); }
void unlock_watch_list() { pthread_mutex_unlock(&watch_mutex); }
void reset_watch_in_child() {
  for (NamedLocal* local = watch_list; local; local = local->next)
    local->sleepers.store(0, std::memory_order_relaxed);
  watcher_state.store(watcher_none, std::memory_order_relaxed);
  pthread_mutex_unlock(&watch_mutex);
}

// ---- the protocol ----------------------------------------------------------

enum class Taken { no, yes, owner_died };

// One attempt to take the lock as `me` (a process identity). `requester` is
// the calling thread's identity if it has a hand-off request out, else 0.
// With `probe`, a holder or a reservation is checked for proof of death.
// Never waits; gives up after a few lost races (the caller sleeps and
// retries), so that a word changing under it cannot keep it here.
Taken attempt(SharedLock& shared, std::uint64_t me, std::uint64_t requester, bool probe) noexcept {
  std::uint64_t seen = shared.owner.load(std::memory_order_seq_cst);
  for (int races = 0; races < 4; ++races) {
    Taken outcome = Taken::yes;
    if (seen == 0) {
      // free
    } else if (seen & reserved_bit) {
      const std::uint64_t target = seen & task_mask;
      const bool mine = requester != 0 && target == requester;
      const bool abandoned = shared.hand_off.load(std::memory_order_seq_cst) != target ||
                             (probe && thread_gone(target));
      if (!mine && !abandoned) return Taken::no;
    } else {
      // Never a /proc read for a holder in this very process: it is alive.
      if (!probe || (seen & task_mask) == me || !process_gone(seen & task_mask)) return Taken::no;
      outcome = Taken::owner_died;
    }
    if (shared.owner.compare_exchange_strong(seen, me, std::memory_order_seq_cst)) return outcome;
  }
  return Taken::no;
}

// Puts the calling thread's hand-off request in, clearing one whose thread
// is proved gone. Returns whether `requester` is now the request.
bool request_hand_off(SharedLock& shared, std::uint64_t requester, bool probe) noexcept {
  std::uint64_t seen = 0;
  if (shared.hand_off.compare_exchange_strong(seen, requester, std::memory_order_seq_cst))
    return true;
  if (seen == requester) return true;
  if (probe && ((seen & ~task_mask) != 0 || thread_gone(seen)))
    return shared.hand_off.compare_exchange_strong(seen, requester, std::memory_order_seq_cst);
  return false;
}

// Marks a held lock so that its release hands off instead of freeing.
void ask_release_to_hand_off(SharedLock& shared) noexcept {
  std::uint64_t seen = shared.owner.load(std::memory_order_seq_cst);
  if (seen == 0 || (seen & (reserved_bit | want_hand_off_bit))) return;
  shared.owner.compare_exchange_strong(seen, seen | want_hand_off_bit, std::memory_order_seq_cst);
}

// The release that NamedLock::release's inline CAS could not make: the lock
// is held by another process (or this one, before it knew itself), a hand-off
// was asked for, or it is not held at all.
bool release_contended(SharedLock& shared) noexcept {
  std::uint64_t seen = shared.owner.load(std::memory_order_seq_cst);
  std::uint64_t next = 0;
  for (;;) {
    if (seen == 0) return false;
    next = 0;
    if ((seen & want_hand_off_bit) && !(seen & reserved_bit)) {
      const std::uint64_t requester = shared.hand_off.load(std::memory_order_seq_cst);
      if (requester != 0 && (requester & ~task_mask) == 0) next = reserved_bit | requester;
    }
    if (shared.owner.compare_exchange_weak(seen, next, std::memory_order_seq_cst)) break;
  }
  if (next != 0) {
    wake_sleepers(shared, INT32_MAX);  // only the target can claim; it must hear
  } else if (shared.sleepers.load(std::memory_order_seq_cst) != 0) {
    wake_sleepers(shared, 1);
  }
  return true;
}

NamedAcquired acquire_contended(NamedLocal& local, std::int64_t timeout_ns, StopFn stop,
                                void* context) noexcept {
  SharedLock& shared = *local.shared;
  const std::atomic<std::uint32_t>& interrupts = local.interrupts;
  const std::uint64_t me = self_identity();
  // A newcomer that only tries still checks the holder: it is the next
  // acquirer, and the dead holder must not keep the lock from it.
  if (timeout_ns == 0) {
    switch (attempt(shared, me, 0, true)) {
      case Taken::yes:
        return NamedAcquired::yes;
      case Taken::owner_died:
        return NamedAcquired::owner_died;
      case Taken::no:
        return NamedAcquired::timed_out;
    }
  }
  // One clock read for both: the deadline is fixed here, at the call's start.
  const std::int64_t started = monotonic_now_ns();
  const std::int64_t deadline =
      timeout_ns < 0 || timeout_ns >= no_deadline - started ? no_deadline : started + timeout_ns;

  if (spinning_pays()) {
    for (int i = 0; i < spin_limit; ++i) {
      if (shared.owner.load(std::memory_order_relaxed) == 0 &&
          attempt(shared, me, 0, false) == Taken::yes)
        return NamedAcquired::yes;
      cpu_relax();
    }
  }

  shared.sleepers.fetch_add(1, std::memory_order_seq_cst);
  const bool watched = watch(local);  // counts this thread in local.sleepers
  std::uint32_t deaths_seen = local.deaths.load(std::memory_order_seq_cst);
  std::uint64_t requester = 0;          // this thread's identity, once it has asked for a hand-off
  std::uint64_t my_thread = 0;          // computed when first needed (a /proc read)
  bool ask_stop_now = stop != nullptr;  // lock.h: asked before the first sleep
  std::uint32_t interrupts_seen = interrupts.load(std::memory_order_seq_cst);
  std::int64_t poll_ns = first_poll_ns;
  std::int64_t next_probe = started + poll_ns;
  NamedAcquired result = NamedAcquired::timed_out;
  for (;;) {
    // Read before the owner word: a release after this read changes it, and
    // the sleep below then returns at once.
    const std::uint32_t seq = shared.wake_seq.load(std::memory_order_seq_cst);
    const std::int64_t now = monotonic_now_ns();
    // A probe when the watcher saw the holder gone, at most every poll_ns
    // otherwise, and at the deadline: a timed waiter notices a dead holder
    // even when its timeout is shorter than the watcher's tick.
    const std::uint32_t deaths_now = local.deaths.load(std::memory_order_seq_cst);
    const bool probe = deaths_now != deaths_seen || now >= next_probe || now >= deadline;
    deaths_seen = deaths_now;
    if (now >= next_probe) {
      next_probe = now + poll_ns;
      if (poll_ns < max_poll_ns) poll_ns *= 2;
    }
    const Taken taken = attempt(shared, me, requester, probe);
    if (taken != Taken::no) {
      result = taken == Taken::owner_died ? NamedAcquired::owner_died : NamedAcquired::yes;
      break;
    }
    if (requester == 0 && now - started >= fair_after_ns) {
      if (my_thread == 0) my_thread = thread_identity();
      if (my_thread != 0 && request_hand_off(shared, my_thread, probe)) requester = my_thread;
    }
    if (requester != 0) ask_release_to_hand_off(shared);

    const std::uint32_t interrupts_now = interrupts.load(std::memory_order_seq_cst);
    if (stop && interrupts_now != interrupts_seen) {
      interrupts_seen = interrupts_now;
      ask_stop_now = true;
    }
    if (ask_stop_now) {
      ask_stop_now = false;
      if (stop(context)) {
        result = NamedAcquired::stopped;
        break;
      }
      continue;  // re-read the words before sleeping: stop may have taken a while
    }
    if (now >= deadline) break;  // timed out, after one last attempt above
    // With the watcher: sleep until woken or the deadline, no sooner (a
    // waiter that is woken, loses the race and has waited fair_after_ns asks
    // for a hand-off above). Without: wake also for the next check, or (until
    // it has asked) the moment this waiter may ask, whichever comes first.
    std::int64_t wake_at = deadline;
    if (!watched) {
      if (next_probe < wake_at) wake_at = next_probe;
      if (requester == 0 && started + fair_after_ns > now && started + fair_after_ns < wake_at)
        wake_at = started + fair_after_ns;
    }
    const WakeReason reason = wait_shared(shared.wake_seq, seq, wake_at);
    if (reason == WakeReason::interrupted && stop) ask_stop_now = true;
  }
  local.sleepers.fetch_sub(1, std::memory_order_seq_cst);
  shared.sleepers.fetch_sub(1, std::memory_order_seq_cst);
  // A release may have woken this waiter just as it gave up; pass the wake on
  // rather than leave the others asleep until their next check.
  if ((result == NamedAcquired::timed_out || result == NamedAcquired::stopped) &&
      shared.owner.load(std::memory_order_seq_cst) == 0 &&
      shared.sleepers.load(std::memory_order_seq_cst) != 0)
    wake_sleepers(shared, 1);

  if (requester != 0) {
    // Withdraw the request. A release may have handed the lock to this thread
    // meanwhile: a timed-out waiter keeps it, a stopped one passes it on, so
    // that the hand-off is not lost on a waiter that is leaving.
    std::uint64_t expected = requester;
    shared.hand_off.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
    if (result == NamedAcquired::timed_out || result == NamedAcquired::stopped) {
      std::uint64_t handed = reserved_bit | requester;
      if (shared.owner.compare_exchange_strong(handed, me, std::memory_order_seq_cst)) {
        if (result == NamedAcquired::timed_out) return NamedAcquired::yes;
        release_contended(shared);
      }
    }
  }
  return result;
}

// ---- the object's file -----------------------------------------------------

constexpr std::size_t max_path = 300;  // "/dev/shm/polylock.<uid>.<name>": 9 + 19 + 10 + 200

bool object_path(const char* name, char* path) noexcept {
  const int n =
      snprintf(path, max_path, "/dev/shm/polylock.%u.%s", static_cast<unsigned>(geteuid()), name);
  return n > 0 && static_cast<std::size_t>(n) < max_path;
}

NamedError error_of_errno() noexcept {
  return errno == ENOMEM || errno == ENOSPC || errno == EMFILE || errno == ENFILE
             ? NamedError::no_memory
             : NamedError::system_error;
}

// Maps `fd` if it is one of ours; closes it either way.
NamedError map_existing(int fd, SharedLock*& shared) noexcept {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const NamedError error = error_of_errno();
    ::close(fd);
    return error;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
      st.st_size != static_cast<off_t>(sizeof(SharedLock))) {
    ::close(fd);
    return NamedError::not_ours;
  }
  void* memory = mmap(nullptr, sizeof(SharedLock), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int mmap_errno = errno;
  ::close(fd);
  if (memory == MAP_FAILED) {
    errno = mmap_errno;
    return error_of_errno();
  }
  auto* candidate = static_cast<SharedLock*>(memory);
  if (candidate->magic != shared_magic || candidate->layout != shared_layout ||
      candidate->size != sizeof(SharedLock) || candidate->pid_namespace != pid_namespace()) {
    munmap(memory, sizeof(SharedLock));
    return NamedError::not_ours;
  }
  shared = candidate;
  return NamedError::none;
}

std::atomic<std::uint32_t> temporary_serial{0};

// Creates the object at `path` whole, or finds that another process has just
// created it (returns `none` with `shared` still NULL: open it).
NamedError create_object(const char* path, SharedLock*& shared) noexcept {
  char temporary[max_path];
  snprintf(temporary, sizeof temporary, "/dev/shm/.polylock.%u.%d.%u.tmp",
           static_cast<unsigned>(geteuid()), static_cast<int>(getpid()),
           temporary_serial.fetch_add(1, std::memory_order_relaxed));
  int fd = ::open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {  // left by a dead process that had our pid
    ::unlink(temporary);
    fd = ::open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0) return error_of_errno();
  NamedError error = NamedError::none;
  SharedImage image{};
  image.magic = shared_magic;
  image.layout = shared_layout;
  image.size = sizeof(SharedLock);
  image.pid_namespace = pid_namespace();
  errno = ENOSPC;  // what a short write means
  // fchmod: the umask may only have narrowed 0600, but make it exact.
  if (fchmod(fd, 0600) != 0 || pwrite(fd, &image, sizeof image, 0) != sizeof image) {
    error = error_of_errno();
  } else if (::link(temporary, path) != 0) {
    if (errno != EEXIST) error = error_of_errno();
    // EEXIST: another process won the race; its object is whole. Open it.
  } else {
    ::unlink(temporary);
    return map_existing(fd, shared);
  }
  const int saved_errno = errno;
  ::unlink(temporary);
  ::close(fd);
  errno = saved_errno;
  return error;
}

}  // namespace

NamedLock::~NamedLock() {
  unwatch(local_);
  if (shared_) munmap(shared_, sizeof(SharedLock));
}

NamedError NamedLock::adopt(NamedError error) noexcept {
  if (error == NamedError::none) {
    owner_ = &shared_->owner;
    sleepers_ = &shared_->sleepers;
    local_.shared = shared_;
  }
  return error;
}

NamedError NamedLock::open(const char* name) noexcept {
  if (!valid_lock_name(name)) return NamedError::bad_name;
  if (!atfork_registered.exchange(true))
    pthread_atfork(lock_watch_list, unlock_watch_list, atfork_child);
  if (named_lock_self.load(std::memory_order_relaxed) == 0) {
    const std::uint64_t self = read_self_identity();
    if (self == 0) return NamedError::unsupported;  // no /proc: death could never be proved
    named_lock_self.store(self, std::memory_order_relaxed);
  }
  char path[max_path];
  if (!object_path(name, path)) return NamedError::bad_name;
  // A few rounds: the name may be unlinked or created by others as we look.
  for (int round = 0; round < 8; ++round) {
    // O_NONBLOCK so that a FIFO in its place cannot block the open.
    const int fd = ::open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return adopt(map_existing(fd, shared_));
    switch (errno) {
      case ENOENT:
        break;
      case ELOOP:   // a symbolic link
      case EISDIR:  // a directory
      case EACCES:  // another user's
      case EPERM:
      case ENXIO:  // a socket
      case ENODEV:
      case ETXTBSY:
        return NamedError::not_ours;
      default:
        return error_of_errno();
    }
    const NamedError error = create_object(path, shared_);
    if (error != NamedError::none || shared_) return adopt(error);
  }
  errno = EAGAIN;
  return NamedError::system_error;
}

NamedAcquired NamedLock::acquire_slow(std::int64_t timeout_ns, StopFn stop,
                                      void* context) noexcept {
  return acquire_contended(local_, timeout_ns, stop, context);
}

bool NamedLock::release_slow() noexcept { return release_contended(*shared_); }

void NamedLock::wake_a_sleeper() noexcept { wake_sleepers(*shared_, 1); }

bool NamedLock::locked() const noexcept {
  return shared_->owner.load(std::memory_order_relaxed) != 0;
}

void NamedLock::interrupt() noexcept {
  local_.interrupts.fetch_add(1, std::memory_order_seq_cst);
  wake_sleepers(*shared_, INT32_MAX);
}

NamedError unlink_named(const char* name) noexcept {
  if (!valid_lock_name(name)) return NamedError::bad_name;
  char path[max_path];
  if (!object_path(name, path)) return NamedError::bad_name;
  struct stat st {};
  if (lstat(path, &st) != 0) return errno == ENOENT ? NamedError::no_such_name : error_of_errno();
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) return NamedError::not_ours;
  if (::unlink(path) != 0) {
    if (errno == ENOENT) return NamedError::no_such_name;
    if (errno == EACCES || errno == EPERM) return NamedError::not_ours;
    return NamedError::system_error;
  }
  return NamedError::none;
}

#else  // not Linux: named locks are not supported (docs/named-locks.md)

// open() never succeeds here, so nothing below runs on an open lock.
struct SharedLock {};

NamedLock::~NamedLock() = default;

NamedError NamedLock::open(const char* name) noexcept {
  return valid_lock_name(name) ? NamedError::unsupported : NamedError::bad_name;
}

NamedAcquired NamedLock::acquire_slow(std::int64_t, StopFn, void*) noexcept {
  return NamedAcquired::timed_out;
}

bool NamedLock::release_slow() noexcept { return false; }

void NamedLock::wake_a_sleeper() noexcept {}

NamedError NamedLock::adopt(NamedError error) noexcept { return error; }

bool NamedLock::locked() const noexcept { return false; }

void NamedLock::interrupt() noexcept {}

NamedError unlink_named(const char* name) noexcept {
  return valid_lock_name(name) ? NamedError::unsupported : NamedError::bad_name;
}

#endif

}  // namespace polylock::core
