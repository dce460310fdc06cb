// polylock C ABI — the in-process kind's table (lock_object.hpp), used when
// another copy of the library forwards a call on a lock this copy made.
#include "kind_in_process.hpp"

#include <cstdlib>
#include <new>

namespace polylock::capi {
namespace {

// The fast-path contract of lock.h is the core's own inline paths: the core
// lock is free and unwaited at 0 and held and unwaited at exactly locked_bit.
static_assert(core::Lock::free_word == LOCK_FAST_FREE && core::Lock::held_word == LOCK_FAST_HELD,
              "lock.h freezes the values of the fast-path word");

core::Lock& core_of(lock_t* lock) noexcept {
  return reinterpret_cast<InProcessLock*>(lock)->core;
}

int acquire(lock_t* lock, std::int64_t timeout_ns, lock_stop_fn stop, void* context) {
  return status_of(core_of(lock).acquire(timeout_ns, stop, context));
}

int release(lock_t* lock) { return core_of(lock).release() ? LOCK_OK : LOCK_ENOTLOCKED; }

int locked(const lock_t* lock) { return core_of(const_cast<lock_t*>(lock)).locked() ? 1 : 0; }

int interrupt(lock_t* lock) {
  core_of(lock).interrupt();
  return LOCK_OK;
}

int reinit(lock_t* lock) {
  core_of(lock).reinit();
  return LOCK_OK;
}

void destroy(lock_t* lock) {
  auto* object = reinterpret_cast<InProcessLock*>(lock);
  object->~InProcessLock();
  std::free(object);
}

}  // namespace

#ifdef POLYLOCK_TEST_PRIVATE_PADDING
constexpr std::uint32_t ops_version = 2;  // the test-only later copy (tests/copies)
#else
constexpr std::uint32_t ops_version = 1;
#endif
const LockOps in_process_ops = {ops_version, 0,      acquire,   release, locked,
                                interrupt,   reinit, destroy, nullptr};

int status_of(core::Acquired acquired) noexcept {
  switch (acquired) {
    case core::Acquired::yes:
      return LOCK_OK;
    case core::Acquired::timed_out:
      return LOCK_TIMEOUT;
    case core::Acquired::stopped:
      return LOCK_EINTR;
  }
  return LOCK_EINVAL;  // unreachable: every value is handled above
}

// malloc and placement new rather than operator new: the library then needs
// nothing of the C++ runtime, and a failed allocation is a NULL, not a throw.
lock_t* new_in_process_lock() noexcept {
  void* memory = std::malloc(sizeof(InProcessLock));
  if (!memory) return nullptr;
  auto* object = new (memory) InProcessLock{};
  object->header.magic = lock_magic;
  object->header.references.store(1, std::memory_order_relaxed);
  object->header.ops = &in_process_ops;
  object->header.fast_word = object->core.state_word();
  return &object->header;
}

}  // namespace polylock::capi
