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

class Lock {
 public:
  // A new unlocked lock. Throws std::bad_alloc if memory runs out.
  Lock() : handle_(lock_new()) {
    if (!handle_) throw std::bad_alloc();
  }
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

  // Waits until the lock is taken.
  void lock() { check(lock_acquire(handle_, LOCK_WAIT_FOREVER)); }

  // Takes the lock if it is free, without waiting.
  bool try_lock() { return check(lock_acquire(handle_, 0)) == LOCK_OK; }

  // Waits at most `timeout` (on the monotonic clock); a zero or negative
  // timeout tries once. Any duration works, however large.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return check(lock_acquire(handle_, to_timeout_ns(timeout))) == LOCK_OK;
  }

  // Waits until `deadline` at most. For clocks other than steady_clock the
  // wait is re-aimed when it ends, in case that clock was adjusted.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    for (;;) {
      if (try_lock_for(deadline - Clock::now())) return true;
      if (Clock::is_steady) return false;
      if (Clock::now() >= deadline) return false;
    }
  }

  // Unlocks, from any thread. Throws lock_error(LOCK_ENOTLOCKED) if the lock
  // was not locked; nothing changes then.
  void unlock() { check(lock_release(handle_)); }

  // Whether the lock is held right now: only a snapshot, since another thread
  // may lock or unlock it before the caller acts on the answer.
  bool locked() const { return check(lock_locked(handle_)) == 1; }

  // The C handle, for passing to C code; the Lock keeps ownership.
  lock_t* native_handle() const noexcept { return handle_; }

 private:
  static int check(int status) {
    if (status < 0) throw lock_error(status);
    return status;
  }

  template <class Rep, class Period>
  static std::int64_t to_timeout_ns(const std::chrono::duration<Rep, Period>& timeout) {
    using ns = std::chrono::duration<long double, std::nano>;
    const long double count = std::chrono::duration_cast<ns>(timeout).count();
    if (!(count > 0)) return 0;  // also NaN, for floating-point durations
    constexpr auto most = std::numeric_limits<std::int64_t>::max();
    return count >= static_cast<long double>(most) ? most : static_cast<std::int64_t>(count);
  }

  lock_t* handle_;
};

}  // namespace polylock

#endif  // POLYLOCK_LOCK_HPP
