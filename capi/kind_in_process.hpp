// polylock C ABI — the in-process kind: a core::Lock behind the frozen header.
#pragma once

#include "lock.hpp"
#include "lock_object.hpp"

namespace polylock::capi {

struct InProcessLock {
  lock header;
#ifdef POLYLOCK_TEST_PRIVATE_PADDING
  // A test-only build (tests/copies) moves the core lock, as a later release
  // with another private layout might, to prove that copies never assume it.
  unsigned char padding[POLYLOCK_TEST_PRIVATE_PADDING];
#endif
  core::Lock core;
};

extern const LockOps in_process_ops;

// The lock, if this copy made it as an in-process lock; else NULL. One load
// and compare: the C ABI's fast paths inline behind it.
inline InProcessLock* own_in_process(const lock_t* lock) noexcept {
  return lock->ops == &in_process_ops
             ? reinterpret_cast<InProcessLock*>(const_cast<lock_t*>(lock))
             : nullptr;
}

lock_t* new_in_process_lock() noexcept;

int status_of(core::Acquired acquired) noexcept;

}  // namespace polylock::capi
