// polylock etcd kind — the lock_t the core's lock_open hands out for an
// "etcd://" name: the frozen header (capi/lock_object.hpp) and this
// library's table of functions. No exception leaves this file: the C ABI
// reports failures as statuses.
#include <cerrno>
#include <new>

#include "etcd_lock.hpp"
#include "lock_object.hpp"

namespace polylock::etcd {
namespace {

struct EtcdLockObject {
  lock header;
  EtcdLock* impl;
};

EtcdLock& impl_of(lock_t* lock) { return *reinterpret_cast<EtcdLockObject*>(lock)->impl; }

// Out of memory, or a JSON library's surprise: a status, never a crash.
template <typename Call>
int guarded(Call call) noexcept {
  try {
    return call();
  } catch (const std::bad_alloc&) {
    return LOCK_ENOMEM;
  } catch (...) {
    errno = EPROTO;
    return LOCK_ESYS;
  }
}

int acquire(lock_t* lock, std::int64_t timeout_ns, lock_stop_fn stop, void* context) {
  return guarded([&] { return impl_of(lock).acquire(timeout_ns, stop, context); });
}

int release(lock_t* lock) {
  return guarded([&] { return impl_of(lock).release(); });
}

int locked(const lock_t* lock) {
  return guarded([&] { return impl_of(const_cast<lock_t*>(lock)).locked(); });
}

int interrupt(lock_t* lock) {
  return guarded([&] {
    impl_of(lock).interrupt();
    return LOCK_OK;
  });
}

// The lock lives in etcd, not in this process: nothing to re-initialise
// after fork (and the child has no keep-alive thread; it should open anew).
int reinit(lock_t*) { return LOCK_ENOTSUP; }

void destroy(lock_t* lock) {
  auto* object = reinterpret_cast<EtcdLockObject*>(lock);
  guarded([&] {
    delete object->impl;
    return LOCK_OK;
  });
  delete object;
}

int fence(lock_t* lock, std::uint64_t* token) {
  return guarded([&] { return impl_of(lock).fence(token); });
}

const capi::LockOps etcd_ops = {1, 0, acquire, release, locked, interrupt, reinit, destroy, fence};

}  // namespace
}  // namespace polylock::etcd

// lock_open's signature (capi/kind_named.cpp calls it through dlsym for
// names starting "etcd://"); `status` is never NULL there.
extern "C" __attribute__((visibility("default"))) lock_t* polylock_etcd_open(const char* name,
                                                                             int* status) noexcept {
  using namespace polylock::etcd;
  int ignored;
  if (!status) status = &ignored;
  const auto parsed = parse_name(name);
  if (!parsed) {
    *status = LOCK_EINVAL;
    return nullptr;
  }
  try {
    auto* object = new EtcdLockObject;
    try {
      object->impl = new EtcdLock(*parsed);
    } catch (...) {
      delete object;
      throw;
    }
    object->header.magic = polylock::capi::lock_magic;
    object->header.references.store(1, std::memory_order_relaxed);
    object->header.ops = &etcd_ops;
    // No fast-path word: the hold lives in etcd, so bindings always call in.
    object->header.fast_word = nullptr;
    *status = LOCK_OK;
    return &object->header;
  } catch (...) {
    *status = LOCK_ENOMEM;
    return nullptr;
  }
}
