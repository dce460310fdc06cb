// polylock C ABI — the named kind: a lock shared by processes by name.
#pragma once

#include "polylock/lock.h"

namespace polylock::capi {

// lock_open and lock_unlink (lock.h); `status` is never NULL here.
lock_t* open_named_lock(const char* name, int* status) noexcept;
int unlink_named_lock(const char* name) noexcept;

}  // namespace polylock::capi
