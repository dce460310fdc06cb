// polylock C ABI — checks arguments and dispatches each call to the kind of
// lock it is given (lock_object.hpp).
//
// A lock this copy made as an in-process lock takes the core's inline fast
// paths right here, behind one compare of its table's address; every other
// lock -- a named one, or one made by another copy of the library -- is
// operated by the table it carries. Nothing here throws, aborts or allocates,
// apart from lock_new and lock_open.
#include "polylock/lock.h"

#include <cstdint>

#include "kind_in_process.hpp"
#include "kind_named.hpp"
#include "lock_object.hpp"

namespace {

using polylock::capi::own_in_process;
using polylock::capi::status_of;

#define POLYLOCK_STR2(x) #x
#define POLYLOCK_STR(x) POLYLOCK_STR2(x)
#ifndef POLYLOCK_TEST_VERSION_STRING
constexpr const char version_string[] = POLYLOCK_STR(LOCK_VERSION_MAJOR) "." POLYLOCK_STR(
    LOCK_VERSION_MINOR) "." POLYLOCK_STR(LOCK_VERSION_PATCH);
#else
constexpr const char version_string[] = POLYLOCK_TEST_VERSION_STRING;  // tests/copies
#endif

bool bad_timeout(int64_t timeout_ns) { return timeout_ns < LOCK_WAIT_FOREVER; }

// The two transitions lock.h allows a binding, made on a foreign lock's word.
bool fast_take(lock_t *lock) {
  std::uint32_t expected = LOCK_FAST_FREE;
  return lock->fast_word &&
         lock->fast_word->compare_exchange_strong(expected, LOCK_FAST_HELD,
                                                  std::memory_order_acquire,
                                                  std::memory_order_relaxed);
}

bool fast_give_back(lock_t *lock) {
  std::uint32_t expected = LOCK_FAST_HELD;
  return lock->fast_word &&
         lock->fast_word->compare_exchange_strong(expected, LOCK_FAST_FREE,
                                                  std::memory_order_release,
                                                  std::memory_order_relaxed);
}

}  // namespace

