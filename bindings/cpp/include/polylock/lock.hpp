// polylock — the C++ face: a header-only class over the stable C ABI.
//
//   polylock::Lock lock;
//   { std::scoped_lock held(lock); ... }
//   if (lock.try_lock_for(std::chrono::milliseconds(50))) { ...; lock.unlock(); }
//
// polylock::Lock meets the Lockable and TimedLockable requirements, so it
// works with std::scoped_lock, std::unique_lock and
// std::condition_variable_any. Unlike std::mutex it is not owned: any thread
// may unlock it, and unlocking an unlocked lock throws polylock::lock_error
// instead of being undefined. It is not recursive: a second lock() by the
// holder waits like any other.
//
// Since 1.2 a Lock can also wrap a lock made elsewhere (from_handle: C code,
// another runtime, another copy of the library), or open a lock shared by
// processes by name (open). A named lock whose previous holder's process died
// holding it is taken with polylock::owner_dead thrown (see below).
//
// Everything here is inline and calls only lock_* functions, so a program
// built against one libpolylock.so.1 keeps working with any later one.
#ifndef POLYLOCK_LOCK_HPP
#define POLYLOCK_LOCK_HPP

#include <chrono>
#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <system_error>
#include <type_traits>

#include "polylock/lock.h"

namespace polylock {

// The category of polylock's status codes (LOCK_* in <polylock/lock.h>).
inline const std::error_category& lock_category() noexcept {
  class category final : public std::error_category {
   public:
    const char* name() const noexcept override { return "polylock"; }
    std::string message(int status) const override { return lock_strerror(status); }
  };
  static const category instance;
  return instance;
}

// Thrown for a status that is an error: LOCK_ENOTLOCKED from unlock(),
// LOCK_EINVAL for a lock that was moved from.
class lock_error : public std::system_error {
 public:
  explicit lock_error(int status) : std::system_error(status, lock_category()) {}
};

// Thrown by lock(), try_lock(), try_lock_for() and try_lock_until() of a
// named lock whose previous holder's process died while holding it
// (LOCK_OWNERDEAD). The lock IS held by the caller when this is thrown, as
// with .NET's AbandonedMutexException and POSIX's EOWNERDEAD: repair what
// the dead holder left half-done, then unlock() -- or adopt it first, e.g.
// std::unique_lock<polylock::Lock> held(lock, std::adopt_lock).
// std::scoped_lock and a std::unique_lock that locks do not own the lock
// when this escapes their constructor.
class owner_dead : public lock_error {
 public:
  owner_dead() : lock_error(LOCK_OWNERDEAD) {}
};

class Lock {
 public:
  // A new unlocked lock. Throws std::bad_alloc if memory runs out.
  Lock() : handle_(lock_new()) {
    if (!handle_) throw std::bad_alloc();
  }

  // Wraps a lock made elsewhere -- by C code, another runtime's binding or
  // another copy of the library -- taking a reference of its own (lock_ref),
  // which the destructor drops: each side frees only what it owns, in any
  // order. Throws lock_error(LOCK_EINVAL) for NULL or a pointer that is not
  // a polylock 1.2+ lock.
  static Lock from_handle(lock_t* handle) {
    lock_t* own = lock_ref(handle);
    if (!own) throw lock_error(LOCK_EINVAL);
    return Lock(own);
  }

  // Opens the lock shared by processes under `name`, creating it if needed
  // (lock_open: 1-200 bytes of A-Z a-z 0-9 . _ -, not starting with '.';
  // private to the user). Throws lock_error with the status: LOCK_EINVAL for
  // a bad name, LOCK_EACCES for an object of that name this user may not
  // use, LOCK_ENOTSUP where named locks are not supported, LOCK_ENOMEM,
  // LOCK_ESYS.
  static Lock open(const std::string& name) {
    int status = LOCK_OK;
    lock_t* handle = lock_open(name.c_str(), &status);
    if (!handle) throw lock_error(status);
    return Lock(handle);
  }

