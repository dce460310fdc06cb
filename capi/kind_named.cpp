// polylock C ABI — the named kind's table (lock_object.hpp), and lock_open /
// lock_unlink: names with a scheme ("etcd://...") go to a backend library
// loaded on demand; plain names are core::NamedLock's.
#include "kind_named.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__linux__)
#include <dlfcn.h>
#include <errno.h>
#endif

namespace polylock::capi {
namespace {

core::NamedLock& core_of(lock_t* lock) noexcept {
  return reinterpret_cast<NamedLockObject*>(lock)->core;
}

int acquire(lock_t* lock, std::int64_t timeout_ns, lock_stop_fn stop, void* context) {
  switch (core_of(lock).acquire(timeout_ns, stop, context)) {
    case core::NamedAcquired::yes:
      return LOCK_OK;
    case core::NamedAcquired::owner_died:
      return LOCK_OWNERDEAD;
    case core::NamedAcquired::timed_out:
      return LOCK_TIMEOUT;
    case core::NamedAcquired::stopped:
      return LOCK_EINTR;
  }
  return LOCK_EINVAL;  // unreachable: every value is handled above
}

int release(lock_t* lock) { return core_of(lock).release() ? LOCK_OK : LOCK_ENOTLOCKED; }

int locked(const lock_t* lock) { return core_of(const_cast<lock_t*>(lock)).locked() ? 1 : 0; }

int interrupt(lock_t* lock) {
  core_of(lock).interrupt();
  return LOCK_OK;
}

// A fork child shares a named lock by name, with its holder recorded by
// process: there is nothing to re-initialise, and wiping the shared state
// would break the lock for every other process.
int reinit(lock_t*) { return LOCK_ENOTSUP; }

void destroy(lock_t* lock) {
  auto* object = reinterpret_cast<NamedLockObject*>(lock);
  object->~NamedLockObject();
  std::free(object);
}

int status_of(core::NamedError error) noexcept {
  switch (error) {
    case core::NamedError::none:
      return LOCK_OK;
    case core::NamedError::bad_name:
      return LOCK_EINVAL;
    case core::NamedError::not_ours:
      return LOCK_EACCES;
    case core::NamedError::no_memory:
      return LOCK_ENOMEM;
    case core::NamedError::unsupported:
      return LOCK_ENOTSUP;
    case core::NamedError::system_error:
    case core::NamedError::no_such_name:
      return LOCK_ESYS;
  }
  return LOCK_ESYS;  // unreachable: every value is handled above
}

#if defined(__linux__)
constexpr char etcd_library[] = "libpolylock-etcd.so.1";

// The etcd library beside this one (the tarball's lib/, a --prefix install,
// a directory a program ships both in), as a RUNPATH of $ORIGIN would find
// it; else nullptr, and the loader's own search (ldconfig's cache, /usr/lib
// for the .deb, LD_LIBRARY_PATH) is next. The path is built on the stack.
void* open_backend_beside_this_library() noexcept {
  static const char marker = 0;  // an address inside this library
  Dl_info self{};
  // Absolute paths only: a relative one (a library loaded as "./lib/...",
  // or this code built into a program, whose name is argv[0]) would be
  // resolved against whatever directory the process is in by now.
  if (!dladdr(&marker, &self) || !self.dli_fname || self.dli_fname[0] != '/') return nullptr;
  const char* slash = std::strrchr(self.dli_fname, '/');
  const std::size_t directory = static_cast<std::size_t>(slash - self.dli_fname) + 1;
  char path[4096];
  if (directory + sizeof etcd_library > sizeof path) return nullptr;
  std::memcpy(path, self.dli_fname, directory);
  std::memcpy(path + directory, etcd_library, sizeof etcd_library);
  return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}
#endif

// "etcd://...": the etcd kind lives in its own library, so that this one
// needs nothing but libc. It exports polylock_etcd_open with lock_open's
// signature; without it the name is not supported here. Looked for beside
// this library first, then where the loader looks.
lock_t* open_with_backend(const char* name, int* status) noexcept {
  constexpr char etcd[] = "etcd://";
  if (std::strncmp(name, etcd, sizeof etcd - 1) != 0) {
    *status = LOCK_EINVAL;  // a scheme nobody serves
    return nullptr;
  }
#if defined(__linux__)
  void* backend = open_backend_beside_this_library();
  if (!backend) backend = dlopen(etcd_library, RTLD_NOW | RTLD_LOCAL);
  if (backend) {
    using Open = lock_t* (*)(const char*, int*);
    if (void* symbol = dlsym(backend, "polylock_etcd_open")) {
      // The backend stays loaded: the locks it makes point at its tables.
      return reinterpret_cast<Open>(symbol)(name, status);
    }
    dlclose(backend);
  }
#endif
  *status = LOCK_ENOTSUP;
  return nullptr;
}

}  // namespace

const LockOps named_ops = {1, 0, acquire, release, locked, interrupt, reinit, destroy, nullptr};

lock_t* open_named_lock(const char* name, int* status) noexcept {
  if (!name) {
    *status = LOCK_EINVAL;
    return nullptr;
  }
  if (std::strchr(name, ':')) return open_with_backend(name, status);
  if (!core::valid_lock_name(name)) {
    *status = LOCK_EINVAL;
    return nullptr;
  }
  // malloc and placement new, as for the in-process kind: no C++ runtime.
  void* memory = std::malloc(sizeof(NamedLockObject));
  if (!memory) {
    *status = LOCK_ENOMEM;
    return nullptr;
  }
  auto* object = new (memory) NamedLockObject{};
  const core::NamedError error = object->core.open(name);
  if (error != core::NamedError::none) {
#if defined(__linux__)
    const int saved_errno = errno;
#endif
    destroy(&object->header);
#if defined(__linux__)
    errno = saved_errno;
#endif
    *status = status_of(error);
    return nullptr;
  }
  object->header.magic = lock_magic;
  object->header.references.store(1, std::memory_order_relaxed);
  object->header.ops = &named_ops;
  // No fast-path word (lock.h): the owner word records the holder's process,
  // which a binding's CAS of a 32-bit word could not.
  object->header.fast_word = nullptr;
  *status = LOCK_OK;
  return &object->header;
}

int unlink_named_lock(const char* name) noexcept {
  if (!name) return LOCK_EINVAL;
  // A backend's names are removed through the backend (none defines it yet).
  if (std::strchr(name, ':'))
    return std::strncmp(name, "etcd://", 7) == 0 ? LOCK_ENOTSUP : LOCK_EINVAL;
  return status_of(core::unlink_named(name));
}

}  // namespace polylock::capi
