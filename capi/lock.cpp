// polylock C ABI — a thin shell over polylock::core::Lock.
//
// Every function checks its arguments, calls the core (whose fast paths
// inline here) and turns the answer into a status code. Nothing here throws,
// aborts or allocates, apart from lock_new.
#include "polylock/lock.h"

#include <cstdlib>
#include <new>

#include "lock.hpp"

struct lock {
  polylock::core::Lock core;
};

namespace {

#define POLYLOCK_STR2(x) #x
#define POLYLOCK_STR(x) POLYLOCK_STR2(x)
constexpr const char version_string[] = POLYLOCK_STR(LOCK_VERSION_MAJOR) "." POLYLOCK_STR(
    LOCK_VERSION_MINOR) "." POLYLOCK_STR(LOCK_VERSION_PATCH);

int status_of(polylock::core::Acquired acquired) noexcept {
  switch (acquired) {
    case polylock::core::Acquired::yes:
      return LOCK_OK;
    case polylock::core::Acquired::timed_out:
      return LOCK_TIMEOUT;
    case polylock::core::Acquired::stopped:
      return LOCK_EINTR;
  }
  return LOCK_EINVAL;  // unreachable: every value is handled above
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
    case LOCK_EINVAL:
      return "invalid argument: NULL lock or a negative timeout other than -1";
    case LOCK_ENOTLOCKED:
      return "release of an unlocked lock";
    case LOCK_EINTR:
      return "wait interrupted; lock not acquired";
    default:
      return "unknown";
  }
}

// malloc and placement new rather than operator new: the library then needs
// nothing of the C++ runtime, and a failed allocation is a NULL, not a throw.
lock_t *lock_new(void) {
  void *memory = std::malloc(sizeof(lock_t));
  return memory ? new (memory) lock_t{} : nullptr;
}

void lock_free(lock_t *lock) {
  if (!lock) return;
  lock->~lock_t();
  std::free(lock);
}

int lock_acquire(lock_t *lock, int64_t timeout_ns) {
  if (!lock || timeout_ns < LOCK_WAIT_FOREVER) return LOCK_EINVAL;
  return status_of(lock->core.acquire(timeout_ns));
}

int lock_release(lock_t *lock) {
  if (!lock) return LOCK_EINVAL;
  return lock->core.release() ? LOCK_OK : LOCK_ENOTLOCKED;
}

int lock_locked(const lock_t *lock) {
  if (!lock) return LOCK_EINVAL;
  return lock->core.locked() ? 1 : 0;
}

int lock_acquire_interruptible(lock_t *lock, int64_t timeout_ns, lock_stop_fn stop,
                               void *context) {
  if (!lock || timeout_ns < LOCK_WAIT_FOREVER) return LOCK_EINVAL;
  return status_of(lock->core.acquire(timeout_ns, stop, context));
}

int lock_interrupt(lock_t *lock) {
  if (!lock) return LOCK_EINVAL;
  lock->core.interrupt();
  return LOCK_OK;
}

int lock_reinit(lock_t *lock) {
  if (!lock) return LOCK_EINVAL;
  lock->core.reinit();
  return LOCK_OK;
}

}  // extern "C"