  // Removes the name (lock_unlink); open locks keep working. Throws
  // lock_error as open() does (LOCK_ESYS for a name that does not exist).
  static void unlink(const std::string& name) { check(lock_unlink(name.c_str())); }
  ~Lock() { lock_free(handle_); }

  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  // A moved-from Lock holds no lock; any use of it throws lock_error(LOCK_EINVAL).
  Lock(Lock&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  Lock& operator=(Lock&& other) noexcept {
    if (this != &other) {
      lock_free(handle_);
      handle_ = other.handle_;
      other.handle_ = nullptr;
    }
    return *this;
  }

  // Waits until the lock is taken. Throws owner_dead, holding the lock, for
  // a named lock whose previous holder died.
  void lock() { check(lock_acquire(handle_, LOCK_WAIT_FOREVER)); }

  // Takes the lock if it is free, without waiting.
  bool try_lock() { return check(lock_acquire(handle_, 0)) == LOCK_OK; }

  // Waits at most `timeout` (on the monotonic clock); a zero or negative
  // timeout (and a NaN one) tries once. Any duration works, of any
  // representation -- signed, unsigned or floating -- and however large: a
  // timeout beyond 292 years of nanoseconds waits that long, never less.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return check(lock_acquire(handle_, to_timeout_ns(timeout))) == LOCK_OK;
  }

  // Waits until `deadline` at most, on any clock and any duration type; a
  // deadline already past tries once. The time left is computed without
  // overflow of the clock's own representation (time_point::min() and
  // max() work). For clocks other than steady ones the wait is re-aimed when
  // it ends, in case that clock was adjusted.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    for (;;) {
      const long double left = ns_since_epoch(deadline) - ns_since_epoch(Clock::now());
      if (!(left > 0)) return try_lock();
      if (check(lock_acquire(handle_, ns_to_timeout(left))) == LOCK_OK) return true;
      if (Clock::is_steady) return false;
    }
  }

  // Unlocks, from any thread. Throws lock_error(LOCK_ENOTLOCKED) if the lock
  // was not locked; nothing changes then.
  void unlock() { check(lock_release(handle_)); }

  // Whether the lock is held right now: only a snapshot, since another thread
  // may lock or unlock it before the caller acts on the answer.
  bool locked() const { return check(lock_locked(handle_)) == 1; }

  // The fencing token of this handle's current hold (lock_fence), for a lock
  // served by a store several machines share (an "etcd://" name): the etcd
  // revision at which the hold was taken, a number that only grows from one
  // hold to the next (docs/etcd.md, "Fencing tokens"). Pass it with every
  // write to the guarded resource, which refuses a token lower than one it has
  // seen. Unitless; no round trip. Throws lock_error with the status:
  // LOCK_ENOTLOCKED when this handle does not hold the lock (another handle's
  // hold has its own token), LOCK_ENOTSUP for a kind of lock without tokens
  // (an in-process lock, a named lock of this machine), LOCK_EINVAL for a
  // moved-from Lock. A stale holder (its lease expired unnoticed) still gets
  // its old token: that is what the resource refuses.
  std::uint64_t fencing_token() const {
    std::uint64_t token = 0;
    check(lock_fence(handle_, &token));
    return token;
  }

  // The C handle, borrowed: valid while this Lock lives. Pass it to C code,
  // or to another runtime's from_handle, which takes a reference of its own.
  lock_t* native_handle() const noexcept { return handle_; }

 private:
  explicit Lock(lock_t* owned) noexcept : handle_(owned) {}

  static int check(int status) {
    if (status < 0) throw lock_error(status);
    if (status == LOCK_OWNERDEAD) throw owner_dead();
    return status;
  }

  using long_ns = std::chrono::duration<long double, std::nano>;

  template <class Clock, class Duration>
  static long double ns_since_epoch(const std::chrono::time_point<Clock, Duration>& point) {
    return std::chrono::duration_cast<long_ns>(point.time_since_epoch()).count();
  }

  // Nanoseconds as lock_acquire's timeout: not positive (or NaN) tries once,
  // beyond INT64_MAX saturates.
  static std::int64_t ns_to_timeout(long double ns) {
    if (!(ns > 0)) return 0;
    constexpr auto most = std::numeric_limits<std::int64_t>::max();
    return ns >= static_cast<long double>(most) ? most : static_cast<std::int64_t>(ns);
  }

  template <class Rep, class Period>
  static std::int64_t to_timeout_ns(const std::chrono::duration<Rep, Period>& timeout) {
    return ns_to_timeout(std::chrono::duration_cast<long_ns>(timeout).count());
  }

  lock_t* handle_;
};

}  // namespace polylock

#endif  // POLYLOCK_LOCK_HPP
