// polylock core — the named lock: one lock shared by the processes of a
// machine through a small object in shared memory, which survives a holder
// that dies. The protocol is stated at the top of named_lock.cpp.
//
// Linux only; elsewhere open() answers `unsupported`.
#pragma once

#include <atomic>
#include <cstdint>

#include "lock.hpp"  // StopFn

namespace polylock::core {

// What a named acquire reports. `owner_died`: taken, and the previous holder's
// process is proved dead (the caller may need to repair what it left).
enum class NamedAcquired { yes, owner_died, timed_out, stopped };

// Why open() or unlink_named() failed.
enum class NamedError {
  none,
  bad_name,      // outside the alphabet, empty or too long
  not_ours,      // exists, but another user's, not a regular file, or not a compatible lock
  no_memory,     // out of (shared) memory
  unsupported,   // no named locks on this platform
  system_error,  // a system call failed unexpectedly; errno says which
  no_such_name,  // unlink_named: nothing by that name (errno is ENOENT)
};

struct SharedLock;  // the object in shared memory (named_lock.cpp)

// What this process keeps beside one open handle: the state its waiting
// threads and the process's holder watcher (named_lock.cpp) share.
struct NamedLocal {
  SharedLock* shared = nullptr;
  std::atomic<std::uint32_t> interrupts{0};  // interrupt() calls on this handle, wrapping
  std::atomic<std::uint32_t> sleepers{0};    // this process's threads waiting on this handle
  std::atomic<std::uint32_t> deaths{0};      // the watcher's notices of a dead holder, wrapping
  std::atomic<bool> watched{false};          // in the watcher's list
  NamedLocal* next = nullptr;                // the watcher's list, under its mutex
};

// The longest name, in bytes (lock.h).
inline constexpr unsigned named_lock_max_name = 200;

// This process's identity as a holder (named_lock.cpp), 0 until first needed
// and again in a fork child. Here so that the uncontended paths inline.
extern std::atomic<std::uint64_t> named_lock_self;

// True for 1-200 bytes of A-Z a-z 0-9 . _ - not starting with '.'.
bool valid_lock_name(const char* name) noexcept;

class NamedLock {
 public:
  NamedLock() noexcept = default;
  NamedLock(const NamedLock&) = delete;
  NamedLock& operator=(const NamedLock&) = delete;
  ~NamedLock();  // unmaps; the lock lives on in other processes

  // Opens `name`, creating it unlocked if it does not exist. On failure the
  // object stays closed and the reason is returned.
  NamedError open(const char* name) noexcept;

  // Takes the lock, waiting at most `timeout_ns` (>= 0), or forever for -1.
  // Uncontended: one CAS of the shared owner word, inline.
  NamedAcquired acquire(std::int64_t timeout_ns, StopFn stop = nullptr,
                        void* context = nullptr) noexcept {
    std::uint64_t expected = 0;
    const std::uint64_t me = named_lock_self.load(std::memory_order_relaxed);
    if (me != 0 && owner_->compare_exchange_strong(expected, me, std::memory_order_seq_cst))
      return NamedAcquired::yes;
    return acquire_slow(timeout_ns, stop, context);
  }

  // Unlocks, from any thread of any process. False if it was unlocked.
  // Uncontended: one CAS and a load of the sleeper count, inline.
  bool release() noexcept {
    std::uint64_t expected = named_lock_self.load(std::memory_order_relaxed);
    // Sequentially consistent, both: a waiter counts itself in, then reads
    // the owner word; either it sees this release or this load sees it.
    if (expected != 0 && owner_->compare_exchange_strong(expected, 0, std::memory_order_seq_cst)) {
      if (sleepers_->load(std::memory_order_seq_cst) != 0) wake_a_sleeper();
      return true;
    }
    return release_slow();
  }

  // A snapshot, as for Lock::locked().
  bool locked() const noexcept;

  // Makes this process's interruptible waiters on this handle ask their stop
  // function.
  void interrupt() noexcept;

 private:
  NamedAcquired acquire_slow(std::int64_t timeout_ns, StopFn stop, void* context) noexcept;
  bool release_slow() noexcept;
  void wake_a_sleeper() noexcept;
  NamedError adopt(NamedError error) noexcept;  // sets owner_ and sleepers_ on success

  SharedLock* shared_ = nullptr;
  std::atomic<std::uint64_t>* owner_ = nullptr;     // in shared_
  std::atomic<std::uint32_t>* sleepers_ = nullptr;  // in shared_
  NamedLocal local_;
};

// Removes the name (lock.h, lock_unlink).
NamedError unlink_named(const char* name) noexcept;

}  // namespace polylock::core
