// polylock C ABI — the named kind: a core::NamedLock behind the frozen header.
#pragma once

#include "lock_object.hpp"
#include "named_lock.hpp"
#include "polylock/lock.h"

namespace polylock::capi {

struct NamedLockObject {
  lock header;
  core::NamedLock core;
};

extern const LockOps named_ops;

// lock_open and lock_unlink (lock.h); `status` is never NULL here.
lock_t* open_named_lock(const char* name, int* status) noexcept;
int unlink_named_lock(const char* name) noexcept;

}  // namespace polylock::capi