extern "C" {

const char *lock_version(void) { return version_string; }

const char *lock_strerror(int status) {
  switch (status) {
    case LOCK_OK:
      return "success";
    case LOCK_TIMEOUT:
      return "lock not acquired before the timeout";
    case LOCK_OWNERDEAD:
      return "lock acquired; its previous holder's process died while holding it";
    case LOCK_EINVAL:
      return "invalid argument: NULL lock, a negative timeout other than -1, or a bad name";
    case LOCK_ENOTLOCKED:
      return "release of an unlocked lock";
    case LOCK_EINTR:
      return "wait interrupted; lock not acquired";
    case LOCK_ENOTSUP:
      return "not supported by this kind of lock or platform, or the backend is missing";
    case LOCK_ENOMEM:
      return "out of memory";
    case LOCK_EACCES:
      return "the name exists but is not a polylock lock this user may use";
    case LOCK_ESYS:
      return "a system call failed";
    default:
      return "unknown";
  }
}

lock_t *lock_new(void) { return polylock::capi::new_in_process_lock(); }

namespace {

// Whether a lock_t could live at `lock`, decided without reading memory.
// Bindings take handles as integers from other runtimes (Java's long, .NET's
// nint), so these are refused here, once, for all of them:
// - the first 64 KiB, where no system maps memory a program did not place
//   there itself (Linux's default vm.mmap_min_addr, Windows' reserved null
//   region; macOS keeps the first 4 GiB unmapped): small integers, 4096;
// - the last page (small negative integers);
// - misaligned addresses (a lock_t starts with a pointer);
// - on x86-64, 2^47 and above: beyond the 47-bit user space of Linux, Windows
//   and macOS (Linux's 5-level paging maps higher only for a process that
//   asks with an mmap hint, and malloc never does), so the kernel's half,
//   -1 and other masks, and non-canonical addresses. Elsewhere the top byte
//   of a user pointer may carry a tag (arm64 Android, HWASan).
// A syscall probe of the header (process_vm_readv) was tried and left: a
// seccomp filter may kill the process for it, it fails for every address
// once the main thread has exited, and it cost ~2 us on every lock_ref,
// including the bindings' own references to locks they made.
bool could_be_a_lock(const lock_t *lock) {
  const auto address = reinterpret_cast<std::uintptr_t>(lock);
  if (address < 65536 || address > UINTPTR_MAX - 4096) return false;
  if (address % alignof(void *) != 0) return false;
#if defined(__x86_64__) || defined(_M_X64)
  if (address >= (std::uintptr_t{1} << 47)) return false;
#endif
  return true;
}

}  // namespace

lock_t *lock_ref(lock_t *lock) {
  if (!could_be_a_lock(lock) || lock->magic != polylock::capi::lock_magic) return nullptr;
  // Relaxed, as std::shared_ptr: a new reference is made from one the caller
  // already holds, so the lock cannot go away meanwhile.
  lock->references.fetch_add(1, std::memory_order_relaxed);
  return lock;
}

void lock_free(lock_t *lock) {
  if (!lock) return;
  // acq_rel: every use of the lock through this reference happens before the
  // destroy that the last reference's owner runs.
  if (lock->references.fetch_sub(1, std::memory_order_acq_rel) == 1) lock->ops->destroy(lock);
}

// A lock this copy made: the core's inline paths. A foreign one: the frozen
// fast-path word first, as a binding would, then the maker's table.
int lock_acquire(lock_t *lock, int64_t timeout_ns) {
  if (!lock || bad_timeout(timeout_ns)) return LOCK_EINVAL;
  if (auto *own = own_in_process(lock)) return status_of(own->core.acquire(timeout_ns));
  if (fast_take(lock)) return LOCK_OK;
  return lock->ops->acquire(lock, timeout_ns, nullptr, nullptr);
}

int lock_release(lock_t *lock) {
  if (!lock) return LOCK_EINVAL;
  if (auto *own = own_in_process(lock)) return own->core.release() ? LOCK_OK : LOCK_ENOTLOCKED;
  if (fast_give_back(lock)) return LOCK_OK;
  return lock->ops->release(lock);
}

int lock_locked(const lock_t *lock) {
  if (!lock) return LOCK_EINVAL;
  if (auto *own = own_in_process(lock)) return own->core.locked() ? 1 : 0;
  if (lock->fast_word) return lock->fast_word->load(std::memory_order_relaxed) & LOCK_FAST_HELD;
  return lock->ops->locked(lock);
}

int lock_acquire_interruptible(lock_t *lock, int64_t timeout_ns, lock_stop_fn stop,
                               void *context) {
  if (!lock || bad_timeout(timeout_ns)) return LOCK_EINVAL;
  return lock->ops->acquire(lock, timeout_ns, stop, context);
}

int lock_interrupt(lock_t *lock) { return lock ? lock->ops->interrupt(lock) : LOCK_EINVAL; }

int lock_reinit(lock_t *lock) { return lock ? lock->ops->reinit(lock) : LOCK_EINVAL; }

uint32_t *lock_fast_word(lock_t *lock) {
  return lock ? reinterpret_cast<uint32_t *>(lock->fast_word) : nullptr;
}

int lock_fence(lock_t *lock, uint64_t *token) {
  if (!lock || !token) return LOCK_EINVAL;
  return lock->ops->fence ? lock->ops->fence(lock, token) : LOCK_ENOTSUP;
}

lock_t *lock_open(const char *name, int *status) {
  int ignored;
  return polylock::capi::open_named_lock(name, status ? status : &ignored);
}

int lock_unlink(const char *name) { return polylock::capi::unlink_named_lock(name); }

}  // extern "C"
