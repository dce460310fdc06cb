// polylock C ABI — the named kind. (Work in progress: not yet supported.)
#include "kind_named.hpp"

namespace polylock::capi {

lock_t* open_named_lock(const char* name, int* status) noexcept {
  (void)name;
  *status = LOCK_ENOTSUP;
  return nullptr;
}

int unlink_named_lock(const char* name) noexcept {
  (void)name;
  return LOCK_ENOTSUP;
}

}  // namespace polylock::capi
